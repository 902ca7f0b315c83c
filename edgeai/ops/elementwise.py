"""Binary elementwise ops with numpy broadcasting and a fused activation: add, sub, mul."""

from edgeai.errors import ModelError
from edgeai.ops._shapes import broadcast
from edgeai.ops.registry import ACTIVATIONS, Attr, OpDef, register


def _shapes(node, graph):
    a, b = graph.tensor(node.inputs[0]).shape, graph.tensor(node.inputs[1]).shape
    out = broadcast(a, b)
    if out is None:
        raise ModelError(f"node {node.name!r} ({node.op}): shapes {list(a)} and {list(b)} do not broadcast")
    return [out]


def _macs(node, graph):
    return graph.tensor(node.outputs[0]).size


for _name in ("add", "sub", "mul"):
    register(OpDef(
        name=_name,
        attrs={"activation": Attr(str, "none", ACTIVATIONS)},
        infer_shapes=_shapes,
        num_inputs=(2, 2),
        macs=_macs,
    ))
