"""Static memory plan: every activation gets an arena offset fixed at compile time.

Greedy by size (the TFLite Micro planner's idea): buffers are placed largest first, each at the lowest
aligned offset where it overlaps no already-placed buffer that is alive at the same time. Lifetimes are
node indices [first write, last read]. Graph inputs and outputs live in the caller's input and output
blobs, not in the arena; an op marked in-place (a reshape) shares its input's bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from edgeai.ir import Graph

ALIGNMENT = 16  # bytes; lets kernels use word and SIMD loads on every target


@dataclass(frozen=True)
class Buffer:
    name: str
    size: int
    first: int
    last: int


@dataclass(frozen=True)
class Location:
    region: str  # "input", "output" or "arena"
    offset: int


@dataclass(frozen=True)
class MemoryPlan:
    locations: Mapping[str, Location]  # every activation tensor
    arena_size: int
    input_size: int
    output_size: int
    aliases: Mapping[str, str]  # tensor -> tensor whose bytes it reuses

    def overlaps(self, graph: Graph) -> list[tuple[str, str]]:
        """Pairs of arena tensors alive at the same time whose bytes overlap: must be empty."""
        bufs = [b for b in lifetimes(graph, self.aliases) if self.locations[b.name].region == "arena"]
        bad = []
        for i, a in enumerate(bufs):
            for b in bufs[i + 1:]:
                if a.first <= b.last and b.first <= a.last:
                    oa, ob = self.locations[a.name].offset, self.locations[b.name].offset
                    if oa < ob + b.size and ob < oa + a.size:
                        bad.append((a.name, b.name))
        return bad


def _align(n: int) -> int:
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def lifetimes(graph: Graph, aliases: Mapping[str, str]) -> list[Buffer]:
    """One buffer per storage root (aliases folded into their root), spanning every use of the group."""
    first: dict[str, int] = {name: -1 for name in graph.inputs}
    last: dict[str, int] = {}
    for index, node in enumerate(graph.nodes):
        for name in node.outputs:
            first.setdefault(name, index)
        for name in node.inputs:
            if name:
                last[name] = index
    end = len(graph.nodes)
    for name in graph.outputs:
        last[name] = end

    def root(name):
        while name in aliases:
            name = aliases[name]
        return name

    span: dict[str, list[int]] = {}
    for name in first:
        if graph.tensor(name).is_constant:
            continue
        r = root(name)
        lo, hi = first[name], last.get(name, first[name])
        if r in span:
            span[r] = [min(span[r][0], lo), max(span[r][1], hi)]
        else:
            span[r] = [lo, hi]
    return [Buffer(n, graph.tensor(n).nbytes, lo, hi) for n, (lo, hi) in span.items()]


def inplace_aliases(graph: Graph) -> dict[str, str]:
    """Reshapes whose output can share the input's bytes: both in the arena (not a graph input or output)."""
    io = set(graph.inputs) | set(graph.outputs)
    return {
        node.outputs[0]: node.inputs[0]
        for node in graph.nodes
        if node.op == "reshape" and node.inputs[0] not in io and node.outputs[0] not in io
    }


def place(buffers: list[Buffer]) -> tuple[dict[str, int], int]:
    placed: list[tuple[int, Buffer]] = []
    offsets: dict[str, int] = {}
    for buf in sorted(buffers, key=lambda b: (-b.size, b.first, b.name)):
        live = sorted(((o, b) for o, b in placed if b.first <= buf.last and buf.first <= b.last), key=lambda p: p[0])
        offset = 0
        for o, b in live:
            if offset + buf.size <= o:
                break
            offset = max(offset, _align(o + b.size))
        placed.append((offset, buf))
        offsets[buf.name] = offset
    size = max((_align(o + b.size) for o, b in placed), default=0)
    return offsets, size


def plan_memory(graph: Graph) -> MemoryPlan:
    aliases = inplace_aliases(graph)
    locations: dict[str, Location] = {}
    cursor = 0
    for name in graph.inputs:
        locations[name] = Location("input", cursor)
        cursor = _align(cursor + graph.tensor(name).nbytes)
    input_size, cursor = cursor, 0
    for name in graph.outputs:
        if name not in locations:
            locations[name] = Location("output", cursor)
            cursor = _align(cursor + graph.tensor(name).nbytes)
    output_size = cursor
    arena = [b for b in lifetimes(graph, aliases) if b.name not in locations]
    offsets, arena_size = place(arena)
    for name, offset in offsets.items():
        locations[name] = Location("arena", offset)
    for name in aliases:
        r = name
        while r in aliases:
            r = aliases[r]
        locations[name] = locations[r]
    return MemoryPlan(MappingProxyType(locations), arena_size, input_size, output_size, MappingProxyType(aliases))
