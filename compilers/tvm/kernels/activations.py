"""Elementwise activations the generic kernels lack: float32 hard_swish, and prelu in float32 and int8 (the int8
hard_swish is a table lookup, kernels/lut.py).

Arguments: hard_swish (input, output); prelu (input, alpha, output), alpha broadcasting to the input.
int8 prelu follows LiteRT: (x - z_x) scaled by s_x / s_out where it is not negative, else (x - z_x)(a - z_a)
scaled by s_x s_a / s_out, each with MultiplyByQuantizedMultiplier's two roundings; + z_out, saturated.
"""

from __future__ import annotations

from dataclasses import dataclass

from tvm import te, tirx

from ..build import Kernel, KernelArg, plain_c_kernel
from ._common import fuse_elementwise, requant_stages, scale_to_int8
from .generic import _broadcast_index


def hard_swish_float32(name: str, shape: tuple[int, ...]) -> Kernel:
    x = te.placeholder(shape, "float32", "input")

    def body(*i):
        v = x[i]
        relu6 = tirx.min(tirx.max(v + tirx.const(3.0, "float32"), tirx.const(0.0, "float32")),
                         tirx.const(6.0, "float32"))
        return v * relu6 / tirx.const(6.0, "float32")  # LiteRT's order: (x * relu6(x + 3)) / 6

    out = te.compute(shape, body, name="hard_swish")
    return plain_c_kernel(name, [KernelArg(x, "input"), KernelArg(out, "output", const=False)])


@dataclass(frozen=True)
class PreluParams:
    shape: tuple[int, ...]
    alpha_shape: tuple[int, ...]
    dtype: str  # float32 or int8; the int8 fields below are unused for float32
    input_zero_point: int = 0
    alpha_zero_point: int = 0
    output_zero_point: int = 0
    identity: tuple[int, int] = (0, 0)  # (multiplier, shift) of s_x / s_out
    slope: tuple[int, int] = (0, 0)  # (multiplier, shift) of s_x s_a / s_out


def prelu(name: str, p: PreluParams) -> Kernel:
    x = te.placeholder(p.shape, p.dtype, "input")
    alpha = te.placeholder(p.alpha_shape, p.dtype, "alpha")
    args = [KernelArg(x, "input"), KernelArg(alpha, "alpha")]

    def a(i):
        return alpha[tuple(_broadcast_index(p.alpha_shape, p.shape, i))]

    if p.dtype == "float32":
        out = te.compute(p.shape, lambda *i: tirx.Select(x[i] >= tirx.const(0.0, "float32"), x[i], x[i] * a(i)),
                         name="prelu")
        return plain_c_kernel(name, args + [KernelArg(out, "output", const=False)])

    def centered(*i):
        return x[i].astype("int32") - p.input_zero_point

    def product(*i):
        return centered(*i) * (a(i).astype("int32") - p.alpha_zero_point)

    # Both sides requantized with their compile-time multiplier, then one picked: a shift chosen per element
    # makes TVM's simplifier take seconds over the nested selects.
    sides = {"prelu_identity": (centered, p.identity), "prelu_slope": (product, p.slope)}
    stages = {stage: scale_to_int8(p.shape, value, lambda *i, m=m: m, lambda *i, s=s: s, p.output_zero_point, -128,
                                   127, "double", stage)
              for stage, (value, (m, s)) in sides.items()}
    identity, slope = stages.values()
    out = te.compute(p.shape, lambda *i: tirx.Select(centered(*i) >= 0, identity[i], slope[i]), name="prelu")
    producers = [name for stage in stages for name in requant_stages("double", stage)[::-1]]
    return plain_c_kernel(name, args + [KernelArg(out, "output", const=False)],
                          fuse_elementwise([x, alpha, out], "prelu", producers))
