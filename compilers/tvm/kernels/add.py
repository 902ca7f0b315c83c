"""ADD of two same-shape tensors (no broadcasting yet), TFLite reference semantics.

int8 (input1, input2, output): both inputs are offset by their zero points, shifted left by 20,
scaled to a common scale, summed, scaled to the output (requant.add_quant_params), offset, clamped.
float32 (input1, input2, output). The output may alias an input (in-place), so nothing is restrict.
"""

from __future__ import annotations

from dataclasses import dataclass

from tvm import te, tirx

from ..build import Kernel, KernelArg, plain_c_kernel
from ..requant import AddQuantParams, te_requantize
from ._common import clamp_float, fuse_elementwise


@dataclass(frozen=True)
class AddParams:
    shape: tuple[int, ...]
    input1_zero_point: int = 0
    input2_zero_point: int = 0
    output_zero_point: int = 0
    quant: AddQuantParams | None = None  # int8 only
    act_min: float = -128
    act_max: float = 127


def add_int8(name: str, p: AddParams) -> Kernel:
    if p.quant is None:
        raise ValueError(f"{name}: int8 add needs AddParams.quant (requant.add_quant_params)")
    q = p.quant
    a = te.placeholder(p.shape, "int8", "input1")
    b = te.placeholder(p.shape, "int8", "input2")

    def scaled(x, zero_point, multiplier, shift, stage):
        return te_requantize(
            p.shape,
            lambda *i: (x[i].astype("int32") - zero_point) * (1 << q.left_shift),
            lambda *i: multiplier,
            lambda *i: shift,
            stage,
        )

    s1 = scaled(a, p.input1_zero_point, q.input1_multiplier, q.input1_shift, "scaled1")
    s2 = scaled(b, p.input2_zero_point, q.input2_multiplier, q.input2_shift, "scaled2")
    total = te_requantize(
        p.shape, lambda *i: s1[i] + s2[i], lambda *i: q.output_multiplier, lambda *i: q.output_shift, "sum"
    )
    out = te.compute(
        p.shape,
        lambda *i: tirx.min(tirx.max(total[i] + p.output_zero_point, int(p.act_min)), int(p.act_max)).astype("int8"),
        name="add",
    )
    stages = ["sum", "sum_high", "scaled2", "scaled2_high", "scaled1", "scaled1_high"]
    args = [KernelArg(a, "input1"), KernelArg(b, "input2"), KernelArg(out, "output", const=False)]
    return plain_c_kernel(name, args, fuse_elementwise([a, b, out], "add", stages))


def add_float32(name: str, p: AddParams) -> Kernel:
    a = te.placeholder(p.shape, "float32", "input1")
    b = te.placeholder(p.shape, "float32", "input2")
    out = te.compute(p.shape, lambda *i: clamp_float(a[i] + b[i], p.act_min, p.act_max), name="add")
    return plain_c_kernel(name, [KernelArg(a, "input1"), KernelArg(b, "input2"), KernelArg(out, "output", const=False)])
