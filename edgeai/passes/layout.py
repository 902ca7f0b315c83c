"""Layout passes: fold transposes (compose, cancel, push through elementwise ops, into constants) and
remove reshapes that do not change anything.

Both rewrite one site at a time until nothing matches; dead nodes they leave behind are dropped.
"""

from __future__ import annotations

import numpy as np

from edgeai.ir import Graph, Node, Quantization
from edgeai.ops._shapes import broadcast
from edgeai.passes.base import PassResult
from edgeai.passes.cleanup import eliminate_dead_nodes
from edgeai.passes.rewrite import bypass, fixpoint, sole_user

UNARY = ("relu", "relu6", "sigmoid", "tanh", "clip")
BINARY = ("add", "sub", "mul")


def _unique(taken, base: str) -> str:
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}:{n}"
    return name


def _only_unit_axes_move(shape, perm) -> bool:
    moved = [p for p in perm if shape[p] != 1]
    return moved == sorted(moved)


def _permute_const(t, perm, rank, name):
    """Constant `t` broadcast to `rank` and transposed by `perm` (its quantization axis follows)."""
    lead = rank - len(t.shape)
    data = np.ascontiguousarray(np.transpose(t.data.reshape((1,) * lead + t.shape), perm))
    quant = t.quant
    if quant is not None and quant.axis is not None:
        quant = Quantization(quant.scale, quant.zero_point, list(perm).index(quant.axis + lead))
    return t.with_(name=name, shape=data.shape, data=data, quant=quant)


def _transpose_step(graph: Graph) -> Graph | None:
    producers, consumers = graph.producers(), graph.consumers()
    for node in graph.nodes:
        if node.op != "transpose":
            continue
        perm = tuple(node.attrs["perm"])
        x = graph.tensor(node.inputs[0])
        out = node.outputs[0]
        if x.is_constant and out not in graph.outputs:  # into the constant
            tensors = dict(graph.tensors)
            tensors[out] = tensors[out].with_(data=np.ascontiguousarray(np.transpose(x.data, perm)))
            return graph.replace(nodes=[n for n in graph.nodes if n is not node], tensors=tensors)
        if perm == tuple(range(len(perm))):  # identity
            new = bypass(graph, node)
            if new is not None:
                return new
            continue
        if _only_unit_axes_move(x.shape, perm):  # the bytes stay where they are: a reshape
            shape = graph.tensor(out).shape
            return graph.replace(nodes=[node.with_(op="reshape", attrs={"shape": shape}) if n is node else n
                                        for n in graph.nodes])
        src = producers.get(node.inputs[0])
        if src is not None and src.op == "transpose":  # transpose of a transpose: one transpose
            first = src.attrs["perm"]
            merged = node.with_(inputs=src.inputs, attrs={"perm": tuple(first[p] for p in perm)})
            return eliminate_dead_nodes(graph.replace(nodes=[merged if n is node else n for n in graph.nodes])).graph
        user = sole_user(graph, out, consumers)
        if user is not None and (user.op in UNARY or user.op in BINARY):
            new = _push_through(graph, node, user, producers)
            if new is not None:
                return new
    return None


def _push_through(graph: Graph, tr: Node, user: Node, producers) -> Graph | None:
    """user(transpose(x), other) → transpose(user(x, other')): the transpose moves towards its inverse."""
    perm = tuple(tr.attrs["perm"])
    inv = tuple(perm.index(i) for i in range(len(perm)))
    rank = len(perm)
    tensors = dict(graph.tensors)
    inputs = []
    for name in user.inputs:
        if name == tr.outputs[0]:
            inputs.append(tr.inputs[0])
            continue
        t = graph.tensor(name)
        other = producers.get(name)
        if t.is_constant and len(t.shape) <= rank:
            moved = _unique(tensors, f"{name}:{''.join(map(str, inv))}")
            tensors[moved] = _permute_const(t, inv, rank, moved)
            inputs.append(moved)
        elif other is not None and other.op == "transpose" and tuple(other.attrs["perm"]) == perm:
            inputs.append(other.inputs[0])
        else:
            return None
    out = tensors[user.outputs[0]]
    shape = tensors[inputs[0]].shape
    for name in inputs[1:]:
        shape = broadcast(shape, tensors[name].shape) if shape is not None else None
    if shape is None or len(shape) != rank or tuple(shape[p] for p in perm) != out.shape:
        return None
    early = _unique(tensors, f"{out.name}:{''.join(map(str, inv))}")
    tensors[early] = out.with_(name=early, shape=shape)
    names = {n.name for n in graph.nodes}
    moved_user = user.with_(inputs=tuple(inputs), outputs=(early,))
    moved_tr = Node(_unique(names, f"{tr.name}:after:{user.name}"), "transpose", (early,), user.outputs,
                    {"perm": perm})
    nodes = []
    for n in graph.nodes:
        if n is user:
            nodes += [moved_user, moved_tr]
        elif n is not tr:
            nodes.append(n)
    return eliminate_dead_nodes(graph.replace(nodes=nodes, tensors=tensors)).graph


def fold_transposes(graph: Graph) -> PassResult:
    """Transposes of constants become constants; transpose pairs compose and cancel; a transpose moves
    below the unary/binary elementwise op that is its only reader; one that only moves size-1 axes is a reshape."""
    graph, modified = fixpoint(_transpose_step, graph)
    if modified:
        graph = eliminate_dead_nodes(graph).graph
    return PassResult(graph, modified)


def _reshape_step(graph: Graph) -> Graph | None:
    producers, consumers = graph.producers(), graph.consumers()
    for node in graph.nodes:
        if node.op != "reshape":
            continue
        x, y = graph.tensor(node.inputs[0]), graph.tensor(node.outputs[0])
        if x.shape == y.shape and x.dtype == y.dtype:
            if x.quant == y.quant:  # changes nothing
                new = bypass(graph, node)
                if new is not None:
                    return new
                continue
            if x.quant is None and not x.is_constant and len(consumers.get(x.name, [])) == 1 \
                    and x.name not in graph.outputs:  # only labels x with the quantization it is read with
                new = bypass(graph.replace(tensors={**graph.tensors, x.name: x.with_(quant=y.quant)}), node)
                if new is not None:
                    return new
        src = producers.get(node.inputs[0])
        if src is not None and src.op == "reshape":  # reshape of a reshape: one reshape
            return eliminate_dead_nodes(graph.replace(nodes=[node.with_(inputs=src.inputs) if n is node else n
                                                             for n in graph.nodes])).graph
        user = sole_user(graph, y.name, consumers)
        if (user is not None and user.op == "fully_connected" and user.inputs[0] == y.name
                and not user.attrs["keep_num_dims"] and len(y.shape) == 2
                and y.shape[1] == graph.tensor(user.inputs[1]).shape[1] and x.quant == y.quant):
            return bypass(graph, node)  # fully_connected reads its input as [rows, in] whatever its shape
    return None


def remove_noop_reshapes(graph: Graph) -> PassResult:
    """Reshapes to the same shape go; reshape chains become one reshape; a flatten before a
    fully_connected goes (the op reads its input flattened)."""
    graph, modified = fixpoint(_reshape_step, graph)
    if modified:
        graph = eliminate_dead_nodes(graph).graph
    return PassResult(graph, modified)
