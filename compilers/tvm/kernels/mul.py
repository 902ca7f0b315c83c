"""MUL of two int8 (or, for 16x8 quantization, int16) tensors with numpy broadcasting (the float32 MUL is
generic.binary_float32).

Arguments: (input1, input2, output). The product (x1 - z1)(x2 - z2) is an exact int32 (two int16 with zero points
0 at most 2**30); it is scaled by
s1 s2 / s_out and offset by the output zero point, then clamped to the fused activation's range:
* TFLite numerics (MulParams.rounding "double"): LiteRT's MultiplyByQuantizedMultiplier, two roundings;
* ONNX numerics ("half_even"): one rounding of the 64-bit product with a Q31 multiplier, halves to even.
"""

from __future__ import annotations

from dataclasses import dataclass

from tvm import te, tirx

from ..build import Kernel, KernelArg, plain_c_kernel
from ._common import fuse_elementwise, requant_stages, scale_to_int8
from .generic import _broadcast_index


@dataclass(frozen=True)
class MulParams:
    a_shape: tuple[int, ...]
    b_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    input1_zero_point: int
    input2_zero_point: int
    output_zero_point: int
    multiplier: int  # s1 s2 / s_out = multiplier * 2**(shift - 31) (requant.quantize_multiplier)
    shift: int
    act_min: int = -128
    act_max: int = 127
    rounding: str = "double"  # "double": TFLite's; "half_even": ONNX numerics
    dtype: str = "int8"  # mul_int8 on int16 too: LiteRT's 16x8 MUL is the same arithmetic (zero points 0)


def mul_int8(name: str, p: MulParams) -> Kernel:
    a = te.placeholder(p.a_shape, p.dtype, "input1")
    b = te.placeholder(p.b_shape, p.dtype, "input2")

    def product(*i):
        x = a[tuple(_broadcast_index(p.a_shape, p.out_shape, i))].astype("int32") - p.input1_zero_point
        y = b[tuple(_broadcast_index(p.b_shape, p.out_shape, i))].astype("int32") - p.input2_zero_point
        return x * y

    out = scale_to_int8(p.out_shape, product, lambda *i: p.multiplier, lambda *i: p.shift, p.output_zero_point,
                        p.act_min, p.act_max, p.rounding, "mul", p.dtype)
    args = [KernelArg(a, "input1"), KernelArg(b, "input2"), KernelArg(out, "output", const=False)]
    producers = requant_stages(p.rounding, "mul")[-2::-1]  # consumers' producers first
    return plain_c_kernel(name, args, fuse_elementwise([a, b, out], "mul", producers))

