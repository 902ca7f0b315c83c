"""Small helpers the passes share: bypass a node (its readers read its input instead), sole readers."""

from __future__ import annotations

from edgeai.ir import Graph, Node


def sole_user(graph: Graph, name: str, consumers=None) -> Node | None:
    """The one node reading `name`, or None if several do or it is a graph output."""
    users = (consumers if consumers is not None else graph.consumers()).get(name, [])
    return users[0] if len(users) == 1 and name not in graph.outputs else None


def rename_inputs(nodes, mapping: dict[str, str]) -> list[Node]:
    if not mapping:
        return list(nodes)
    return [n.with_(inputs=tuple(mapping.get(i, i) for i in n.inputs)) if any(i in mapping for i in n.inputs) else n
            for n in nodes]


def bypass(graph: Graph, node: Node) -> Graph | None:
    """The graph without `node`, whose output is the same values as its first input (a no-op).

    Readers of the output read the input instead. When the output is a graph output, the producer of the
    input is renamed to write it directly; if that is impossible (the input is a graph input, a constant or
    itself an output, or another node reads it) None is returned and the node must stay."""
    src, dst = node.inputs[0], node.outputs[0]
    nodes = [n for n in graph.nodes if n is not node]
    if dst not in graph.outputs:
        return graph.replace(nodes=rename_inputs(nodes, {dst: src}))
    producer = graph.producers().get(src)
    readers = [n for n in graph.consumers().get(src, []) if n is not node]
    if producer is None or src in graph.outputs or readers:
        return None
    tensors = dict(graph.tensors)
    tensors[dst] = tensors[src].with_(name=dst)
    nodes = [n.with_(outputs=tuple(dst if o == src else o for o in n.outputs)) if n is producer else n for n in nodes]
    return graph.replace(nodes=nodes, tensors=tensors)


def fixpoint(step, graph: Graph, limit: int = 10_000):
    """Apply `step(graph) -> new graph or None` until it returns None; returns (graph, modified)."""
    modified = False
    for _ in range(limit):
        new = step(graph)
        if new is None:
            return graph, modified
        graph, modified = new, True
    raise RuntimeError(f"{step.__name__} did not converge")
