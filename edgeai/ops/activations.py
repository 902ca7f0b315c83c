"""Activations from the Keras zoo: hard_swish (MobileNetV3)."""

from edgeai.ops.registry import OpDef, register


def _same(node, graph):
    return [graph.tensor(node.inputs[0]).shape]


def _size(node, graph):
    return graph.tensor(node.outputs[0]).size


# x * relu6(x + 3) / 6
register(OpDef(name="hard_swish", attrs={}, infer_shapes=_same, num_inputs=(1, 1), macs=_size))

