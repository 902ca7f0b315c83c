"""transpose_conv2d → compilers/tvm/kernels/transpose_conv2d.py, int8 and float32.

int8 follows LiteRT's reference TRANSPOSE_CONV (tflite/kernels/transpose_conv.cc, reference_integer_ops::
TransposeConv): symmetric per-output-channel weights, the per-channel multipliers of a convolution
(PopulateConvolutionQuantizationParams: requant.per_channel_multipliers), (x - z_in) * w summed in int32 with
the int32 bias, MultiplyByQuantizedMultiplier with its two roundings, + z_out, the fused activation's range.
"""

from __future__ import annotations

import numpy as np

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering._quant import float_activation_range, int8_activation_range, numerics, scale_zp, tensor_quant
from compilers.lowering.registry import rule
from compilers.tvm.kernels.transpose_conv2d import (TransposeConv2DParams, transpose_conv2d_float32,
                                                    transpose_conv2d_int8)
from compilers.tvm.requant import per_channel_multipliers
from edgeai.errors import ModelError, UnsupportedOpError


def _bias(ctx, node, channels: int, dtype: str):
    if len(node.inputs) > 2 and node.inputs[2]:
        bias = ctx.graph.tensor(node.inputs[2])
        if bias.dtype != dtype:
            raise UnsupportedOpError(f"node {node.name!r} (transpose_conv2d): a {bias.dtype} bias {bias.name!r} "
                                     f"with {dtype} accumulators is not supported")
        return ctx.const(bias.name)
    return ctx.derived(np.zeros(channels, dtype))


def _params(node, x, w, **extra):
    a = node.attrs
    return TransposeConv2DParams(x.shape, w.shape, tuple(a["size"]), tuple(a["strides"]), tuple(a["pad_before"]),
                                 **extra)


@rule("transpose_conv2d", "int8")
def transpose_conv_int8_rule(ctx, node):
    g = ctx.graph
    x, w = g.tensor(node.inputs[0]), g.tensor(node.inputs[1])
    if numerics(node) == "onnx":
        raise UnsupportedOpError(f"node {node.name!r} (transpose_conv2d): int8 with ONNX numerics is not supported")
    (s_in, z_in), (s_out, z_out) = scale_zp(g, x.name, node), scale_zp(g, node.outputs[0], node)
    wq = tensor_quant(g, w.name, node)
    if any(z != 0 for z in wq.zero_point):
        raise ModelError(f"node {node.name!r} (transpose_conv2d): int8 weights must be symmetric (zero point 0), "
                         f"got {sorted(set(wq.zero_point))[:4]}")
    channels = w.shape[0]
    mult, shift = per_channel_multipliers(s_in, np.broadcast_to(np.asarray(wq.scale, np.float64), (channels,)),
                                          s_out)
    lo, hi = int8_activation_range(node.attrs["activation"], s_out, z_out)
    params = _params(node, x, w, input_zero_point=z_in, output_zero_point=z_out, act_min=lo, act_max=hi)
    args = (TensorArg(x.name), ctx.const(w.name), _bias(ctx, node, channels, "int32"), ctx.derived(mult),
            ctx.derived(shift), TensorArg(node.outputs[0]))
    return [KernelCall(node.name, node.op, ctx.tvm_kernel(transpose_conv2d_int8, params, "tconv"), args)]


@rule("transpose_conv2d", "float32")
def transpose_conv_float_rule(ctx, node):
    g = ctx.graph
    x, w = g.tensor(node.inputs[0]), g.tensor(node.inputs[1])
    lo, hi = float_activation_range(node.attrs["activation"])
    params = _params(node, x, w, act_min=lo, act_max=hi)
    args = (TensorArg(x.name), ctx.const(w.name), _bias(ctx, node, w.shape[0], "float32"),
            TensorArg(node.outputs[0]))
    return [KernelCall(node.name, node.op, ctx.tvm_kernel(transpose_conv2d_float32, params, "tconv"), args)]
