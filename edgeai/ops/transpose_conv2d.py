"""transpose_conv2d: NHWC input, OHWI weights, optional bias, fused activation; the output size is given (as in
TFLite, where several sizes share one input size), and so is the padding before each spatial axis.

output[n, y, x, o] = sum of input[n, i, j, c] * weights[o, ky, kx, c] over every (i, ky) with
i * stride + ky - pad_top = y (and the same for columns): each input pixel spreads its kernel-sized patch over the
output, `stride` apart, and what falls outside the output is dropped."""

from edgeai.errors import ModelError
from edgeai.ops._shapes import check_bias, check_window
from edgeai.ops.registry import ACTIVATIONS, Attr, OpDef, register


def _shapes(node, graph):
    x, w = graph.tensor(node.inputs[0]).shape, graph.tensor(node.inputs[1]).shape
    if len(x) != 4 or len(w) != 4 or w[3] != x[3]:
        raise ModelError(f"node {node.name!r} (transpose_conv2d): input {list(x)} and weights {list(w)} do not fit "
                         f"(NHWC input, OHWI weights)")
    check_bias(node, graph, w[0])
    check_window(node)
    h, w_out = node.attrs["size"]
    if min(h, w_out) < 1 or min(node.attrs["pad_before"]) < 0:
        raise ModelError(f"node {node.name!r} (transpose_conv2d): output size {[h, w_out]} and padding "
                         f"{list(node.attrs['pad_before'])} must be positive")
    return [(x[0], h, w_out, w[0])]


def _macs(node, graph):
    x, w = graph.tensor(node.inputs[0]).shape, graph.tensor(node.inputs[1]).shape
    return x[0] * x[1] * x[2] * x[3] * w[0] * w[1] * w[2]  # every input value times its whole patch


register(OpDef(
    name="transpose_conv2d",
    attrs={
        "strides": Attr(("ints", 2), (1, 1)),
        "pad_before": Attr(("ints", 2), (0, 0)),  # top, left
        "size": Attr(("ints", 2)),  # output height, width
        "activation": Attr(str, "none", ACTIVATIONS),
    },
    infer_shapes=_shapes,
    num_inputs=(2, 3),
    macs=_macs,
))
