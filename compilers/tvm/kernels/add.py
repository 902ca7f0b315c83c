"""ADD of two tensors, numpy broadcasting (an input of fewer elements, e.g. per channel, is read by index).

int8 (input1, input2, output), TFLite reference semantics: both inputs are offset by their zero points,
shifted left by 20, scaled to a common scale, summed, scaled to the output (requant.add_quant_params),
offset, clamped; int16 (AddParams.dtype, the general-scale 16x8 ADD) the same with a left shift of 15. int8 with ONNX numerics (add_int8_onnx): s1 (x1 - z1) + s2 (x2 - z2) quantized to the
output's scale with one rounding, halves to even (exact_add_multipliers).
float32 (input1, input2, output). The output may alias an input (in-place), so nothing is restrict.
"""

from __future__ import annotations

from dataclasses import dataclass

from tvm import te, tirx

from ..build import Kernel, KernelArg, plain_c_kernel
from ..requant import AddQuantParams, te_requantize, te_shift_half_even
from ._common import clamp_float, fuse_elementwise
from .generic import _broadcast_index


@dataclass(frozen=True)
class AddParams:
    shape: tuple[int, ...]
    input1_zero_point: int = 0
    input2_zero_point: int = 0
    output_zero_point: int = 0
    quant: AddQuantParams | None = None  # int8, TFLite numerics
    act_min: float = -128
    act_max: float = 127
    exact: tuple[int, int, int] | None = None  # int8, ONNX numerics: exact_add_multipliers
    input1_shape: tuple[int, ...] | None = None  # when it broadcasts to `shape` (None: `shape`)
    input2_shape: tuple[int, ...] | None = None
    dtype: str = "int8"  # add_int8 on int16 too: LiteRT's 16x8 ADD is the same arithmetic with left_shift 15
    subtract: bool = False  # input1 - input2 (TFLite's int8 SUB: ADD's arithmetic with the second term negated)


def _inputs(p: AddParams, dtype: str):
    """The two placeholders and, for each, the element read at output index i (broadcast)."""
    shapes = (p.input1_shape or p.shape, p.input2_shape or p.shape)
    a, b = (te.placeholder(s, dtype, f"input{k}") for k, s in ((1, shapes[0]), (2, shapes[1])))
    read = [lambda i, x=x, s=s: x[tuple(_broadcast_index(s, p.shape, i))] if s != p.shape else x[i]
            for x, s in ((a, shapes[0]), (b, shapes[1]))]
    return a, b, read[0], read[1]


def add_int8(name: str, p: AddParams) -> Kernel:
    if p.quant is None:
        raise ValueError(f"{name}: int8 add needs AddParams.quant (requant.add_quant_params)")
    q = p.quant
    a, b, read_a, read_b = _inputs(p, p.dtype)

    def scaled(x, zero_point, multiplier, shift, stage):
        return te_requantize(
            p.shape,
            lambda *i: (x(i).astype("int32") - zero_point) * (1 << q.left_shift),
            lambda *i: multiplier,
            lambda *i: shift,
            stage,
        )

    s1 = scaled(read_a, p.input1_zero_point, q.input1_multiplier, q.input1_shift, "scaled1")
    s2 = scaled(read_b, p.input2_zero_point, q.input2_multiplier, q.input2_shift, "scaled2")
    total = te_requantize(
        p.shape, lambda *i: s1[i] - s2[i] if p.subtract else s1[i] + s2[i], lambda *i: q.output_multiplier,
        lambda *i: q.output_shift, "sum"
    )
    out = te.compute(
        p.shape,
        lambda *i: tirx.min(tirx.max(total[i] + p.output_zero_point, int(p.act_min)), int(p.act_max)).astype(p.dtype),
        name="add",
    )
    stages = ["sum", "sum_high", "scaled2", "scaled2_high", "scaled1", "scaled1_high"]
    args = [KernelArg(a, "input1"), KernelArg(b, "input2"), KernelArg(out, "output", const=False)]
    return plain_c_kernel(name, args, fuse_elementwise([a, b, out], "add", stages))


def add_float32(name: str, p: AddParams) -> Kernel:
    a, b, read_a, read_b = _inputs(p, "float32")
    out = te.compute(p.shape, lambda *i: clamp_float(read_a(i) + read_b(i), p.act_min, p.act_max), name="add")
    return plain_c_kernel(name, [KernelArg(a, "input1"), KernelArg(b, "input2"), KernelArg(out, "output", const=False)])


def exact_add_multipliers(input1_scale: float, input2_scale: float, output_scale: float,
                          what: str) -> tuple[int, int, int]:
    """(m1, m2, total) with s1 / s_out = m1 / 2**total and s2 / s_out = m2 / 2**total: a common denominator, so
    the sum is rounded once. The larger multiplier has 22 bits (a relative error under 2**-22, float32's order),
    so that 255 * (m1 + m2) fits an int32 and the Cortex-M kernel sums two table entries in 32 bits. Scales the
    model gives that admit no such pair are its fault: ModelError naming `what` (the node)."""
    import math

    from edgeai.errors import ModelError

    ratios = (float(input1_scale) / float(output_scale), float(input2_scale) / float(output_scale))
    total = 22 - math.frexp(max(ratios))[1]
    while max(round(r * 2.0 ** total) for r in ratios) >= 1 << 22:
        total -= 1
    if total < 1 or total > 62:  # the sum is shifted right by total in int64
        raise ModelError(f"{what}: input/output scale ratios {ratios[0]:g}, {ratios[1]:g} cannot be requantized "
                         f"(the larger must be in [2**-41, 2**21))")
    return round(ratios[0] * 2.0 ** total), round(ratios[1] * 2.0 ** total), total


def add_int8_onnx(name: str, p: AddParams) -> Kernel:
    if p.exact is None:
        raise ValueError(f"{name}: ONNX int8 add needs AddParams.exact (exact_add_multipliers)")
    m1, m2, total = p.exact
    a, b, read_a, read_b = _inputs(p, "int8")

    def body(*i):
        wide = lambda x, zp, m: (x(i).astype("int64") - zp) * tirx.const(m, "int64")  # noqa: E731
        total_ = tirx.const(total, "int64")
        first, second = wide(read_a, p.input1_zero_point, m1), wide(read_b, p.input2_zero_point, m2)
        q = te_shift_half_even(first - second if p.subtract else first + second, total_)
        return tirx.min(tirx.max(q.astype("int32") + p.output_zero_point, int(p.act_min)), int(p.act_max)).astype("int8")

    out = te.compute(p.shape, body, name="add")
    args = [KernelArg(a, "input1"), KernelArg(b, "input2"), KernelArg(out, "output", const=False)]
    return plain_c_kernel(name, args)
