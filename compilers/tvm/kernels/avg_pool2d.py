"""AVERAGE_POOL_2D, NHWC: the average is over the points inside the image only (count = non-padded points).

int8, TFLite reference semantics (same quantization in and out): (sum +- count/2) / count, halves away from
zero. int8, ONNX numerics (AvgPool2DParams.rescale set): the exact mean of the dequantized inputs quantized to
the output's scale, one rounding, halves to even. Arguments: (input, output) for both int8 and float32.
"""

from __future__ import annotations

from dataclasses import dataclass

from tvm import te, tirx

from ..build import Kernel, KernelArg, plain_c_kernel
from ..requant import te_divide_half_even, te_shift_half_even
from ._common import clamp_float, conv_output_size, fuse_epilogue


@dataclass(frozen=True)
class AvgPool2DParams:
    input_shape: tuple[int, int, int, int]  # N, H, W, C
    filter_size: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right
    act_min: float = -128
    act_max: float = 127
    # ONNX numerics: (input zero point, output zero point, multiplier, total) with input_scale / output_scale
    # = multiplier / 2**total (requant.exact_multiplier), divided by the window size too when there is no
    # padding (no division left at run time); None: TFLite's, same quantization in and out.
    rescale: tuple[int, int, int, int] | None = None
    dtype: str = "int8"  # avg_pool2d_int8 on int16 too (TFLite's 16x8 AVERAGE_POOL_2D: the same rounding)

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        n, h, w, c = self.input_shape
        (fh, fw), (sh, sw), (top, left, bottom, right) = self.filter_size, self.stride, self.padding
        return (n, conv_output_size(h, fh, sh, 1, top, bottom), conv_output_size(w, fw, sw, 1, left, right), c)


def _pool(p: AvgPool2DParams, dtype: str):
    _, h, w, _ = p.input_shape
    (fh, fw), (sh, sw), (top, left, _, _) = p.filter_size, p.stride, p.padding
    acc_dtype = "int32" if dtype in ("int8", "int16") else dtype
    inp = te.placeholder(p.input_shape, dtype, "input")
    rh, rw = te.reduce_axis((0, fh), "fh"), te.reduce_axis((0, fw), "fw")

    def total(n, oh, ow, c):
        ih, iw = oh * sh - top + rh, ow * sw - left + rw
        inside = tirx.all(ih >= 0, ih < h, iw >= 0, iw < w)
        return te.sum(tirx.if_then_else(inside, inp[n, ih, iw, c].astype(acc_dtype), tirx.const(0, acc_dtype)), axis=[rh, rw])

    acc = te.compute(p.output_shape, total, name="acc")

    def count(oh, ow):
        y0, x0 = oh * sh - top, ow * sw - left
        rows = tirx.min(y0 + fh, h) - tirx.max(y0, 0)
        cols = tirx.min(x0 + fw, w) - tirx.max(x0, 0)
        return rows * cols

    return inp, acc, count


def avg_pool2d_int8(name: str, p: AvgPool2DParams) -> Kernel:
    inp, acc, count = _pool(p, p.dtype)

    def average(n, oh, ow, c):
        s, k = acc[n, oh, ow, c], count(oh, ow)
        if p.rescale is None:
            q = tirx.Select(s > 0, tirx.truncdiv(s + k // 2, k), tirx.truncdiv(s - k // 2, k))
        else:
            zin, zout, m, total = p.rescale
            centered = (s - k * zin).astype("int64") * tirx.const(m, "int64")
            if p.padding == (0, 0, 0, 0):  # whole windows: 1 / count is in the multiplier, a shift divides
                q = te_shift_half_even(centered, tirx.const(total, "int64"))
            else:
                q = te_divide_half_even(centered, k.astype("int64") << tirx.const(total, "int64"))
            q = q.astype("int32") + zout
        return tirx.min(tirx.max(q, int(p.act_min)), int(p.act_max)).astype(p.dtype)

    out = te.compute(p.output_shape, average, name="average")
    args = [KernelArg(inp, "input"), KernelArg(out, "output", const=False, restrict=True)]
    return plain_c_kernel(name, args, fuse_epilogue([inp, out], "acc", ["average"], 3))


def avg_pool2d_float32(name: str, p: AvgPool2DParams) -> Kernel:
    inp, acc, count = _pool(p, "float32")
    out = te.compute(
        p.output_shape,
        lambda n, oh, ow, c: clamp_float(acc[n, oh, ow, c] / count(oh, ow).astype("float32"), p.act_min, p.act_max),
        name="average",
    )
    args = [KernelArg(inp, "input"), KernelArg(out, "output", const=False, restrict=True)]
    return plain_c_kernel(name, args, fuse_epilogue([inp, out], "acc", ["average"], 3))
