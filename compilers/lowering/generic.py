"""Lowering of the light ops (float elementwise with broadcasting, activations, quantize/dequantize,
transpose, pad, concat, max pooling, mean) to the generic TVM kernels."""

from __future__ import annotations

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering._quant import float_activation_range, int8_activation_range, scale_zp
from compilers.lowering.registry import rule
from compilers.tvm.kernels import generic as k


def _arg(ctx, name):
    return ctx.const(name) if ctx.graph.tensor(name).is_constant else TensorArg(name)


def _call(ctx, node, make, params, tag):
    args = tuple(_arg(ctx, n) for n in node.inputs if n) + (TensorArg(node.outputs[0]),)
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
    params = k.UnaryParams(node.op, ctx.graph.tensor(node.inputs[0]).shape, a.get("min", 0.0), a.get("max", 0.0)) \
        if node.op == "clip" else k.UnaryParams(node.op, ctx.graph.tensor(node.inputs[0]).shape)
    return _call(ctx, node, k.unary_float32, params, node.op)


for _op in ("relu", "relu6", "clip", "sigmoid", "tanh"):
    rule(_op, "float32")(_unary)


@rule("quantize", "float32")
def quantize_rule(ctx, node):
    out = ctx.graph.tensor(node.outputs[0])
    scale, zp = scale_zp(ctx.graph, out.name, node)
    params = k.QuantizeParams(out.shape, scale, zp, out.dtype, node.attrs["rounding"] == "half_even")
    return _call(ctx, node, k.quantize, params, "quantize")


def dequantize_rule(ctx, node):
    x = ctx.graph.tensor(node.inputs[0])
    scale, zp = scale_zp(ctx.graph, x.name, node)
    return _call(ctx, node, k.dequantize, k.QuantizeParams(x.shape, scale, zp, x.dtype), "dequantize")


for _dtype in ("int8", "uint8"):
    rule("dequantize", _dtype)(dequantize_rule)


def transpose_rule(ctx, node):
    x = ctx.graph.tensor(node.inputs[0])
    return _call(ctx, node, k.transpose, k.TransposeParams(x.shape, tuple(node.attrs["perm"]), x.dtype), "transpose")


def pad_rule(ctx, node):
    x = ctx.graph.tensor(node.inputs[0])
    value = node.attrs["value"]
    if x.dtype == "int8":  # padding a quantized tensor with real 0 means its zero point
        value = scale_zp(ctx.graph, x.name, node)[1]
    return _call(ctx, node, k.pad, k.PadParams(x.shape, tuple(node.attrs["pads"]), value, x.dtype), "pad")


def concat_rule(ctx, node):
    g = ctx.graph
    shapes = tuple(g.tensor(n).shape for n in node.inputs)
    dtype = g.tensor(node.inputs[0]).dtype
    if dtype == "int8":
        qs = {scale_zp(g, n, node) for n in list(node.inputs) + list(node.outputs)}
        if len(qs) != 1:
            from edgeai.errors import UnsupportedOpError

            raise UnsupportedOpError(f"node {node.name!r} (concat): int8 inputs with different quantization")
    axis = node.attrs["axis"] % len(shapes[0])
    return _call(ctx, node, k.concat, k.ConcatParams(shapes, axis, dtype), "concat")


def maxpool_rule(ctx, node):
    g = ctx.graph
    x = g.tensor(node.inputs[0])
    a = node.attrs
    if x.dtype == "int8":
        lo, hi = int8_activation_range(a["activation"], *scale_zp(g, node.outputs[0], node))
    else:
        lo, hi = float_activation_range(a["activation"])
    params = k.MaxPoolParams(x.shape, tuple(a["kernel"]), tuple(a["strides"]), tuple(a["padding"]), x.dtype, lo, hi)
    return _call(ctx, node, k.max_pool2d, params, "maxpool")


@rule("mean", "float32")
def mean_rule(ctx, node):
    x = ctx.graph.tensor(node.inputs[0])
    axes = tuple(sorted(a % len(x.shape) for a in node.attrs["axes"]))
    return _call(ctx, node, k.mean_float32, k.MeanParams(x.shape, axes, node.attrs["keepdims"]), "mean")


for _dtype in ("float32", "int8", "int32"):
    rule("transpose", _dtype)(transpose_rule)
    rule("pad", _dtype)(pad_rule)
    rule("concat", _dtype)(concat_rule)
for _dtype in ("float32", "int8"):
    rule("max_pool2d", _dtype)(maxpool_rule)
