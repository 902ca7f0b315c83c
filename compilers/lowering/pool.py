"""average_pool2d → the first hand-written kernel of the target that takes it (kernel_table "avg_pool2d"), else
TVM kernels. TFLite requires int8 average pooling to keep its input's quantization; with ONNX
numerics the pool may requantize (a QDQ graph's AveragePool between two different quantizations)."""

from __future__ import annotations

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering.kernel_table import first_taker
from compilers.lowering._quant import float_activation_range, int8_activation_range, numerics, scale_zp
from compilers.lowering.registry import rule
from compilers.tvm.kernels.avg_pool2d import AvgPool2DParams, avg_pool2d_float32, avg_pool2d_int8
from compilers.tvm.requant import exact_multiplier
from edgeai.errors import ModelError


def _params(node, shape, lo, hi, rescale=None):
    a = node.attrs
    return AvgPool2DParams(shape, tuple(a["kernel"]), stride=tuple(a["strides"]), padding=tuple(a["padding"]),
                           act_min=lo, act_max=hi, rescale=rescale)


@rule("average_pool2d", "int8")
def avgpool_int8_rule(ctx, node):
    g = ctx.graph
    qin, qout = scale_zp(g, node.inputs[0], node), scale_zp(g, node.outputs[0], node)
    rescale = None
    if numerics(node) == "onnx":
        kh, kw = node.attrs["kernel"]
        window = kh * kw if tuple(node.attrs["padding"]) == (0, 0, 0, 0) else 1  # see AvgPool2DParams.rescale
        rescale = (qin[1], qout[1], *exact_multiplier(qin[0] / (qout[0] * window),
                                                      f"node {node.name!r} (average_pool2d)"))
    elif abs(qin[0] - qout[0]) > 1e-6 * qin[0] or qin[1] != qout[1]:
        raise ModelError(f"node {node.name!r} (average_pool2d): int8 input and output quantization differ "
                         f"({qin} vs {qout}); TFLite's int8 average pool keeps its input's")
    lo, hi = int8_activation_range(node.attrs["activation"], *qout)
    a, shape = node.attrs, g.tensor(node.inputs[0]).shape
    call = first_taker(ctx.target, "avg_pool2d", ctx, node, shape, g.tensor(node.outputs[0]).shape,
                       tuple(a["kernel"]), tuple(a["strides"]), tuple(a["padding"]), lo, hi, rescale)
    if call is not None:
        return [call]
    params = _params(node, shape, lo, hi, rescale)
    symbol = ctx.tvm_kernel(avg_pool2d_int8, params, "avgpool")
    return [KernelCall(node.name, node.op, symbol, (TensorArg(node.inputs[0]), TensorArg(node.outputs[0])))]


@rule("average_pool2d", "float32")
def avgpool_float_rule(ctx, node):
    lo, hi = float_activation_range(node.attrs["activation"])
    symbol = ctx.tvm_kernel(avg_pool2d_float32, _params(node, ctx.graph.tensor(node.inputs[0]).shape, lo, hi), "avgpool")
    return [KernelCall(node.name, node.op, symbol, (TensorArg(node.inputs[0]), TensorArg(node.outputs[0])))]
