"""ADD of two same-shape tensors (no broadcasting yet), TFLite reference semantics.

int8 (input1, input2, output): both inputs are offset by their zero points, shifted left by 20,
scaled to a common scale, summed, scaled to the output (requant.add_quant_params), offset, clamped.
float32 (input1, input2, output). The output may alias an input (in-place), so nothing is restrict.
"""

from __future__ import annotations

from dataclasses import dataclass

from tvm import te, tirx

from ..build import Kernel, KernelArg, plain_c_kernel
from ..requant import AddQuantParams, te_multiply_by_quantized_multiplier
from ._common import clamp_float


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

    def scaled(x, zero_point, multiplier, shift):
        shifted = (x.astype("int32") - zero_point) * (1 << q.left_shift)
        return te_multiply_by_quantized_multiplier(shifted, multiplier, shift)

    def body(*i):
        raw_sum = scaled(a[i], p.input1_zero_point, q.input1_multiplier, q.input1_shift) + scaled(
            b[i], p.input2_zero_point, q.input2_multiplier, q.input2_shift
        )
        out = te_multiply_by_quantized_multiplier(raw_sum, q.output_multiplier, q.output_shift) + p.output_zero_point
        return tirx.min(tirx.max(out, int(p.act_min)), int(p.act_max)).astype("int8")

    out = te.compute(p.shape, body, name="add")
    return plain_c_kernel(name, [KernelArg(a, "input1"), KernelArg(b, "input2"), KernelArg(out, "output", const=False)])


def add_float32(name: str, p: AddParams) -> Kernel:
    a = te.placeholder(p.shape, "float32", "input1")
    b = te.placeholder(p.shape, "float32", "input2")
    out = te.compute(p.shape, lambda *i: clamp_float(a[i] + b[i], p.act_min, p.act_max), name="add")
    return plain_c_kernel(name, [KernelArg(a, "input1"), KernelArg(b, "input2"), KernelArg(out, "output", const=False)])
