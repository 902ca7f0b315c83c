"""TFLite TRANSPOSE_CONV (Keras Conv2DTranspose): inputs (output_shape, weights, input[, bias]) become a
transpose_conv2d node (input, weights[, bias]).

The padding is LiteRT's (transpose_conv.cc Prepare): ComputePaddingHeightWidth run with the *output* size as the
input size, so SAME pads by half of (ceil(out / stride) - 1) * stride + kernel - out, the smaller half first,
and VALID by half of ((out - kernel) / stride) * stride + kernel - out."""

from __future__ import annotations

from edgeai.errors import ModelError
from edgeai.frontends.tflite_slicing import const_ints


def _pad_before(padding: int, size: int, kernel: int, stride: int) -> int:
    steps = -(-size // stride) if padding == 0 else (size - kernel + stride) // stride  # SAME: 0, VALID: 1
    return max((steps - 1) * stride + kernel - size, 0) // 2


def _transpose_conv(r, op, ins, outs):
    o = r.options(op, "TransposeConvOptions")
    from edgeai.frontends.tflite import _activation  # the frontend's table of fused activations

    strides = (o.StrideH(), o.StrideW())
    if min(strides) < 1:
        raise ModelError(f"strides {list(strides)} must be at least 1")
    out_shape = const_ints(r, ins[0], "output shape")
    w, x = r.shape_of(ins[1]), r.shape_of(ins[2])
    if len(out_shape) != 4 or len(w) != 4 or len(x) != 4 or out_shape[0] != x[0] or out_shape[3] != w[0]:
        raise ModelError(f"output shape {out_shape}, weights {list(w)} and input {list(x)} do not fit")
    pad = tuple(_pad_before(o.Padding(), s, k, st) for s, k, st in zip(out_shape[1:3], w[1:3], strides))
    inputs = [ins[2], ins[1]] + ([ins[3]] if len(ins) > 3 and ins[3] else [])
    return "transpose_conv2d", inputs, dict(strides=strides, pad_before=pad, size=tuple(out_shape[1:3]),
                                            activation=_activation(o.FusedActivationFunction()))


CONVERTERS = {"TRANSPOSE_CONV": _transpose_conv}
