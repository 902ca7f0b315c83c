"""Lowering of the light ops (float elementwise with broadcasting, activations, quantize/dequantize,
transpose, pad, concat, max pooling, mean) to the generic TVM kernels."""

from __future__ import annotations

import numpy as np

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering._quant import float_activation_range, int8_activation_range, numerics, scale_zp, tensor_quant
from compilers.lowering.registry import rule
from compilers.tvm.kernels import generic as k
from compilers.tvm.requant import INT_RANGES, exact_multiplier
from edgeai.errors import UnsupportedOpError


def _arg(ctx, name):
    return ctx.const(name) if ctx.graph.tensor(name).is_constant else TensorArg(name)


def _call(ctx, node, make, params, tag, extra=()):
    args = tuple(_arg(ctx, n) for n in node.inputs if n) + tuple(extra) + (TensorArg(node.outputs[0]),)
    return [KernelCall(node.name, node.op, ctx.tvm_kernel(make, params, tag), args)]


def binary_float_rule(ctx, node):
    g = ctx.graph
    lo, hi = float_activation_range(node.attrs["activation"])
    params = k.BinaryParams(node.op, g.tensor(node.inputs[0]).shape, g.tensor(node.inputs[1]).shape,
                            g.tensor(node.outputs[0]).shape, lo, hi)
    return _call(ctx, node, k.binary_float32, params, node.op)


for _op in ("sub", "mul"):
    rule(_op, "float32")(binary_float_rule)


def _unary(ctx, node):
    a = node.attrs
    shape = ctx.graph.tensor(node.inputs[0]).shape
    params = k.UnaryParams(node.op, shape, a["min"], a["max"]) if node.op == "clip" else \
        k.UnaryParams(node.op, shape, exponent=a["exponent"]) if node.op == "pow" else k.UnaryParams(node.op, shape)
    return _call(ctx, node, k.unary_float32, params, node.op)


for _op in ("relu", "relu6", "clip", "sigmoid", "tanh", "pow"):
    rule(_op, "float32")(_unary)


def _quantize_params(ctx, node, t, half_even=True):
    """QuantizeParams of the int8/uint8/int16 tensor t and the extra kernel arguments: none per tensor, the scale and
    zero point arrays per axis (the IR's axis, already in the stored order)."""
    q = tensor_quant(ctx.graph, t.name, node)
    if q.per_tensor:
        return k.QuantizeParams(t.shape, q.scale[0], q.zero_point[0], t.dtype, half_even), ()
    params = k.QuantizeParams(t.shape, 0.0, 0, t.dtype, half_even, q.axis)  # scale, zero point: the arrays
    return params, (ctx.derived(np.asarray(q.scale, np.float32)), ctx.derived(np.asarray(q.zero_point, np.int32)))


@rule("quantize", "float32")
def quantize_rule(ctx, node):
    out = ctx.graph.tensor(node.outputs[0])
    params, extra = _quantize_params(ctx, node, out, node.attrs["rounding"] == "half_even")
    return _call(ctx, node, k.quantize, params, "quantize", extra)


def dequantize_rule(ctx, node):
    params, extra = _quantize_params(ctx, node, ctx.graph.tensor(node.inputs[0]))
    return _call(ctx, node, k.dequantize, params, "dequantize", extra)


for _dtype in ("int8", "uint8", "int16"):
    rule("dequantize", _dtype)(dequantize_rule)


def transpose_rule(ctx, node):
    x = ctx.graph.tensor(node.inputs[0])
    return _call(ctx, node, k.transpose, k.TransposeParams(x.shape, tuple(node.attrs["perm"]), x.dtype), "transpose")


def _requant(g, node, src: str, dst: str):
    """How an int8 copy from src to dst requantizes (generic.PadParams.requant): None with equal quantization;
    with ONNX numerics one exact rounding; TFLite's int8 (and int16) kernels require equal quantization."""
    (si, zi), (so, zo) = scale_zp(g, src, node), scale_zp(g, dst, node)
    if (si, zi) == (so, zo):
        return None
    if numerics(node) != "onnx":
        raise UnsupportedOpError(f"node {node.name!r} ({node.op}): {g.tensor(src).dtype} input {src!r} is quantized "
                                 f"({si:g}, {zi}) but the output ({so:g}, {zo}); TFLite numerics require equal "
                                 f"quantization (ONNX numerics requantize: compile with --numerics onnx)")
    return (zi, zo, *exact_multiplier(si / so, f"node {node.name!r} ({node.op})"))


def pad_rule(ctx, node):
    g = ctx.graph
    x, a = g.tensor(node.inputs[0]), node.attrs
    value, requant = a["value"], None
    if x.dtype in ("int8", "int16") and x.quant is not None:  # the real pad value in the output's quantization
        scale, zp = scale_zp(g, node.outputs[0], node)
        value = int(np.clip(np.rint(value / scale) + zp, *INT_RANGES[x.dtype]))
        # LiteRT's int8 and int16 PAD copy bytes and pad with the output zero point, whatever the quantizations;
        # int16 nodes come from TFLite files only (ONNX numerics are set on int8 nodes)
        requant = _requant(g, node, x.name, node.outputs[0]) if numerics(node) == "onnx" and x.dtype == "int8" else None
    elif x.dtype != "float32":  # plain integers pad with the integer itself
        value = int(value)
    params = k.PadParams(x.shape, tuple(a["pads"]), value, x.dtype, a["mode"], requant)
    return _call(ctx, node, k.pad, params, "pad")


def concat_rule(ctx, node):
    g = ctx.graph
    shapes = tuple(g.tensor(n).shape for n in node.inputs)
    dtype = g.tensor(node.inputs[0]).dtype
    requant = ()
    if dtype in ("int8", "int16"):  # int16: TFLite's 16x8 CONCATENATION, which requires equal quantization
        requant = tuple(_requant(g, node, n, node.outputs[0]) for n in node.inputs)
        requant = requant if any(requant) else ()
    axis = node.attrs["axis"] % len(shapes[0])
    return _call(ctx, node, k.concat, k.ConcatParams(shapes, axis, dtype, requant), "concat")


def maxpool_rule(ctx, node):
    g = ctx.graph
    x = g.tensor(node.inputs[0])
    a = node.attrs
    if x.dtype in ("int8", "int16"):
        lo, hi = int8_activation_range(a["activation"], *scale_zp(g, node.outputs[0], node), x.dtype)
    else:
        lo, hi = float_activation_range(a["activation"])
    params = k.MaxPoolParams(x.shape, tuple(a["kernel"]), tuple(a["strides"]), tuple(a["padding"]), x.dtype, lo, hi)
    return _call(ctx, node, k.max_pool2d, params, "maxpool")


@rule("mean", "float32")
def mean_rule(ctx, node):
    x = ctx.graph.tensor(node.inputs[0])
    axes = tuple(sorted(a % len(x.shape) for a in node.attrs["axes"]))
    return _call(ctx, node, k.mean_float32, k.MeanParams(x.shape, axes, node.attrs["keepdims"]), "mean")


for _dtype in ("float32", "int8", "int32", "int16"):
    rule("transpose", _dtype)(transpose_rule)
    rule("pad", _dtype)(pad_rule)
    rule("concat", _dtype)(concat_rule)
for _dtype in ("float32", "int8", "int16"):  # int16: TFLite's 16x8 MAX_POOL_2D, a max and the clamp
    rule("max_pool2d", _dtype)(maxpool_rule)
