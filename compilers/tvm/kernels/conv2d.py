"""CONV_2D, NHWC input, OHWI weights, as TFLite's reference kernels compute it.

int8 C signature (argument order):
    int32_t name(const int8_t* input,       // [N, H, W, I]
                 const int8_t* filter,      // [O, KH, KW, I], symmetric per output channel
                 const int32_t* bias,       // [O], scale input_scale * filter_scale[o]
                 const int32_t* multiplier, // [O], requant.per_channel_multipliers
                 const int32_t* shift,      // [O]
                 int8_t* restrict output)   // [N, OH, OW, O]
float32: (input, filter, bias, output). Padding is explicit; padded input counts as zero
(the input zero point for int8), exactly like TFLite skipping points outside the image.
"""

from __future__ import annotations

from dataclasses import dataclass

from tvm import te, tirx

from ..build import Kernel, KernelArg, plain_c_kernel
from ._common import clamp_float, conv_output_size, fuse_epilogue, requant_stages, requantize_to_int8


@dataclass(frozen=True)
class Conv2DParams:
    input_shape: tuple[int, int, int, int]  # N, H, W, I
    filter_shape: tuple[int, int, int, int]  # O, KH, KW, I
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right
    input_zero_point: int = 0  # int8 only
    output_zero_point: int = 0  # int8 only
    act_min: float = -128  # int8: int range; float32: float range (fused activation)
    act_max: float = 127
    rounding: str = "double"  # int8 only: _common.ROUNDINGS

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        n, h, w, _ = self.input_shape
        o, kh, kw, _ = self.filter_shape
        top, left, bottom, right = self.padding
        return (
            n,
            conv_output_size(h, kh, self.stride[0], self.dilation[0], top, bottom),
            conv_output_size(w, kw, self.stride[1], self.dilation[1], left, right),
            o,
        )


def _conv_sum(p: Conv2DParams, inp, filt, term, acc_dtype: str):
    """sum over (kh, kw, ic) of term(input value, filter value), skipping padded input points."""
    _, h, w, ci = p.input_shape
    _, kh, kw, _ = p.filter_shape
    (sh, sw), (dh, dw), (top, left, _, _) = p.stride, p.dilation, p.padding
    rh, rw, rc = te.reduce_axis((0, kh), "kh"), te.reduce_axis((0, kw), "kw"), te.reduce_axis((0, ci), "ic")

    def acc(n, oh, ow, oc):
        ih, iw = oh * sh - top + rh * dh, ow * sw - left + rw * dw
        inside = tirx.all(ih >= 0, ih < h, iw >= 0, iw < w)
        # (te.sum's where= is dropped by create_prim_func in TVM 0.27: guard the term instead.)
        value = term(inp[n, ih, iw, rc], filt[oc, rh, rw, rc])
        return te.sum(tirx.if_then_else(inside, value, tirx.const(0, acc_dtype)), axis=[rh, rw, rc])

    return te.compute(p.output_shape, acc, name="acc")


def conv2d_int8(name: str, p: Conv2DParams) -> Kernel:
    o = p.filter_shape[0]
    inp = te.placeholder(p.input_shape, "int8", "input")
    filt = te.placeholder(p.filter_shape, "int8", "filter")
    bias = te.placeholder((o,), "int32", "bias")
    mult = te.placeholder((o,), "int32", "multiplier")
    shift = te.placeholder((o,), "int32", "shift")
    acc = _conv_sum(p, inp, filt, lambda x, f: (x.astype("int32") - p.input_zero_point) * f.astype("int32"), "int32")
    out = requantize_to_int8(
        p.output_shape, acc, bias, mult, shift, p.output_zero_point, int(p.act_min), int(p.act_max), p.rounding
    )
    tensors = [inp, filt, bias, mult, shift, out]
    names = ["input", "filter", "bias", "multiplier", "shift", "output"]
    args = [KernelArg(t, n) for t, n in zip(tensors[:-1], names)] + [KernelArg(out, "output", const=False, restrict=True)]
    return plain_c_kernel(name, args, fuse_epilogue(tensors, "acc", requant_stages(p.rounding), 3))


def conv2d_float32(name: str, p: Conv2DParams) -> Kernel:
    o = p.filter_shape[0]
    inp = te.placeholder(p.input_shape, "float32", "input")
    filt = te.placeholder(p.filter_shape, "float32", "filter")
    bias = te.placeholder((o,), "float32", "bias")
    acc = _conv_sum(p, inp, filt, lambda x, f: x * f, "float32")
    out = te.compute(
        p.output_shape, lambda n, y, x, c: clamp_float(acc[n, y, x, c] + bias[c], p.act_min, p.act_max), name="epilogue"
    )
    tensors = [inp, filt, bias, out]
    args = [KernelArg(inp, "input"), KernelArg(filt, "filter"), KernelArg(bias, "bias"),
            KernelArg(out, "output", const=False, restrict=True)]
    return plain_c_kernel(name, args, fuse_epilogue(tensors, "acc", ["epilogue"], 3))
