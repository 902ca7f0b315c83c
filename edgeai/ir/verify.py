"""Checks a graph is well formed; every message names the node or tensor at fault."""

from __future__ import annotations

from edgeai.errors import ModelError
from edgeai.ir.graph import Graph


def verify(graph: Graph) -> Graph:
    from edgeai.ops import get_op

    where = graph.source or graph.name
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
        expected = get_op(node.op).infer_shapes(node, graph)
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
