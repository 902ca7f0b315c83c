"""TFLite's 16x8 quantization (int16 activations, symmetric; int8 weights; int64 biases) → the TVM kernels of
compilers/tvm/kernels/int16x8.py (conv2d, depthwise_conv2d, fully_connected) and the int8 kernels made generic over
the activation dtype (add, sub, mul, average_pool2d). softmax (softmax.py), sigmoid and tanh
(sigmoid_tanh_int16.py), mean (mean.py), max_pool2d, pad, concat, transpose, quantize, dequantize (generic.py) and
reshape (layout.py) take int16 in their own modules. The hand-written kernels of every instruction set take int8
activations only: a 16x8 layer is computed by the generic kernel, and the compile report says so (ctx.decline) for
the targets that have such kernels.

What LiteRT requires of a 16x8 layer and edgeai checks, naming the node: zero points 0 on the activations and
the weights, int8 weights, an int64 bias (LiteRT's int32-bias variant accumulates in 32 bits with another
rounding: refused), a multiplier within LiteRT's shift range.
"""

from __future__ import annotations

import numpy as np

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering._quant import int8_activation_range, scale_zp, tensor_quant
from compilers.lowering.elementwise import _operands
from compilers.lowering.kernel_table import kernels_for
from compilers.lowering.mul import tflite_mul_multiplier
from compilers.lowering.registry import rule
from compilers.tvm.kernels.add import AddParams, add_int8
from compilers.tvm.kernels.avg_pool2d import AvgPool2DParams, avg_pool2d_int8
from compilers.tvm.kernels.conv2d import Conv2DParams
from compilers.tvm.kernels.depthwise_conv2d import DepthwiseConv2DParams
from compilers.tvm.kernels.fully_connected import FullyConnectedParams
from compilers.tvm.kernels.mul import MulParams, mul_int8
from compilers.tvm.kernels.int16x8 import conv2d_16x8, depthwise_conv2d_16x8, fully_connected_16x8
from compilers.tvm.requant import add_quant_params, per_channel_multipliers, per_tensor_fc_multiplier, wide_multipliers
from edgeai.errors import ModelError, UnsupportedOpError

# The kernel-table op whose hand-written kernels a 16x8 layer of each IR op passes over.
_TABLE_OP = {"conv2d": "conv2d", "depthwise_conv2d": "depthwise_conv2d", "fully_connected": "fully_connected",
             "add": "add", "sub": "sub", "mul": "mul", "average_pool2d": "avg_pool2d"}


def _generic(ctx, node) -> None:
    """Record why the target's own kernels (if it has any for this op) do not take the layer."""
    if any(kernels_for(ctx.target, _TABLE_OP[node.op])):
        ctx.decline(node, "int16 activations (16x8 quantization): the hand-written kernels take int8 only")


def _symmetric(ctx, node, *names) -> list[float]:
    """The scales of int16 activations `names`, refused unless symmetric (LiteRT's 16x8 kernels require zero
    point 0) and int16."""
    g, scales = ctx.graph, []
    for name in names:
        t = g.tensor(name)
        if t.dtype != "int16":
            raise UnsupportedOpError(f"node {node.name!r} ({node.op}): 16x8 layer with {t.dtype} tensor {name!r}; "
                                     f"int16 inputs need int16 outputs")
        scale, zp = scale_zp(g, name, node)
        if zp != 0:
            raise ModelError(f"node {node.name!r} ({node.op}): int16 tensor {name!r} has zero point {zp}; 16x8 "
                             f"quantization is symmetric (zero point 0)")
        scales.append(scale)
    return scales


def _weights(ctx, node):
    g = ctx.graph
    w = g.tensor(node.inputs[1])
    if w.dtype != "int8" or not w.is_constant:
        raise UnsupportedOpError(f"node {node.name!r} ({node.op}): 16x8 weights {w.name!r} must be constant int8, "
                                 f"got {'constant ' if w.is_constant else ''}{w.dtype}")
    wq = tensor_quant(g, w.name, node)
    if any(z != 0 for z in wq.zero_point):
        raise ModelError(f"node {node.name!r} ({node.op}): int8 weights must be symmetric (zero point 0), got "
                         f"{sorted(set(wq.zero_point))[:4]}")
    return w, wq


def _bias(ctx, node, channels: int):
    if len(node.inputs) < 3 or not node.inputs[2]:
        return ctx.derived(np.zeros(channels, np.int64))
    b = ctx.graph.tensor(node.inputs[2])
    if b.dtype != "int64":
        raise UnsupportedOpError(f"node {node.name!r} ({node.op}): 16x8 bias {b.name!r} is {b.dtype}; only int64 "
                                 f"biases are supported (what TFLite's 16x8 converter writes)")
    return ctx.const(b.name)


def _multipliers(node, mult, shift, reduced: bool = True):
    try:
        return wide_multipliers(mult, shift, reduced)
    except ValueError as e:
        raise ModelError(f"node {node.name!r} ({node.op}): {e}; the scales give a multiplier of 2**7 or more") from None


def _call(ctx, node, make, params, tag, w, bias, mult, shift):
    args = (TensorArg(node.inputs[0]), ctx.const(w.name), bias, ctx.derived(mult), ctx.derived(shift),
            TensorArg(node.outputs[0]))
    return [KernelCall(node.name, node.op, ctx.tvm_kernel(make, params, tag), args)]


_WINDOWED = {"conv2d": (Conv2DParams, conv2d_16x8, 0, "conv16x8"),
             "depthwise_conv2d": (DepthwiseConv2DParams, depthwise_conv2d_16x8, 3, "dwconv16x8")}


@rule("conv2d", "int16")
@rule("depthwise_conv2d", "int16")
def windowed_16x8_rule(ctx, node):
    params_cls, make, axis, tag = _WINDOWED[node.op]
    in_scale, out_scale = _symmetric(ctx, node, node.inputs[0], node.outputs[0])
    w, wq = _weights(ctx, node)
    channels = w.shape[axis]
    mult, shift = _multipliers(node, *per_channel_multipliers(
        in_scale, np.broadcast_to(np.asarray(wq.scale, np.float64), (channels,)), out_scale))
    lo, hi = int8_activation_range(node.attrs["activation"], out_scale, 0, "int16")
    a = node.attrs
    params = params_cls(ctx.graph.tensor(node.inputs[0]).shape, w.shape, stride=tuple(a["strides"]),
                        dilation=tuple(a["dilations"]), padding=tuple(a["padding"]), act_min=lo, act_max=hi)
    _generic(ctx, node)
    return _call(ctx, node, make, params, tag, w, _bias(ctx, node, channels), mult, shift)


@rule("fully_connected", "int16")
def fc_16x8_rule(ctx, node):
    g = ctx.graph
    in_scale, out_scale = _symmetric(ctx, node, node.inputs[0], node.outputs[0])
    w, wq = _weights(ctx, node)
    n, k = w.shape[0], w.shape[1]
    if wq.per_tensor:  # as for int8: TFLite multiplies the per-tensor scales in float32
        m, s = per_tensor_fc_multiplier(in_scale, wq.scale[0], out_scale)
        mult, shift = np.full(n, m, np.int32), np.full(n, s, np.int32)
    else:
        mult, shift = per_channel_multipliers(in_scale, np.broadcast_to(np.asarray(wq.scale), (n,)), out_scale)
    mult, shift = _multipliers(node, mult, shift, reduced=False)  # LiteRT's 16x8 FC: the whole Q31 multiplier
    lo, hi = int8_activation_range(node.attrs["activation"], out_scale, 0, "int16")
    params = FullyConnectedParams(g.tensor(node.inputs[0]).size // k, k, n, act_min=lo, act_max=hi)
    _generic(ctx, node)
    return _call(ctx, node, fully_connected_16x8, params, "fc16x8", w, _bias(ctx, node, n), mult, shift)


@rule("add", "int16")
@rule("sub", "int16")
def add_16x8_rule(ctx, node):
    """ADD, and SUB with the same arithmetic on the negated second term (LiteRT's general-scale int16 path)."""
    s1, s2, so = _symmetric(ctx, node, node.inputs[0], node.inputs[1], node.outputs[0])
    shape, args, (shape1, shape2) = _operands(ctx, node)
    lo, hi = int8_activation_range(node.attrs["activation"], so, 0, "int16")
    params = AddParams(shape, quant=add_quant_params(s1, s2, so, left_shift=15), act_min=lo, act_max=hi,
                       input1_shape=shape1, input2_shape=shape2, dtype="int16", subtract=node.op == "sub")
    _generic(ctx, node)
    return [KernelCall(node.name, node.op, ctx.tvm_kernel(add_int8, params, f"{node.op}16x8"), args)]


@rule("mul", "int16")
def mul_16x8_rule(ctx, node):
    """LiteRT's reference MUL on int16: the exact product of the inputs, MultiplyByQuantizedMultiplier by
    s1 s2 / s_out (float32, as for int8), clamped."""
    g = ctx.graph
    s1, s2, so = _symmetric(ctx, node, node.inputs[0], node.inputs[1], node.outputs[0])
    multiplier, shift = tflite_mul_multiplier(s1, s2, so)
    lo, hi = int8_activation_range(node.attrs["activation"], so, 0, "int16")
    a, b = g.tensor(node.inputs[0]), g.tensor(node.inputs[1])
    params = MulParams(a.shape, b.shape, g.tensor(node.outputs[0]).shape, 0, 0, 0, multiplier, shift, lo, hi,
                       dtype="int16")
    args = tuple(ctx.const(t.name) if t.is_constant else TensorArg(t.name) for t in (a, b))
    _generic(ctx, node)
    symbol = ctx.tvm_kernel(mul_int8, params, "mul16x8")
    return [KernelCall(node.name, node.op, symbol, args + (TensorArg(node.outputs[0]),))]


@rule("average_pool2d", "int16")
def avgpool_16x8_rule(ctx, node):
    s_in, s_out = _symmetric(ctx, node, node.inputs[0], node.outputs[0])
    if abs(s_in - s_out) > 1e-6 * s_in:
        raise ModelError(f"node {node.name!r} (average_pool2d): int16 input and output scales differ ({s_in:g} vs "
                         f"{s_out:g}); TFLite's 16x8 average pool keeps its input's")
    a = node.attrs
    lo, hi = int8_activation_range(a["activation"], s_out, 0, "int16")
    params = AvgPool2DParams(ctx.graph.tensor(node.inputs[0]).shape, tuple(a["kernel"]), stride=tuple(a["strides"]),
                             padding=tuple(a["padding"]), act_min=lo, act_max=hi, dtype="int16")
    _generic(ctx, node)
    symbol = ctx.tvm_kernel(avg_pool2d_int8, params, "avgpool16x8")
    return [KernelCall(node.name, node.op, symbol, (TensorArg(node.inputs[0]), TensorArg(node.outputs[0])))]
