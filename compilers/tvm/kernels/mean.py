"""MEAN of an int8 tensor over any axes (the spatial mean of NHWC is global average pooling); of an int16 one
(MeanInt8Params.dtype, 16x8 quantization) with the same arithmetic.

Arguments: (input, output). The int32 sum of the inputs over the axes, minus input_zero_point * count, is
scaled to the output (_common.scale_to_int8: TFLite's two roundings or one, halves to even) and offset by
the output zero point. keepdims does not change the output's memory, so the kernel always keeps the reduced
axes (as 1): one loop nest whose innermost spatial loop holds the accumulator and the requantization.
"""

from __future__ import annotations

from dataclasses import dataclass

from tvm import te

from ..build import Kernel, KernelArg, plain_c_kernel
from ..requant import INT_RANGES
from ._common import fuse_epilogue, requant_stages, scale_to_int8


@dataclass(frozen=True)
class MeanInt8Params:
    shape: tuple[int, ...]
    axes: tuple[int, ...]  # sorted, non-negative
    input_zero_point: int
    output_zero_point: int
    multiplier: int  # what the centered sum is scaled by: multiplier * 2**(shift - 31)
    shift: int
    rounding: str = "double"  # "double": TFLite's; "half_even": ONNX numerics
    dtype: str = "int8"  # or int16: the int32 sum holds up to 65,535 int16 values (the rule checks the count)

    @property
    def count(self) -> int:
        n = 1
        for a in self.axes:
            n *= self.shape[a]
        return n


def mean_int8(name: str, p: MeanInt8Params) -> Kernel:
    x = te.placeholder(p.shape, p.dtype, "input")
    out_shape = tuple(1 if a in p.axes else d for a, d in enumerate(p.shape))
    reduce = {a: te.reduce_axis((0, p.shape[a]), f"r{a}") for a in p.axes}

    def total(*i):
        return te.sum(x[tuple(reduce.get(a, i[a]) for a in range(len(p.shape)))].astype("int32"),
                      axis=list(reduce.values()))

    acc = te.compute(out_shape, total, name="sum")
    centered = p.input_zero_point * p.count
    out = scale_to_int8(out_shape, lambda *i: acc[i] - centered, lambda *i: p.multiplier, lambda *i: p.shift,
                        p.output_zero_point, *INT_RANGES[p.dtype], p.rounding, "mean", p.dtype)
    args = [KernelArg(x, "input"), KernelArg(out, "output", const=False, restrict=True)]
    epilogue = requant_stages(p.rounding, "mean")
    return plain_c_kernel(name, args, fuse_epilogue([x, out], "sum", epilogue, len(out_shape) - 1))
