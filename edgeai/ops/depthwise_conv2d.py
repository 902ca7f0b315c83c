"""depthwise_conv2d: NHWC input, weights [1, KH, KW, C*multiplier], optional bias, fused activation."""

from edgeai.errors import ModelError
from edgeai.ops._shapes import check_bias, check_window, window_output
from edgeai.ops.registry import ACTIVATIONS, Attr, OpDef, register


def _shapes(node, graph):
    x, w = graph.tensor(node.inputs[0]).shape, graph.tensor(node.inputs[1]).shape
    mult = node.attrs["depth_multiplier"]
    if len(x) != 4 or len(w) != 4 or w[0] != 1 or w[3] != x[3] * mult:
        raise ModelError(
            f"node {node.name!r} (depthwise_conv2d): input {list(x)} and weights {list(w)} "
            f"do not match depth multiplier {mult}"
        )
    check_bias(node, graph, w[3])
    check_window(node)
    (sh, sw), (dh, dw), (pt, pl, pb, pr) = node.attrs["strides"], node.attrs["dilations"], node.attrs["padding"]
    return [(x[0], window_output(x[1], w[1], sh, dh, pt, pb), window_output(x[2], w[2], sw, dw, pl, pr), w[3])]


def _macs(node, graph):
    out = graph.tensor(node.outputs[0]).shape
    w = graph.tensor(node.inputs[1]).shape
    return out[0] * out[1] * out[2] * out[3] * w[1] * w[2]


DEPTHWISE_CONV2D = register(OpDef(
    name="depthwise_conv2d",
    attrs={
        "strides": Attr(("ints", 2), (1, 1)),
        "dilations": Attr(("ints", 2), (1, 1)),
        "padding": Attr(("ints", 4), (0, 0, 0, 0)),
        "depth_multiplier": Attr(int, 1),
        "activation": Attr(str, "none", ACTIVATIONS),
    },
    infer_shapes=_shapes,
    num_inputs=(2, 3),
    macs=_macs,
))
