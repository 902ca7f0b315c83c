"""The pass contract: a pass takes a Graph and returns PassResult(new graph, modified); it never mutates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from edgeai.errors import ModelError
from edgeai.ir import Graph, verify


@dataclass(frozen=True)
class PassResult:
    graph: Graph
    modified: bool


Pass = Callable[[Graph], PassResult]


def run_passes(graph: Graph, passes: Sequence[Pass], debug: bool = False) -> Graph:
    """Apply the passes in order; in debug mode verify after each and name the pass that broke the graph."""
    for p in passes:
        result = p(graph)
        if debug and result.modified:
            try:
                verify(result.graph)
            except ModelError as e:
                raise ModelError(f"after pass {p.__name__}: {e}") from None
        graph = result.graph
    return graph
