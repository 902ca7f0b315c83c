"""TFLite operators that cut tensors: STRIDED_SLICE, SLICE, SPLIT, SPLIT_V, UNPACK, and TILE that repeats one.

Each output becomes one strided_slice node (edgeai/ops/slicing.py) whose begin, strides and sizes are resolved
here against the input's shape, with TFLite's rules for masks, negative indices and clamping
(strided_slice_logic.h's StartForAxis / StopForAxis)."""

from __future__ import annotations

import numpy as np

from edgeai.errors import ModelError, UnsupportedOpError


def const_ints(r, name: str, what: str) -> list[int]:
    """A constant integer input as a list; a computed one is a model we cannot compile (shapes are static)."""
    try:
        return [int(v) for v in np.atleast_1d(r.const(name)).reshape(-1)]
    except ModelError:
        raise UnsupportedOpError(f"the {what} ({name!r}) is computed at run time; only a constant is supported") \
            from None


def _axis(axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise ModelError(f"axis {axis} is outside a rank-{rank} input")
    return axis % rank


def _axis_range(d: int, begin: int, end: int, stride: int, begin_masked: bool, end_masked: bool,
                shrink: bool) -> tuple[int, int]:
    """(first index, count) along an axis of size d, as TFLite resolves a STRIDED_SLICE."""
    if stride == 0:
        raise ModelError("a stride is 0")
    lo, hi = (0, d) if stride > 0 else (-1, d - 1)
    start = (0 if stride > 0 else d - 1) if begin_masked else begin + d if begin < 0 else begin
    start = min(max(start, lo), hi)
    if shrink:
        if not 0 <= start < d:
            raise ModelError(f"index {begin} is outside an axis of size {d}")
        return start, 1
    stop = (d if stride > 0 else -1) if end_masked else end + d if end < 0 else end
    stop = min(max(stop, lo), hi)
    count = max(0, -(-(stop - start) // stride))  # ceil((stop - start) / stride), either sign of stride
    return start, count


def _slice_node(ins, out, begin, strides, sizes, squeeze=()):
    if 0 in sizes:
        raise UnsupportedOpError(f"output {out!r} is empty (sizes {list(sizes)})")
    return ("strided_slice", ins[:1], out, dict(begin=tuple(begin), strides=tuple(strides), sizes=tuple(sizes),
                                                squeeze=tuple(squeeze)))


def _strided_slice(r, op, ins, outs):
    o = r.options(op, "StridedSliceOptions")
    if o.EllipsisMask() or o.NewAxisMask():
        raise UnsupportedOpError(f"ellipsis_mask {o.EllipsisMask()} / new_axis_mask {o.NewAxisMask()} are not "
                                 f"supported: give begin, end and strides for every axis (TensorFlow's converter does for Keras slicing)")
    if o.Offset():
        raise UnsupportedOpError("offset=true (end relative to begin) is not supported")
    shape = r.shape_of(ins[0])
    begin, end, strides = (const_ints(r, n, what) for n, what in zip(ins[1:4], ("begin", "end", "strides")))
    rank = len(shape)
    if not len(begin) == len(end) == len(strides) <= rank:
        raise ModelError(f"begin {begin}, end {end} and strides {strides} do not fit a rank-{rank} input")
    pad = rank - len(begin)  # axes not given are taken whole
    begin, end, strides = begin + [0] * pad, end + [0] * pad, strides + [1] * pad
    first, counts, squeeze = [], [], []
    for axis, d in enumerate(shape):
        bit = 1 << axis
        given = axis < rank - pad
        shrink = given and bool(o.ShrinkAxisMask() & bit)
        start, count = _axis_range(d, begin[axis], end[axis], strides[axis], not given or bool(o.BeginMask() & bit),
                                   not given or bool(o.EndMask() & bit), shrink)
        first.append(start)
        counts.append(count)
        if shrink:
            squeeze.append(axis)
    steps = [1 if axis in squeeze else s for axis, s in enumerate(strides)]
    return [_slice_node(ins, outs[0], first, steps, counts, squeeze)]


def _slice(r, op, ins, outs):
    shape = r.shape_of(ins[0])
    begin, size = const_ints(r, ins[1], "begin"), const_ints(r, ins[2], "size")
    if not len(begin) == len(size) == len(shape):
        raise ModelError(f"begin {begin} and size {size} do not fit input {list(shape)}")
    size = [d - b if n == -1 else n for d, b, n in zip(shape, begin, size)]
    return [_slice_node(ins, outs[0], begin, [1] * len(shape), size)]


def _pieces(ins, outs, shape, axis, lengths, squeeze=False):
    """One slice node per output: consecutive pieces of `lengths` along `axis`."""
    if sum(lengths) != shape[axis] or len(lengths) != len(outs):
        raise ModelError(f"{len(outs)} outputs of sizes {lengths} do not split axis {axis} of {list(shape)}")
    nodes, offset = [], 0
    for out, n in zip(outs, lengths):
        begin = [offset if a == axis else 0 for a in range(len(shape))]
        sizes = [n if a == axis else d for a, d in enumerate(shape)]
        nodes.append(_slice_node([ins[0]], out, begin, [1] * len(shape), sizes, (axis,) if squeeze else ()))
        offset += n
    return nodes


def _split(r, op, ins, outs):
    shape = r.shape_of(ins[1])
    axis = _axis(const_ints(r, ins[0], "axis")[0], len(shape))
    if shape[axis] % len(outs):
        raise ModelError(f"axis {axis} of {list(shape)} does not split into {len(outs)} equal parts")
    return _pieces(ins[1:], outs, shape, axis, [shape[axis] // len(outs)] * len(outs))


def _split_v(r, op, ins, outs):
    shape = r.shape_of(ins[0])
    axis = _axis(const_ints(r, ins[2], "axis")[0], len(shape))
    lengths = const_ints(r, ins[1], "size_splits")
    if lengths.count(-1) == 1:  # the one unknown size takes the rest
        lengths[lengths.index(-1)] = shape[axis] - (sum(lengths) + 1)
    return _pieces(ins, outs, shape, axis, lengths)


def _unpack(r, op, ins, outs):
    shape = r.shape_of(ins[0])
    axis = _axis(r.options(op, "UnpackOptions").Axis(), len(shape))
    return _pieces(ins, outs, shape, axis, [1] * shape[axis], squeeze=True)


def _tile(r, op, ins, outs):
    return "tile", ins[:1], dict(multiples=tuple(const_ints(r, ins[1], "multiples")))


CONVERTERS = {"STRIDED_SLICE": _strided_slice, "SLICE": _slice, "SPLIT": _split, "SPLIT_V": _split_v,
              "UNPACK": _unpack, "TILE": _tile}
