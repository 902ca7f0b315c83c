"""TRANSPOSE_CONV, NHWC input, OHWI weights, written as a gather: output (y, x) sums the input pixels
(i, j) and kernel taps (ky, kx) with i * stride + ky - pad_top = y (likewise for columns). LiteRT's reference
scatters each input pixel instead; the int8 sums are exact integers either way, so the result is the same.

int8 C signature: (input, filter, bias, multiplier, shift, output) as conv2d's; float32: (input, filter, bias,
output). int8 accumulates (x - z_in) * w; the requantization is conv2d's (per output channel).
"""

from __future__ import annotations

from dataclasses import dataclass

from tvm import te, tirx

from ..build import Kernel, KernelArg, plain_c_kernel
from ._common import clamp_float, fuse_epilogue, requant_stages, requantize_to_int8


@dataclass(frozen=True)
class TransposeConv2DParams:
    input_shape: tuple[int, int, int, int]  # N, H, W, I
    filter_shape: tuple[int, int, int, int]  # O, KH, KW, I
    size: tuple[int, int]  # output H, W
    stride: tuple[int, int] = (1, 1)
    pad_before: tuple[int, int] = (0, 0)  # top, left
    input_zero_point: int = 0  # int8 only
    output_zero_point: int = 0  # int8 only
    act_min: float = -128  # int8: int range; float32: float range
    act_max: float = 127

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        return (self.input_shape[0], *self.size, self.filter_shape[0])


def _gather_sum(p: TransposeConv2DParams, inp, filt, term, acc_dtype: str):
    _, h, w, ci = p.input_shape
    _, kh, kw, _ = p.filter_shape
    (sh, sw), (top, left) = p.stride, p.pad_before
    rh, rw, rc = te.reduce_axis((0, kh), "kh"), te.reduce_axis((0, kw), "kw"), te.reduce_axis((0, ci), "ic")

    def acc(n, oy, ox, oc):
        ty, tx = oy + top - rh, ox + left - rw  # = input row * stride where a tap lands on this output
        iy, ix = tirx.floordiv(ty, sh), tirx.floordiv(tx, sw)
        hit = tirx.all(ty >= 0, tirx.floormod(ty, sh) == 0, iy < h, tx >= 0, tirx.floormod(tx, sw) == 0, ix < w)
        value = term(inp[n, iy, ix, rc], filt[oc, rh, rw, rc])
        return te.sum(tirx.if_then_else(hit, value, tirx.const(0, acc_dtype)), axis=[rh, rw, rc])

    return te.compute(p.output_shape, acc, name="acc")


def _transpose_conv2d(name: str, p: TransposeConv2DParams, dtype: str) -> Kernel:
    o, int8 = p.filter_shape[0], dtype == "int8"
    specs = [("input", p.input_shape, dtype), ("filter", p.filter_shape, dtype),
             ("bias", (o,), "int32" if int8 else "float32")]
    if int8:
        specs += [("multiplier", (o,), "int32"), ("shift", (o,), "int32")]
    t = {arg: te.placeholder(shape, kind, arg) for arg, shape, kind in specs}
    if int8:
        acc = _gather_sum(p, t["input"], t["filter"],
                          lambda x, f: (x.astype("int32") - p.input_zero_point) * f.astype("int32"), "int32")
        out = requantize_to_int8(p.output_shape, acc, t["bias"], t["multiplier"], t["shift"], p.output_zero_point,
                                 int(p.act_min), int(p.act_max), "double")
        epilogue = requant_stages("double")
    else:
        acc = _gather_sum(p, t["input"], t["filter"], lambda x, f: x * f, "float32")
        out = te.compute(p.output_shape, lambda n, y, x, c: clamp_float(acc[n, y, x, c] + t["bias"][c], p.act_min,
                                                                        p.act_max), name="epilogue")
        epilogue = ["epilogue"]
    args = [KernelArg(tensor, arg) for arg, tensor in t.items()]
    args.append(KernelArg(out, "output", const=False, restrict=True))
    return plain_c_kernel(name, args, fuse_epilogue([*t.values(), out], "acc", epilogue, 3))


def transpose_conv2d_int8(name: str, p: TransposeConv2DParams) -> Kernel:
    return _transpose_conv2d(name, p, "int8")


def transpose_conv2d_float32(name: str, p: TransposeConv2DParams) -> Kernel:
    return _transpose_conv2d(name, p, "float32")
