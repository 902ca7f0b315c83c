"""CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED with int16 activations and int8 weights (TFLite's 16x8
quantization), as LiteRT's reference_integer_ops compute them: activations symmetric (zero point 0, so no input
offset), products summed in an int64 accumulator, an int64 bias added, then one rounding, halves up, by the
multiplier and shift of requant.wide_multipliers (a 15-bit multiplier for the convolutions, LiteRT's int64
MultiplyByQuantizedMultiplier; the whole Q31 one for FULLY_CONNECTED) and the activation clamp, no output offset.

C signature (argument order), shapes as the int8 kernels of the same op:
    int32_t name(const int16_t* input, const int8_t* filter, const int64_t* bias,
                 const int32_t* multiplier,  // [O], requant.wide_multipliers
                 const int32_t* shift,       // [O], its right shifts
                 int16_t* restrict output)
"""

from __future__ import annotations

from tvm import te

from ..build import Kernel, KernelArg, plain_c_kernel
from ..requant import te_requantize_wide
from ._common import fuse_epilogue
from .conv2d import Conv2DParams, _conv_sum
from .depthwise_conv2d import DepthwiseConv2DParams, _depthwise_sum
from .fully_connected import FullyConnectedParams


def _product(x, f):
    """int16 * int8 fits an int32; the sum of them is the int64 accumulator's."""
    return (x.astype("int32") * f.astype("int32")).astype("int64")


def _kernel(name, inp, filt, acc, channels: int, out_shape, act_min, act_max, at_loop: int,
            whole: bool = False) -> Kernel:
    bias = te.placeholder((channels,), "int64", "bias")
    mult = te.placeholder((channels,), "int32", "multiplier")
    shift = te.placeholder((channels,), "int32", "shift")
    out = te_requantize_wide(out_shape, lambda *i: acc[i] + bias[i[-1]], lambda *i: mult[i[-1]],
                             lambda *i: shift[i[-1]], int(act_min), int(act_max), "int16", "requant", whole)
    tensors = [inp, filt, bias, mult, shift, out]
    names = ["input", "filter", "bias", "multiplier", "shift"]
    args = [KernelArg(t, n) for t, n in zip(tensors[:-1], names)]
    args.append(KernelArg(out, "output", const=False, restrict=True))
    return plain_c_kernel(name, args, fuse_epilogue(tensors, "acc", ["requant"], at_loop))


def conv2d_16x8(name: str, p: Conv2DParams) -> Kernel:
    inp = te.placeholder(p.input_shape, "int16", "input")
    filt = te.placeholder(p.filter_shape, "int8", "filter")
    acc = _conv_sum(p, inp, filt, _product, "int64")
    return _kernel(name, inp, filt, acc, p.filter_shape[0], p.output_shape, p.act_min, p.act_max, 3)


def depthwise_conv2d_16x8(name: str, p: DepthwiseConv2DParams) -> Kernel:
    inp = te.placeholder(p.input_shape, "int16", "input")
    filt = te.placeholder(p.filter_shape, "int8", "filter")
    acc = _depthwise_sum(p, inp, filt, _product, "int64")
    return _kernel(name, inp, filt, acc, p.filter_shape[3], p.output_shape, p.act_min, p.act_max, 3)


def fully_connected_16x8(name: str, p: FullyConnectedParams) -> Kernel:
    inp = te.placeholder((p.batch, p.in_features), "int16", "input")
    filt = te.placeholder((p.out_features, p.in_features), "int8", "filter")
    k = te.reduce_axis((0, p.in_features), "k")
    acc = te.compute((p.batch, p.out_features), lambda b, o: te.sum(_product(inp[b, k], filt[o, k]), axis=[k]),
                     name="acc")
    return _kernel(name, inp, filt, acc, p.out_features, (p.batch, p.out_features), p.act_min, p.act_max, 1,
                   whole=True)
