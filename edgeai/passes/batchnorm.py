"""Fold batch normalization into the op before it.

The ONNX frontend imports BatchNormalization as mul(x, k) then add(·, b - mean·k) with per-channel
constants k = gamma / sqrt(var + eps). When x is a float conv2d / depthwise_conv2d / fully_connected
with no fused activation and nobody else reads it, k scales the weights' output channels and the bias,
and the shift is added to the bias: the two elementwise nodes disappear (an activation fused into
either moves to the op).
"""

from __future__ import annotations

import numpy as np

from edgeai.ir import Graph, Tensor
from edgeai.passes.base import PassResult
from edgeai.passes.rewrite import fixpoint, sole_user

_OPS = ("conv2d", "depthwise_conv2d", "fully_connected")


def _per_channel(graph: Graph, node, producer_out: str, channels: int) -> np.ndarray | None:
    """The other operand of binary `node` as a float vector over the output channels, if it is one."""
    other = node.inputs[1] if node.inputs[0] == producer_out else node.inputs[0]
    if other == producer_out:
        return None
    t = graph.tensor(other)
    out_rank = len(graph.tensor(producer_out).shape)
    if not t.is_constant or t.dtype != "float32" or len(t.shape) > out_rank:
        return None
    if t.size == 1:
        return np.full(channels, t.data.reshape(-1)[0], np.float32)
    if t.size == channels and t.shape[-1] == channels:
        return t.data.reshape(channels)
    return None


def _scale_weights(op: str, w: np.ndarray, k: np.ndarray) -> np.ndarray:
    if op == "depthwise_conv2d":  # [1, KH, KW, C*mult]: output channels last
        return w * k.reshape(1, 1, 1, -1)
    return w * k.reshape((-1,) + (1,) * (w.ndim - 1))  # OHWI / [out, in]: output channels first


def _fold_step(graph: Graph) -> Graph | None:
    consumers = graph.consumers()
    for node in graph.nodes:
        if node.op not in _OPS or node.attrs["activation"] != "none":
            continue
        w = graph.tensor(node.inputs[1])
        bias = graph.tensor(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
        if not w.is_constant or w.dtype != "float32" or (bias is not None and (not bias.is_constant
                                                                                or bias.dtype != "float32")):
            continue
        out = node.outputs[0]
        channels = graph.tensor(out).shape[-1]
        user = sole_user(graph, out, consumers)
        if user is None or user.op not in ("mul", "add"):
            continue
        vec = _per_channel(graph, user, out, channels)
        if vec is None or graph.tensor(user.outputs[0]).shape != graph.tensor(out).shape:
            continue
        b = bias.data if bias is not None else np.zeros(channels, np.float32)
        tensors = dict(graph.tensors)
        if user.op == "mul":
            wname = f"{w.name}:scaled:{user.name}"
            tensors[wname] = Tensor(wname, w.shape, "float32", _scale_weights(node.op, w.data, vec).astype(np.float32))
            b = b * vec
        else:
            wname = w.name
            b = b + vec
        bname = f"{node.name}:bias:{user.name}"
        tensors[bname] = Tensor(bname, (channels,), "float32", b.astype(np.float32))
        folded = node.with_(inputs=(node.inputs[0], wname, bname), outputs=user.outputs,
                            attrs={**node.attrs, "activation": user.attrs["activation"]})
        nodes = [folded if n is node else n for n in graph.nodes if n is not user]
        return graph.replace(nodes=nodes, tensors=tensors)
    return None


def fold_batch_norm(graph: Graph) -> PassResult:
    """float conv/depthwise/fully_connected → mul(per-channel k) → add(per-channel b): weights ×k, bias ×k + b."""
    graph, modified = fixpoint(_fold_step, graph)
    return PassResult(graph, modified)
