"""Intermediate tensors made graph outputs, after the model's own: the memory plan then keeps each one in the
output blob, where the caller (edgeai validate --per-layer) reads every layer's value after a run."""

from __future__ import annotations

from edgeai.errors import ModelError
from edgeai.ir import Graph
from edgeai.passes.base import PassResult


def expose_outputs(graph: Graph, names) -> PassResult:
    """`graph` with the tensors `names` (node outputs, in order) appended to its outputs; a name that is already
    an output is not repeated. Runs after the default pipeline: before it, an output would stop fusions."""
    produced = {out for node in graph.nodes for out in node.outputs}
    extra = []
    for name in names:
        if name not in produced:
            raise ModelError(f"{graph.source or graph.name}: no layer computes a tensor named {name!r}")
        if name not in graph.outputs and name not in extra:
            extra.append(name)
    if not extra:
        return PassResult(graph, False)
    return PassResult(graph.replace(outputs=graph.outputs + tuple(extra)), True)
