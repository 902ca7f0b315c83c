"""DEPTHWISE_CONV_2D, NHWC input, 1HWC weights (C = I * depth_multiplier), TFLite reference semantics.

Output channel oc reads input channel oc // depth_multiplier. Argument order as conv2d:
int8 (input, filter[1, KH, KW, O], bias[O], multiplier[O], shift[O], output); float32 (input, filter,
bias, output).
"""

from __future__ import annotations

from dataclasses import dataclass

from tvm import te, tirx

from ..build import Kernel, KernelArg, plain_c_kernel
from ._common import clamp_float, conv_output_size, fuse_epilogue, requant_stages, requantize_to_int8


@dataclass(frozen=True)
class DepthwiseConv2DParams:
    input_shape: tuple[int, int, int, int]  # N, H, W, I
    filter_shape: tuple[int, int, int, int]  # 1, KH, KW, I * depth_multiplier
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right
    input_zero_point: int = 0
    output_zero_point: int = 0
    act_min: float = -128
    act_max: float = 127
    rounding: str = "double"  # int8 only: _common.ROUNDINGS

    @property
    def depth_multiplier(self) -> int:
        return self.filter_shape[3] // self.input_shape[3]

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        n, h, w, _ = self.input_shape
        _, kh, kw, o = self.filter_shape
        top, left, bottom, right = self.padding
        return (
            n,
            conv_output_size(h, kh, self.stride[0], self.dilation[0], top, bottom),
            conv_output_size(w, kw, self.stride[1], self.dilation[1], left, right),
            o,
        )


def _depthwise_sum(p: DepthwiseConv2DParams, inp, filt, term, acc_dtype: str):
    _, h, w, _ = p.input_shape
    _, kh, kw, _ = p.filter_shape
    (sh, sw), (dh, dw), (top, left, _, _) = p.stride, p.dilation, p.padding
    m = p.depth_multiplier
    rh, rw = te.reduce_axis((0, kh), "kh"), te.reduce_axis((0, kw), "kw")

    def acc(n, oh, ow, oc):
        ih, iw = oh * sh - top + rh * dh, ow * sw - left + rw * dw
        inside = tirx.all(ih >= 0, ih < h, iw >= 0, iw < w)
        value = term(inp[n, ih, iw, oc // m], filt[0, rh, rw, oc])
        return te.sum(tirx.if_then_else(inside, value, tirx.const(0, acc_dtype)), axis=[rh, rw])

    return te.compute(p.output_shape, acc, name="acc")


def depthwise_conv2d_int8(name: str, p: DepthwiseConv2DParams) -> Kernel:
    o = p.filter_shape[3]
    inp = te.placeholder(p.input_shape, "int8", "input")
    filt = te.placeholder(p.filter_shape, "int8", "filter")
    bias = te.placeholder((o,), "int32", "bias")
    mult = te.placeholder((o,), "int32", "multiplier")
    shift = te.placeholder((o,), "int32", "shift")
    acc = _depthwise_sum(
        p, inp, filt, lambda x, f: (x.astype("int32") - p.input_zero_point) * f.astype("int32"), "int32"
    )
    out = requantize_to_int8(
        p.output_shape, acc, bias, mult, shift, p.output_zero_point, int(p.act_min), int(p.act_max), p.rounding
    )
    tensors = [inp, filt, bias, mult, shift, out]
    names = ["input", "filter", "bias", "multiplier", "shift"]
    args = [KernelArg(t, n) for t, n in zip(tensors[:-1], names)] + [KernelArg(out, "output", const=False, restrict=True)]
    return plain_c_kernel(name, args, fuse_epilogue(tensors, "acc", requant_stages(p.rounding), 3))


def depthwise_conv2d_float32(name: str, p: DepthwiseConv2DParams) -> Kernel:
    o = p.filter_shape[3]
    inp = te.placeholder(p.input_shape, "float32", "input")
    filt = te.placeholder(p.filter_shape, "float32", "filter")
    bias = te.placeholder((o,), "float32", "bias")
    acc = _depthwise_sum(p, inp, filt, lambda x, f: x * f, "float32")
    out = te.compute(
        p.output_shape, lambda n, y, x, c: clamp_float(acc[n, y, x, c] + bias[c], p.act_min, p.act_max), name="epilogue"
    )
    args = [KernelArg(inp, "input"), KernelArg(filt, "filter"), KernelArg(bias, "bias"),
            KernelArg(out, "output", const=False, restrict=True)]
    return plain_c_kernel(name, args, fuse_epilogue([inp, filt, bias, out], "acc", ["epilogue"], 3))
