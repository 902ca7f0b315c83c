"""softmax over the last axis → the hand-written C kernels (TFLite's fixed-point int8 algorithm)."""

from __future__ import annotations

from compilers.c.calls import KernelCall, ScalarArg, TensorArg
from compilers.lowering._quant import scale_zp
from compilers.lowering.registry import rule
from compilers.tvm.requant import softmax_quant_params
from edgeai.errors import ModelError

_INT8 = ("int32_t edgeai_softmax_int8(const int8_t* input, int8_t* output, int32_t outer, int32_t depth, "
         "int32_t input_multiplier, int32_t input_left_shift, int32_t diff_min)")
_FLOAT = "int32_t edgeai_softmax_float(const float* input, float* output, int32_t outer, int32_t depth, float beta)"


def _dims(ctx, node):
    t = ctx.graph.tensor(node.inputs[0])
    depth = t.shape[-1] if t.shape else 1
    return t.size // max(depth, 1), depth


@rule("softmax", "int8")
def softmax_int8_rule(ctx, node):
    g = ctx.graph
    in_scale, _ = scale_zp(g, node.inputs[0], node)
    out_scale, out_zp = scale_zp(g, node.outputs[0], node)
    if abs(out_scale - 1.0 / 256) > 1e-9 or out_zp != -128:
        raise ModelError(f"node {node.name!r} (softmax): int8 softmax output must have scale 1/256 and zero point "
                         f"-128 (TFLite's rule), got scale {out_scale} zero point {out_zp}")
    q = softmax_quant_params(in_scale, node.attrs["beta"], f"node {node.name!r} (softmax)")
    outer, depth = _dims(ctx, node)
    symbol = ctx.c_kernel("portable/softmax_int8.c", "edgeai_softmax_int8", _INT8)
    args = (TensorArg(node.inputs[0]), TensorArg(node.outputs[0]), ScalarArg(outer), ScalarArg(depth),
            ScalarArg(q.input_multiplier), ScalarArg(q.input_left_shift), ScalarArg(q.diff_min))
    return [KernelCall(node.name, node.op, symbol, args)]


@rule("softmax", "float32")
def softmax_float_rule(ctx, node):
    outer, depth = _dims(ctx, node)
    symbol = ctx.c_kernel("portable/softmax_float.c", "edgeai_softmax_float", _FLOAT)
    args = (TensorArg(node.inputs[0]), TensorArg(node.outputs[0]), ScalarArg(outer), ScalarArg(depth),
            ScalarArg(node.attrs["beta"], "float"))
    return [KernelCall(node.name, node.op, symbol, args)]
