"""Checks a graph is well formed; every message names the node or tensor at fault."""

from __future__ import annotations

import math

import numpy as np

from edgeai.errors import ModelError
from edgeai.ir.graph import Graph

# The largest byte size any tensor may have: its element count times item size must fit an int64, or every size
# computed from it (memory plan, analysis, TVM's buffers) wraps around.
MAX_TENSOR_BYTES = (1 << 63) - 1


def verify(graph: Graph) -> Graph:
    from edgeai.ops import get_op

    where = graph.source or graph.name
    if not graph.outputs:
        raise ModelError(f"{where}: the graph has no outputs: nothing would be computed")
    for tensor in graph.tensors.values():
        check_tensor(tensor, where)
    defined = set(graph.inputs) | {t.name for t in graph.constants()}
    for name in graph.inputs:
        graph.tensor(name)
    for node in graph.nodes:
        for name in node.inputs:
            if name and name not in defined:
                raise ModelError(f"{where}: node {node.name!r} ({node.op}) reads {name!r} before anything writes it")
        for name in node.outputs:
            if name in defined:
                raise ModelError(f"{where}: tensor {name!r} written twice (again by node {node.name!r})")
            defined.add(name)
        try:
            expected = get_op(node.op).infer_shapes(node, graph)
        except ModelError as e:  # the op names the node; the file is named here
            raise type(e)(_at(where, e)) from None
        for name, shape in zip(node.outputs, expected):
            actual = graph.tensor(name).shape
            if tuple(actual) != tuple(shape):
                raise ModelError(
                    f"{where}: node {node.name!r} ({node.op}) output {name!r} has shape {list(actual)}, "
                    f"its inputs give {list(shape)}"
                )
    for name in graph.outputs:
        if name not in defined:
            raise ModelError(f"{where}: graph output {name!r} is never computed")
    return graph


def _at(where: str, error: Exception) -> str:
    text = str(error)
    return text if text.startswith(where) else f"{where}: {text}"


def check_tensor(tensor, where: str) -> None:
    """A tensor's size fits an int64 and its quantization fits it: one scale per tensor or per channel of an axis
    it has, zero points its dtype can hold (a file stores them as int64; a reader that narrows them computes
    something else)."""
    nbytes = math.prod(tensor.shape) * np.dtype(tensor.dtype).itemsize
    if nbytes > MAX_TENSOR_BYTES:
        raise ModelError(f"{where}: tensor {tensor.name!r} has shape {list(tensor.shape)}: {nbytes:.3g} bytes, past "
                         f"what a 64-bit size can count")
    q = tensor.quant
    if q is None:
        return
    if q.axis is not None:
        if not 0 <= q.axis < len(tensor.shape):
            raise ModelError(f"{where}: tensor {tensor.name!r} {list(tensor.shape)} is quantized along axis {q.axis}, "
                             f"which it does not have")
        if len(q.scale) not in (1, tensor.shape[q.axis]):
            raise ModelError(f"{where}: tensor {tensor.name!r} has {len(q.scale)} scales; its quantized axis {q.axis} "
                             f"has {tensor.shape[q.axis]} channels (one scale, or one per channel)")
    if tensor.dtype in ("int8", "uint8", "int16", "int32"):
        info = np.iinfo(tensor.dtype)
        bad = [z for z in q.zero_point if not info.min <= z <= info.max]
        if bad:
            raise ModelError(f"{where}: tensor {tensor.name!r} ({tensor.dtype}) has zero point {bad[0]}, outside "
                             f"[{info.min}, {info.max}]")
