"""Nodes: one operator application. Attributes are validated against the op's registered schema."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping


@dataclass(frozen=True)
class Node:
    name: str
    op: str
    inputs: tuple[str, ...]  # tensor names; "" marks an absent optional input
    outputs: tuple[str, ...]
    attrs: Mapping[str, Any]

    def __post_init__(self):
        from edgeai.ops import get_op  # late: the registry imports the IR

        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        checked = get_op(self.op).check_attrs(self.name, dict(self.attrs))
        object.__setattr__(self, "attrs", MappingProxyType(checked))

    def with_(self, **changes) -> "Node":
        values = dict(name=self.name, op=self.op, inputs=self.inputs, outputs=self.outputs, attrs=dict(self.attrs))
        values.update(changes)
        return Node(**values)

    def __hash__(self):
        return hash((self.name, self.op, self.inputs, self.outputs))
