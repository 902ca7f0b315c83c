"""conv2d and depthwise_conv2d → TVM kernels (int8 with per-channel requantization, and float32)."""

from __future__ import annotations

import numpy as np

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering._quant import (accumulator_rounding, float_activation_range, int8_activation_range, scale_zp,
                                       tensor_quant)
from compilers.lowering.kernel_table import first_taker
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


# Per op: TVM params class and kernels, the weights' output-channel axis, a name tag.
_WINDOWED = {
    "conv2d": (Conv2DParams, conv2d_int8, conv2d_float32, 0, "conv"),
    "depthwise_conv2d": (DepthwiseConv2DParams, depthwise_conv2d_int8, depthwise_conv2d_float32, 3, "dwconv"),
}


def windowed_int8_rule(ctx, node):
    params_cls, make_int8, _, axis, tag = _WINDOWED[node.op]
    g = ctx.graph
    x, w = g.tensor(node.inputs[0]), g.tensor(node.inputs[1])
    channels = w.shape[axis]
    in_zp, out_zp, lo, hi, mult, shift = _int8_requant(ctx, node, channels)
    rounding = accumulator_rounding(node)
    call = first_taker(ctx.target, node.op, ctx, node, x.shape, w.data, _bias_data(g, node), in_zp, out_zp, lo, hi,
                       mult, shift, g.tensor(node.outputs[0]).shape, node.attrs, rounding)
    if call is not None:
        return [call]
    params = params_cls(x.shape, w.shape, input_zero_point=in_zp, output_zero_point=out_zp, act_min=lo, act_max=hi,
                        rounding=rounding, **_window(node))
    args = (TensorArg(x.name), ctx.const(w.name), _bias(ctx, node, channels, "int32"), ctx.derived(mult),
            ctx.derived(shift), TensorArg(node.outputs[0]))
    return [KernelCall(node.name, node.op, ctx.tvm_kernel(make_int8, params, tag), args)]


def windowed_float_rule(ctx, node):
    params_cls, _, make_float, axis, tag = _WINDOWED[node.op]
    g = ctx.graph
    x, w = g.tensor(node.inputs[0]), g.tensor(node.inputs[1])
    lo, hi = float_activation_range(node.attrs["activation"])
    call = first_taker(ctx.target, node.op + "_f32", ctx, node, x.shape, w.data, _bias_data(g, node), lo, hi,
                       g.tensor(node.outputs[0]).shape, node.attrs)
    if call is not None:
        return [call]
    params = params_cls(x.shape, w.shape, act_min=lo, act_max=hi, **_window(node))
    args = (TensorArg(x.name), ctx.const(w.name), _bias(ctx, node, w.shape[axis], "float32"),
            TensorArg(node.outputs[0]))
    return [KernelCall(node.name, node.op, ctx.tvm_kernel(make_float, params, tag), args)]


for _op in _WINDOWED:
    rule(_op, "int8")(windowed_int8_rule)
    rule(_op, "float32")(windowed_float_rule)
