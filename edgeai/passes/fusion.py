"""Fusions that exporters leave undone: a bias added after a matmul/conv, an activation after an op."""

from __future__ import annotations

from edgeai.ir import Graph, Node, Quantization
from edgeai.passes.base import PassResult

_WITH_BIAS = ("conv2d", "depthwise_conv2d", "fully_connected")
_ACTIVATIONS = {"relu": "relu", "relu6": "relu6"}


def _sole_user(graph, consumers, name):
    users = consumers.get(name, [])
    return users[0] if len(users) == 1 and name not in graph.outputs else None


def fold_bias_add(graph: Graph) -> PassResult:
    """op(x, w) then add(·, b) with b constant per output channel → op(x, w, b).

    b may be a float constant or dequantize(int32 constant) (QDQ models): the bias keeps its integers."""
    producers, consumers = graph.producers(), graph.consumers()
    tensors = dict(graph.tensors)
    replace: dict[str, Node | None] = {}
    extra: dict[str, list[Node]] = {}
    for node in graph.nodes:
        if node.op not in _WITH_BIAS or len(node.inputs) > 2:
            continue
        add = _sole_user(graph, consumers, node.outputs[0])
        if add is None or add.op != "add" or add.attrs["activation"] != "none":
            continue
        other = add.inputs[1] if add.inputs[0] == node.outputs[0] else add.inputs[0]
        channels = graph.tensor(node.outputs[0]).shape[-1]
        t = graph.tensor(other)
        if t.size != channels or (len(t.shape) and t.shape[-1] != channels):
            continue
        if t.is_constant:
            bias = f"{other}:bias"
            tensors[bias] = t.with_(name=bias, shape=(channels,), data=t.data.reshape(channels))
            new_nodes = []
        else:
            dq = producers.get(other)
            src = graph.tensor(dq.inputs[0]) if dq is not None and dq.op == "dequantize" else None
            if src is None or not src.is_constant or src.dtype != "int32":
                continue
            q = src.quant
            qb = f"{src.name}:bias"
            tensors[qb] = src.with_(name=qb, shape=(channels,), data=src.data.reshape(channels),
                                    quant=Quantization(q.scale, q.zero_point, 0 if not q.per_tensor else None))
            bias = f"{other}:bias"
            tensors[bias] = t.with_(name=bias, shape=(channels,))
            new_nodes = [Node(f"{dq.name}:bias", "dequantize", (qb,), (bias,), {})]
        replace[node.name] = node.with_(inputs=node.inputs + (bias,), outputs=add.outputs)
        replace[add.name] = None
        extra[node.name] = new_nodes
    if not replace:
        return PassResult(graph, False)
    nodes = []
    for node in graph.nodes:
        if node.name in replace:
            nodes += extra.get(node.name, [])
            if replace[node.name] is not None:
                nodes.append(replace[node.name])
        else:
            nodes.append(node)
    return PassResult(graph.replace(nodes=nodes, tensors=tensors), True)


def fuse_activation(graph: Graph) -> PassResult:
    """A float op with a fused-activation attribute followed by its only reader relu/relu6 takes it in."""
    consumers = graph.consumers()
    replace: dict[str, Node | None] = {}
    for node in graph.nodes:
        if "activation" not in node.attrs or node.attrs["activation"] != "none" or node.name in replace:
            continue
        if graph.tensor(node.outputs[0]).dtype != "float32":
            continue
        act = _sole_user(graph, consumers, node.outputs[0])
        if act is None or act.op not in _ACTIVATIONS:
            continue
        replace[node.name] = node.with_(outputs=act.outputs, attrs={**node.attrs, "activation": _ACTIVATIONS[act.op]})
        replace[act.name] = None
    if not replace:
        return PassResult(graph, False)
    nodes = [replace.get(n.name, n) for n in graph.nodes if replace.get(n.name, n) is not None]
    return PassResult(graph.replace(nodes=nodes), True)
