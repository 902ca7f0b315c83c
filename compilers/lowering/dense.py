"""fully_connected → TVM kernels. The input is read as [rows, in_features] whatever its shape."""

from __future__ import annotations

import numpy as np

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering.kernel_table import first_taker
from compilers.lowering._quant import (accumulator_rounding, float_activation_range, int8_activation_range, numerics,
                                       scale_zp, tensor_quant)
from compilers.lowering.registry import rule
from compilers.tvm.kernels.fully_connected import FullyConnectedParams, fully_connected_float32, fully_connected_int8
from compilers.tvm.requant import per_channel_multipliers, per_tensor_fc_multiplier
from edgeai.errors import ModelError


def _shape(ctx, node):
    w = ctx.graph.tensor(node.inputs[1])
    rows = ctx.graph.tensor(node.inputs[0]).size // w.shape[1]
    return rows, w.shape[1], w.shape[0]


def _bias(ctx, node, n, dtype):
    if len(node.inputs) > 2 and node.inputs[2]:
        return ctx.const(node.inputs[2])
    return ctx.derived(np.zeros(n, dtype))


@rule("fully_connected", "int8")
def fc_int8_rule(ctx, node):
    g = ctx.graph
    rows, k, n = _shape(ctx, node)
    in_scale, in_zp = scale_zp(g, node.inputs[0], node)
    out_scale, out_zp = scale_zp(g, node.outputs[0], node)
    wq = tensor_quant(g, node.inputs[1], node)
    if any(z != 0 for z in wq.zero_point):
        raise ModelError(f"node {node.name!r} (fully_connected): int8 weights must be symmetric (zero point 0)")
    if wq.per_tensor and numerics(node) == "tflite":
        # TFLite's per-tensor path multiplies the scales in float32, the per-channel one in double.
        m, s = per_tensor_fc_multiplier(in_scale, wq.scale[0], out_scale)
        mult, shift = np.full(n, m, np.int32), np.full(n, s, np.int32)
    else:
        mult, shift = per_channel_multipliers(in_scale, np.broadcast_to(np.asarray(wq.scale), (n,)), out_scale)
    lo, hi = int8_activation_range(node.attrs["activation"], out_scale, out_zp)
    params = FullyConnectedParams(rows, k, n, input_zero_point=in_zp, output_zero_point=out_zp, act_min=lo, act_max=hi,
                                  rounding=accumulator_rounding(node, "single"))
    w = g.tensor(node.inputs[1]).data.reshape(n, k)
    bias = g.tensor(node.inputs[2]).data if len(node.inputs) > 2 and node.inputs[2] else None
    call = first_taker(ctx.target, "fully_connected", ctx, node, rows, k, n, w, bias, in_zp, out_zp, lo, hi, mult,
                       shift, params.rounding)
    if call is not None:
        return [call]
    symbol = ctx.tvm_kernel(fully_connected_int8, params, "fc")
    args = (TensorArg(node.inputs[0]), ctx.const(node.inputs[1]), _bias(ctx, node, n, "int32"), ctx.derived(mult),
            ctx.derived(shift), TensorArg(node.outputs[0]))
    return [KernelCall(node.name, node.op, symbol, args)]


@rule("fully_connected", "float32")
def fc_float_rule(ctx, node):
    rows, k, n = _shape(ctx, node)
    lo, hi = float_activation_range(node.attrs["activation"])
    g = ctx.graph
    bias = g.tensor(node.inputs[2]).data if len(node.inputs) > 2 and node.inputs[2] else None
    call = first_taker(ctx.target, "fully_connected_f32", ctx, node, rows, k, n, g.tensor(node.inputs[1]).data, bias,
                       lo, hi)
    if call is not None:
        return [call]
    params = FullyConnectedParams(rows, k, n, act_min=lo, act_max=hi)
    symbol = ctx.tvm_kernel(fully_connected_float32, params, "fc")
    args = (TensorArg(node.inputs[0]), ctx.const(node.inputs[1]), _bias(ctx, node, n, "float32"),
            TensorArg(node.outputs[0]))
    return [KernelCall(node.name, node.op, symbol, args)]
