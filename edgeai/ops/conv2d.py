"""conv2d: NHWC input, OHWI weights, optional bias, fused activation."""

from edgeai.ops._shapes import check_bias, check_window, window_output
from edgeai.ops.registry import ACTIVATIONS, Attr, OpDef, register
from edgeai.errors import ModelError


def _shapes(node, graph):
    x, w = graph.tensor(node.inputs[0]).shape, graph.tensor(node.inputs[1]).shape
    if len(x) != 4 or len(w) != 4:
        raise ModelError(f"node {node.name!r} (conv2d): needs 4-D input and weights, got {list(x)} and {list(w)}")
    if w[3] != x[3]:
        raise ModelError(f"node {node.name!r} (conv2d): weights expect {w[3]} input channels, input has {x[3]}")
    check_bias(node, graph, w[0])
    check_window(node)
    (sh, sw), (dh, dw), (pt, pl, pb, pr) = node.attrs["strides"], node.attrs["dilations"], node.attrs["padding"]
    return [(x[0], window_output(x[1], w[1], sh, dh, pt, pb), window_output(x[2], w[2], sw, dw, pl, pr), w[0])]


def _macs(node, graph):
    out = graph.tensor(node.outputs[0]).shape
    w = graph.tensor(node.inputs[1]).shape
    return out[0] * out[1] * out[2] * out[3] * w[1] * w[2] * w[3]


CONV2D = register(OpDef(
    name="conv2d",
    attrs={
        "strides": Attr(("ints", 2), (1, 1)),
        "dilations": Attr(("ints", 2), (1, 1)),
        "padding": Attr(("ints", 4), (0, 0, 0, 0)),  # top, left, bottom, right
        "activation": Attr(str, "none", ACTIVATIONS),
    },
    infer_shapes=_shapes,
    num_inputs=(2, 3),
    macs=_macs,
))
