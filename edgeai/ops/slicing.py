"""Ops that pick or repeat parts of a tensor without arithmetic: strided slices (TFLite's STRIDED_SLICE, SLICE,
SPLIT, SPLIT_V and UNPACK all become one each per output) and tile."""

from edgeai.errors import ModelError
from edgeai.ops.registry import Attr, OpDef, register


def _slice(node, graph):
    x = graph.tensor(node.inputs[0]).shape
    a = node.attrs
    begin, strides, sizes, squeeze = a["begin"], a["strides"], a["sizes"], set(a["squeeze"])
    if not len(begin) == len(strides) == len(sizes) == len(x):
        raise ModelError(f"node {node.name!r} (strided_slice): begin {list(begin)}, strides {list(strides)} and "
                         f"sizes {list(sizes)} must each have one value per axis of {list(x)}")
    for axis, (d, b, s, n) in enumerate(zip(x, begin, strides, sizes)):
        last = b + (n - 1) * s
        if s == 0 or n < 0 or (n > 0 and not (0 <= b < d and 0 <= last < d)):
            raise ModelError(f"node {node.name!r} (strided_slice): axis {axis} of size {d}: {n} elements from {b} "
                             f"by {s} fall outside it")
        if axis in squeeze and n != 1:
            raise ModelError(f"node {node.name!r} (strided_slice): squeezed axis {axis} keeps {n} elements, not 1")
    return [tuple(n for axis, n in enumerate(sizes) if axis not in squeeze)]


# output[i] = input[begin + i * strides] per axis (sizes elements along each), then the `squeeze` axes (of one
# element) dropped: every index already resolved against the shape, so the op is the same whatever wrote it.
register(OpDef(
    name="strided_slice",
    attrs={"begin": Attr(("ints", None)), "strides": Attr(("ints", None)), "sizes": Attr(("ints", None)),
           "squeeze": Attr(("ints", None), ())},
    infer_shapes=_slice,
    num_inputs=(1, 1),
))


def _tile(node, graph):
    x = graph.tensor(node.inputs[0]).shape
    multiples = node.attrs["multiples"]
    if len(multiples) != len(x) or min(multiples, default=1) < 1:
        raise ModelError(f"node {node.name!r} (tile): multiples {list(multiples)} must be one positive count per "
                         f"axis of {list(x)}")
    return [tuple(d * m for d, m in zip(x, multiples))]


register(OpDef(name="tile", attrs={"multiples": Attr(("ints", None))}, infer_shapes=_tile, num_inputs=(1, 1)))
