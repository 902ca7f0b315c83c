"""Graph clean-up: drop nodes nobody reads, fold constant dequantize and reshape nodes."""

from __future__ import annotations

import numpy as np

from edgeai.ir import Graph, Tensor
from edgeai.passes.base import PassResult


def eliminate_dead_nodes(graph: Graph) -> PassResult:
    needed = set(graph.outputs)
    kept = []
    for node in reversed(graph.nodes):
        if any(o in needed for o in node.outputs):
            kept.append(node)
            needed.update(n for n in node.inputs if n)
    kept.reverse()
    return PassResult(graph.replace(nodes=kept), len(kept) != len(graph.nodes))


def _dequantized(t: Tensor, out: Tensor) -> np.ndarray:
    q = t.quant
    data = t.data.astype(np.float64)
    scale, zp = np.asarray(q.scale), np.asarray(q.zero_point, np.float64)
    if q.axis is not None:
        shape = [1] * data.ndim
        shape[q.axis] = -1
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    return ((data - zp) * scale).astype(np.float32)


def fold_constants(graph: Graph) -> PassResult:
    """dequantize/reshape/transpose of a constant becomes a constant (weights no int8 op consumed)."""
    tensors = dict(graph.tensors)
    nodes, changed = [], False
    for node in graph.nodes:
        src = tensors.get(node.inputs[0]) if node.inputs else None
        if src is not None and src.is_constant and node.op in ("dequantize", "reshape", "transpose") and len(node.inputs) == 1:
            out = tensors[node.outputs[0]]
            if node.op == "dequantize" and src.quant is not None:
                data = _dequantized(src, out)
            elif node.op == "reshape":
                data = src.data.reshape(out.shape)
            elif node.op == "transpose":
                data = np.transpose(src.data, node.attrs["perm"])
            else:
                nodes.append(node)
                continue
            tensors[out.name] = out.with_(data=np.ascontiguousarray(data.astype(out.dtype)))
            changed = True
            continue
        nodes.append(node)
    return PassResult(graph.replace(nodes=nodes, tensors=tensors), changed)
