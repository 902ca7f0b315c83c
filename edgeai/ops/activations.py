"""Activations from the Keras zoo: hard_swish (MobileNetV3) and prelu (a learned slope per element or channel)."""

from edgeai.errors import ModelError
from edgeai.ops._shapes import broadcast
from edgeai.ops.registry import OpDef, register


def _same(node, graph):
    return [graph.tensor(node.inputs[0]).shape]


def _size(node, graph):
    return graph.tensor(node.outputs[0]).size


# x * relu6(x + 3) / 6
register(OpDef(name="hard_swish", attrs={}, infer_shapes=_same, num_inputs=(1, 1), macs=_size))


def _prelu(node, graph):
    x, alpha = graph.tensor(node.inputs[0]).shape, graph.tensor(node.inputs[1]).shape
    if broadcast(x, alpha) != tuple(x):  # the slope broadcasts to the input, never the other way
        raise ModelError(f"node {node.name!r} (prelu): slope {list(alpha)} does not broadcast to input {list(x)}")
    return [x]


# x if x >= 0 else alpha * x; inputs (x, alpha), alpha broadcasting to x
register(OpDef(name="prelu", attrs={}, infer_shapes=_prelu, num_inputs=(2, 2), macs=_size))
