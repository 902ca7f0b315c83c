"""resize_nearest and resize_bilinear: NHWC images to a new height and width, with TFLite's two coordinate
flags (align_corners: the corner pixels' centres map onto each other; half_pixel_centers: pixel centres at +0.5)."""

from edgeai.errors import ModelError
from edgeai.ops.registry import Attr, OpDef, register


def _shapes(node, graph):
    x = graph.tensor(node.inputs[0]).shape
    h, w = node.attrs["size"]
    if len(x) != 4 or h < 1 or w < 1:
        raise ModelError(f"node {node.name!r} ({node.op}): needs a 4-D NHWC input and a positive size, got "
                         f"{list(x)} and {[h, w]}")
    if node.attrs["align_corners"] and node.attrs["half_pixel_centers"]:
        raise ModelError(f"node {node.name!r} ({node.op}): align_corners and half_pixel_centers exclude each other")
    return [(x[0], h, w, x[3])]


for _name, _taps in (("resize_nearest", 1), ("resize_bilinear", 4)):
    register(OpDef(
        name=_name,
        attrs={"size": Attr(("ints", 2)), "align_corners": Attr(bool, False), "half_pixel_centers": Attr(bool, False)},
        infer_shapes=_shapes,
        num_inputs=(1, 1),
        macs=lambda node, graph, taps=_taps: graph.tensor(node.outputs[0]).size * taps,
    ))
