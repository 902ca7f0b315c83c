"""fully_connected: input flattened to [rows, in], weights [out, in], optional bias, fused activation."""

from edgeai.errors import ModelError
from edgeai.ops._shapes import check_bias
from edgeai.ops.registry import ACTIVATIONS, Attr, OpDef, register


def _shapes(node, graph):
    x, w = graph.tensor(node.inputs[0]).shape, graph.tensor(node.inputs[1]).shape
    size = 1
    for d in x:
        size *= d
    if len(w) != 2 or w[1] == 0 or size % w[1]:
        raise ModelError(f"node {node.name!r} (fully_connected): input {list(x)} does not fit weights {list(w)}")
    check_bias(node, graph, w[0])
    if node.attrs["keep_num_dims"]:
        return [tuple(x[:-1]) + (w[0],)]
    return [(size // w[1], w[0])]


def _macs(node, graph):
    w = graph.tensor(node.inputs[1]).shape
    out = graph.tensor(node.outputs[0]).shape
    rows = 1
    for d in out[:-1]:
        rows *= d
    return rows * w[0] * w[1]


FULLY_CONNECTED = register(OpDef(
    name="fully_connected",
    attrs={"activation": Attr(str, "none", ACTIVATIONS), "keep_num_dims": Attr(bool, False)},
    infer_shapes=_shapes,
    num_inputs=(2, 3),
    macs=_macs,
))
