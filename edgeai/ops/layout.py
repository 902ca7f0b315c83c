"""Ops that move data without arithmetic: reshape, transpose, concat, pad, mean over axes."""

import numpy as np

from edgeai.errors import ModelError
from edgeai.ops.registry import Attr, OpDef, register


def _reshape(node, graph):
    x = graph.tensor(node.inputs[0])
    shape = node.attrs["shape"]
    if int(np.prod(shape)) != x.size:
        raise ModelError(f"node {node.name!r} (reshape): cannot reshape {list(x.shape)} to {list(shape)}")
    return [shape]


register(OpDef(name="reshape", attrs={"shape": Attr(("ints", None))}, infer_shapes=_reshape, num_inputs=(1, 1)))


def _transpose(node, graph):
    x = graph.tensor(node.inputs[0]).shape
    perm = node.attrs["perm"]
    if sorted(perm) != list(range(len(x))):
        raise ModelError(f"node {node.name!r} (transpose): perm {list(perm)} does not fit rank {len(x)}")
    return [tuple(x[p] for p in perm)]


register(OpDef(name="transpose", attrs={"perm": Attr(("ints", None))}, infer_shapes=_transpose, num_inputs=(1, 1)))


def _concat(node, graph):
    shapes = [graph.tensor(n).shape for n in node.inputs]
    axis = node.attrs["axis"] % len(shapes[0])
    for s in shapes[1:]:
        if len(s) != len(shapes[0]) or any(a != b for i, (a, b) in enumerate(zip(s, shapes[0])) if i != axis):
            raise ModelError(f"node {node.name!r} (concat): shapes {[list(s) for s in shapes]} differ off axis {axis}")
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    return [tuple(out)]


register(OpDef(name="concat", attrs={"axis": Attr(int)}, infer_shapes=_concat, num_inputs=(1, 1 << 16)))


PAD_MODES = ("constant", "reflect", "edge", "wrap")  # ONNX Pad's modes (numpy's names)


def pad_fits(mode: str, shape, pads) -> bool:
    """Whether one copy of the input is enough: reflect pads an axis of size d by at most d - 1, wrap by d."""
    reach = {"reflect": 1, "wrap": 0}.get(mode)
    return reach is None or all(max(pads[i], pads[i + len(shape)]) <= d - reach for i, d in enumerate(shape))


def _pad(node, graph):
    x = graph.tensor(node.inputs[0]).shape
    pads = node.attrs["pads"]  # before..., after... (ONNX order)
    if len(pads) != 2 * len(x) or min(pads) < 0:
        raise ModelError(f"node {node.name!r} (pad): pads {list(pads)} do not fit rank {len(x)}")
    if not pad_fits(node.attrs["mode"], x, pads):
        raise ModelError(f"node {node.name!r} (pad): {node.attrs['mode']} pads {list(pads)} are too large for "
                         f"shape {list(x)}")
    return [tuple(d + pads[i] + pads[i + len(x)] for i, d in enumerate(x))]


# value: the real number constant mode pads with (an int8 tensor pads with its quantization of it); reflect
# mirrors without repeating the edge, edge repeats it, wrap tiles: these copy values, so int8 needs no arithmetic.
register(OpDef(
    name="pad",
    attrs={"pads": Attr(("ints", None)), "value": Attr(float, 0.0), "mode": Attr(str, "constant", PAD_MODES)},
    infer_shapes=_pad,
    num_inputs=(1, 1),
))


def _mean(node, graph):
    x = graph.tensor(node.inputs[0]).shape
    axes = sorted(a % len(x) for a in node.attrs["axes"])
    if node.attrs["keepdims"]:
        return [tuple(1 if i in axes else d for i, d in enumerate(x))]
    return [tuple(d for i, d in enumerate(x) if i not in axes)]


register(OpDef(
    name="mean",
    attrs={"axes": Attr(("ints", None)), "keepdims": Attr(bool, True)},
    infer_shapes=_mean,
    num_inputs=(1, 1),
    macs=lambda node, graph: graph.tensor(node.inputs[0]).size,
))
