"""conv2d and depthwise_conv2d → TVM kernels (int8 with per-channel requantization, and float32)."""

from __future__ import annotations

import numpy as np

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering import cortex_m
from compilers.lowering._quant import float_activation_range, int8_activation_range, scale_zp, tensor_quant
from compilers.lowering.registry import rule
from compilers.tvm.kernels.conv2d import Conv2DParams, conv2d_float32, conv2d_int8
from compilers.tvm.kernels.depthwise_conv2d import DepthwiseConv2DParams, depthwise_conv2d_float32, depthwise_conv2d_int8
from compilers.tvm.requant import per_channel_multipliers
from edgeai.errors import ModelError


def _bias(ctx, node, channels: int, dtype: str):
    if len(node.inputs) > 2 and node.inputs[2]:
        return ctx.const(node.inputs[2])
    return ctx.derived(np.zeros(channels, dtype))


def _bias_data(g, node):
    return g.tensor(node.inputs[2]).data if len(node.inputs) > 2 and node.inputs[2] else None


def _int8_requant(ctx, node, channels: int):
    g = ctx.graph
    in_scale, in_zp = scale_zp(g, node.inputs[0], node)
    out_scale, out_zp = scale_zp(g, node.outputs[0], node)
    wq = tensor_quant(g, node.inputs[1], node)
    if any(z != 0 for z in wq.zero_point):
        raise ModelError(f"node {node.name!r} ({node.op}): int8 weights must be symmetric (zero point 0), "
                         f"got {sorted(set(wq.zero_point))[:4]}")
    scales = np.broadcast_to(np.asarray(wq.scale, np.float64), (channels,))
    mult, shift = per_channel_multipliers(in_scale, scales, out_scale)
    lo, hi = int8_activation_range(node.attrs["activation"], out_scale, out_zp)
    return in_zp, out_zp, lo, hi, mult, shift


def _window(node):
    a = node.attrs
    return dict(stride=tuple(a["strides"]), dilation=tuple(a["dilations"]), padding=tuple(a["padding"]))


@rule("conv2d", "int8")
def conv2d_int8_rule(ctx, node):
    g = ctx.graph
    x, w = g.tensor(node.inputs[0]), g.tensor(node.inputs[1])
    in_zp, out_zp, lo, hi, mult, shift = _int8_requant(ctx, node, w.shape[0])
    if cortex_m.has_dsp(ctx.target):
        call = cortex_m.conv_call(ctx, node, x.shape, w.data, _bias_data(g, node), in_zp, out_zp, lo, hi, mult,
                                  shift, g.tensor(node.outputs[0]).shape, node.attrs)
        if call is not None:
            return [call]
    params = Conv2DParams(x.shape, w.shape, input_zero_point=in_zp, output_zero_point=out_zp, act_min=lo, act_max=hi,
                          **_window(node))
    symbol = ctx.tvm_kernel(conv2d_int8, params, "conv")
    args = (TensorArg(x.name), ctx.const(w.name), _bias(ctx, node, w.shape[0], "int32"), ctx.derived(mult),
            ctx.derived(shift), TensorArg(node.outputs[0]))
    return [KernelCall(node.name, node.op, symbol, args)]


@rule("conv2d", "float32")
def conv2d_float_rule(ctx, node):
    g = ctx.graph
    x, w = g.tensor(node.inputs[0]), g.tensor(node.inputs[1])
    lo, hi = float_activation_range(node.attrs["activation"])
    params = Conv2DParams(x.shape, w.shape, act_min=lo, act_max=hi, **_window(node))
    symbol = ctx.tvm_kernel(conv2d_float32, params, "conv")
    args = (TensorArg(x.name), ctx.const(w.name), _bias(ctx, node, w.shape[0], "float32"), TensorArg(node.outputs[0]))
    return [KernelCall(node.name, node.op, symbol, args)]


@rule("depthwise_conv2d", "int8")
def depthwise_int8_rule(ctx, node):
    g = ctx.graph
    x, w = g.tensor(node.inputs[0]), g.tensor(node.inputs[1])
    in_zp, out_zp, lo, hi, mult, shift = _int8_requant(ctx, node, w.shape[3])
    if cortex_m.has_dsp(ctx.target):
        call = cortex_m.dwconv_call(ctx, node, x.shape, w.data, _bias_data(g, node), in_zp, out_zp, lo, hi, mult,
                                    shift, g.tensor(node.outputs[0]).shape, node.attrs)
        if call is not None:
            return [call]
    params = DepthwiseConv2DParams(x.shape, w.shape, input_zero_point=in_zp, output_zero_point=out_zp, act_min=lo,
                                   act_max=hi, **_window(node))
    symbol = ctx.tvm_kernel(depthwise_conv2d_int8, params, "dwconv")
    args = (TensorArg(x.name), ctx.const(w.name), _bias(ctx, node, w.shape[3], "int32"), ctx.derived(mult),
            ctx.derived(shift), TensorArg(node.outputs[0]))
    return [KernelCall(node.name, node.op, symbol, args)]


@rule("depthwise_conv2d", "float32")
def depthwise_float_rule(ctx, node):
    g = ctx.graph
    x, w = g.tensor(node.inputs[0]), g.tensor(node.inputs[1])
    lo, hi = float_activation_range(node.attrs["activation"])
    params = DepthwiseConv2DParams(x.shape, w.shape, act_min=lo, act_max=hi, **_window(node))
    symbol = ctx.tvm_kernel(depthwise_conv2d_float32, params, "dwconv")
    args = (TensorArg(x.name), ctx.const(w.name), _bias(ctx, node, w.shape[3], "float32"), TensorArg(node.outputs[0]))
    return [KernelCall(node.name, node.op, symbol, args)]
