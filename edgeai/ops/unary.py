"""Shape-preserving unary ops: activations, pow, quantize, dequantize, softmax."""

from edgeai.errors import ModelError
from edgeai.ops.registry import Attr, OpDef, register


def _same(node, graph):
    return [graph.tensor(node.inputs[0]).shape]


def _size(node, graph):
    return graph.tensor(node.outputs[0]).size


for _name in ("relu", "relu6", "sigmoid", "tanh", "dequantize"):
    register(OpDef(name=_name, attrs={}, infer_shapes=_same, num_inputs=(1, 1), macs=_size))

# ONNX QuantizeLinear rounds halves to even, TFLite's QUANTIZE away from zero.
register(OpDef(
    name="quantize",
    attrs={"rounding": Attr(str, "half_even", ("half_even", "half_away"))},
    infer_shapes=_same,
    num_inputs=(1, 1),
    macs=_size,
))

# x ** exponent in float (ONNX Pow with a constant scalar exponent; LRN's power).
register(OpDef(name="pow", attrs={"exponent": Attr(float)}, infer_shapes=_same, num_inputs=(1, 1), macs=_size))

register(OpDef(
    name="clip",
    attrs={"min": Attr(float, float("-inf")), "max": Attr(float, float("inf"))},
    infer_shapes=_same,
    num_inputs=(1, 1),
    macs=_size,
))


def _softmax_shapes(node, graph):
    shape = graph.tensor(node.inputs[0]).shape
    if node.attrs["axis"] not in (-1, len(shape) - 1):
        raise ModelError(f"node {node.name!r} (softmax): only the last axis is supported, got {node.attrs['axis']}")
    return [shape]


register(OpDef(
    name="softmax",
    attrs={"beta": Attr(float, 1.0), "axis": Attr(int, -1)},
    infer_shapes=_softmax_shapes,
    num_inputs=(1, 1),
    macs=_size,
))
