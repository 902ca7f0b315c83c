"""The graph: inputs, outputs, tensors by name and nodes in topological order. Passes return new graphs."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Iterable, Mapping

from edgeai.errors import ModelError
from edgeai.ir.node import Node
from edgeai.ir.tensor import Tensor


@dataclass(frozen=True)
class Graph:
    name: str
    tensors: Mapping[str, Tensor]
    nodes: tuple[Node, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    source: str = ""  # the file it came from, for error messages

    def __post_init__(self):
        object.__setattr__(self, "tensors", MappingProxyType(dict(self.tensors)))
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))

    @staticmethod
    def build(name: str, tensors: Iterable[Tensor], nodes: Iterable[Node], inputs, outputs, source="") -> "Graph":
        table: dict[str, Tensor] = {}
        for t in tensors:
            if t.name in table:
                raise ModelError(f"{source or name}: tensor name {t.name!r} is used twice")
            table[t.name] = t
        return Graph(name, table, tuple(nodes), tuple(inputs), tuple(outputs), source)

    def tensor(self, name: str) -> Tensor:
        try:
            return self.tensors[name]
        except KeyError:
            raise ModelError(f"{self.source or self.name}: no tensor named {name!r}") from None

    def producers(self) -> dict[str, Node]:
        return {out: node for node in self.nodes for out in node.outputs}

    def consumers(self) -> dict[str, list[Node]]:
        users: dict[str, list[Node]] = {}
        for node in self.nodes:
            for name in node.inputs:
                if name:
                    users.setdefault(name, []).append(node)
        return users

    def replace(self, *, nodes=None, tensors=None, inputs=None, outputs=None) -> "Graph":
        """A new graph with some parts replaced; tensors no node, input or output uses are dropped."""
        nodes = tuple(self.nodes if nodes is None else nodes)
        table = dict(self.tensors if tensors is None else tensors)
        inputs = tuple(self.inputs if inputs is None else inputs)
        outputs = tuple(self.outputs if outputs is None else outputs)
        used = set(inputs) | set(outputs)
        for node in nodes:
            used.update(n for n in node.inputs if n)
            used.update(node.outputs)
        return Graph(self.name, {k: v for k, v in table.items() if k in used}, nodes, inputs, outputs, self.source)

    def activations(self) -> list[Tensor]:
        """Every non-constant tensor: what the memory plan must place."""
        return [t for t in self.tensors.values() if not t.is_constant]

    def constants(self) -> list[Tensor]:
        return [t for t in self.tensors.values() if t.is_constant]
