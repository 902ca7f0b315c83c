"""average_pool2d and max_pool2d over NHWC, explicit padding (padded cells are not counted in averages)."""

from edgeai.errors import ModelError
from edgeai.ops._shapes import check_window, window_output
from edgeai.ops.registry import ACTIVATIONS, Attr, OpDef, register


def _shapes(node, graph):
    x = graph.tensor(node.inputs[0]).shape
    if len(x) != 4:
        raise ModelError(f"node {node.name!r} ({node.op}): needs a 4-D NHWC input, got {list(x)}")
    check_window(node)
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = node.attrs["kernel"], node.attrs["strides"], node.attrs["padding"]
    return [(x[0], window_output(x[1], kh, sh, 1, pt, pb), window_output(x[2], kw, sw, 1, pl, pr), x[3])]


def _macs(node, graph):
    kh, kw = node.attrs["kernel"]
    return graph.tensor(node.outputs[0]).size * kh * kw


for _name in ("average_pool2d", "max_pool2d"):
    register(OpDef(
        name=_name,
        attrs={
            "kernel": Attr(("ints", 2)),
            "strides": Attr(("ints", 2), (1, 1)),
            "padding": Attr(("ints", 4), (0, 0, 0, 0)),
            "activation": Attr(str, "none", ACTIVATIONS),
        },
        infer_shapes=_shapes,
        num_inputs=(1, 1),
        macs=_macs,
    ))
