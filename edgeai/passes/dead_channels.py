"""Dead channels: an int8 conv / fully connected / depthwise output channel whose weights are all exactly zero
outputs one constant everywhere (its bias, requantized). Such a channel is removed from its producer and its
constant folded into the readers, losslessly (bit-exact with LiteRT), so neither its weights nor its MACs are
stored or computed. Pruned models have many: VWW's last 1x1 convolutions lose 101-234 of their 128-256 channels.

What a reader does with a channel that is constantly v (input zero point z):
  * conv2d / fully_connected: the channel's weights leave, and their contribution (v - z) * sum(w) goes into the
    bias. A padded conv reads z, not v, at the border, so one with padding needs v == z (then it adds nothing);
  * depthwise_conv2d (multiplier 1): its channel of the same index leaves too, and that output channel is itself
    constant (its bias plus (v - z) * sum(w), requantized; with padding, again only when v == z), which its own
    readers must take the same way;
  * average_pool2d with the same quantization in and out: the average of a constant is the constant (TFLite
    rounds n*v/n to v), so the channel passes through.
Any other reader (add, concatenation, reshape, softmax, a graph output...) keeps the channel: its arithmetic is
not a linear function of the channel alone. Only TFLite numerics are rewritten (the constants are TFLite's
integer arithmetic, compilers.lowering.cortex_m._requantize).
"""

from __future__ import annotations

import numpy as np

from edgeai.ir import Graph, Node, Quantization, Tensor
from edgeai.passes.base import PassResult
from edgeai.passes.rewrite import fixpoint

_PRODUCERS = ("conv2d", "fully_connected", "depthwise_conv2d")
_INT32 = (-(1 << 31), (1 << 31) - 1)


def _int8_node(graph: Graph, node: Node) -> bool:
    """An int8 conv / FC / depthwise in TFLite numerics with int8 weights and an int32 bias (or none)."""
    if node.op not in _PRODUCERS or node.attrs.get("numerics", "tflite") != "tflite" or len(node.inputs) < 2:
        return False
    x, w, y = graph.tensor(node.inputs[0]), graph.tensor(node.inputs[1]), graph.tensor(node.outputs[0])
    if x.dtype != "int8" or y.dtype != "int8" or w.dtype != "int8" or not w.is_constant or w.quant is None:
        return False
    if any(z != 0 for z in w.quant.zero_point) or x.quant is None or y.quant is None:
        return False
    if node.op == "depthwise_conv2d" and node.attrs.get("depth_multiplier", 1) != 1:
        return False
    if tuple(node.attrs.get("dilations", (1, 1))) != (1, 1):
        return False
    b = graph.tensor(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
    return b is None or (b.is_constant and b.dtype == "int32")


def _per_channel(graph: Graph, node: Node) -> np.ndarray:
    """Weights as [output channel, everything else] (depthwise: channel last in the graph)."""
    w = graph.tensor(node.inputs[1]).data
    return w.reshape(-1, w.shape[-1]).T if node.op == "depthwise_conv2d" else w.reshape(w.shape[0], -1)


def _bias(graph: Graph, node: Node, channels: int) -> np.ndarray:
    if len(node.inputs) > 2 and node.inputs[2]:
        return graph.tensor(node.inputs[2]).data.astype(np.int64)
    return np.zeros(channels, np.int64)


def _padded(node: Node) -> bool:
    return any(p != 0 for p in node.attrs.get("padding", (0, 0, 0, 0)))


def _zp(graph: Graph, name: str) -> int:
    return int(graph.tensor(name).quant.zero_point[0])


def _constant_outputs(graph: Graph, node: Node, channels: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """The int8 outputs of `channels` whose accumulators are `acc` everywhere: TFLite's arithmetic."""
    from compilers.lowering._quant import int8_activation_range
    from compilers.lowering.cortex_m import _requantize
    from compilers.tvm.requant import per_channel_multipliers

    xq, wq, yq = (graph.tensor(n).quant for n in (node.inputs[0], node.inputs[1], node.outputs[0]))
    total = graph.tensor(node.outputs[0]).shape[-1]
    scales = np.broadcast_to(np.asarray(wq.scale, np.float64), (total,))
    mult, shift = per_channel_multipliers(xq.scale[0], scales, yq.scale[0])
    mult = np.broadcast_to(mult, (total,))[channels]
    shift = np.broadcast_to(shift, (total,))[channels]
    lo, hi = int8_activation_range(node.attrs["activation"], yq.scale[0], yq.zero_point[0])
    rounding = "single" if node.op == "fully_connected" else "double"  # LiteRT's FC rounds once
    return np.array([min(max(yq.zero_point[0] + _requantize(int(a), int(m), int(s), rounding), lo), hi)
                     for a, m, s in zip(acc, mult, shift)], np.int64)


class _Plan:
    """What removing constant channels does: per node, the input channels it loses (with their values) and the
    output channels it loses."""

    def __init__(self):
        self.inputs: dict[str, dict[int, int]] = {}  # node -> {input channel: constant value}
        self.outputs: dict[str, set[int]] = {}  # node -> output channels removed


def _accepts(graph: Graph, consumers, tensor: str, c: int, v: int, plan: _Plan, depth: int = 0) -> bool:
    """Whether every reader of `tensor` can do without its channel c, constantly v; records what it takes."""
    if tensor in graph.outputs or depth > 64:
        return False
    readers = consumers.get(tensor, [])
    if not readers:
        return False
    trial: list = []
    for r in readers:
        if r.inputs[0] != tensor or tensor in r.inputs[1:]:
            return False
        if r.op in ("conv2d", "fully_connected") and _int8_node(graph, r):
            z = _zp(graph, tensor)
            k = graph.tensor(r.inputs[1]).shape[-1]
            if graph.tensor(tensor).shape[-1] != k or (_padded(r) and v != z) or not _bias_room(graph, r):
                return False
            trial.append((r.name, c, v, None))
        elif r.op == "depthwise_conv2d" and _int8_node(graph, r):
            z = _zp(graph, tensor)
            if _padded(r) and v != z:
                return False
            w = _per_channel(graph, r)
            acc = _bias(graph, r, w.shape[0])[c] + (v - z) * int(w[c].astype(np.int64).sum())
            u = int(_constant_outputs(graph, r, np.array([c]), np.array([acc]))[0])
            if not _accepts(graph, consumers, r.outputs[0], c, u, plan, depth + 1):
                return False
            trial.append((r.name, c, v, "out"))
        elif r.op == "average_pool2d" and r.attrs.get("activation", "none") == "none" and \
                _same_quant(graph, tensor, r.outputs[0]):
            if not _accepts(graph, consumers, r.outputs[0], c, v, plan, depth + 1):
                return False
            trial.append((r.name, c, v, "pass"))
        else:
            return False
    for name, ch, value, out in trial:
        plan.inputs.setdefault(name, {})[ch] = value
        if out:
            plan.outputs.setdefault(name, set()).add(ch)
    return True


def _bias_room(graph: Graph, node: Node) -> bool:
    """Folding any of its input channels (each at most 255 from the zero point) keeps the bias inside int32."""
    w = _per_channel(graph, node).astype(np.int64)
    return bool(np.all(np.abs(_bias(graph, node, w.shape[0])) + 255 * np.abs(w).sum(axis=1) <= _INT32[1]))


def _same_quant(graph: Graph, a: str, b: str) -> bool:
    qa, qb = graph.tensor(a).quant, graph.tensor(b).quant
    return qa is not None and qb is not None and qa.scale == qb.scale and qa.zero_point == qb.zero_point


def _keep_quant(q: Quantization | None, keep: np.ndarray) -> Quantization | None:
    if q is None or q.per_tensor:
        return q
    return Quantization(tuple(np.asarray(q.scale)[keep].tolist()), tuple(np.asarray(q.zero_point)[keep].tolist()),
                        q.axis)


def remove_dead_channels(graph: Graph) -> PassResult:
    """Remove the output channels of int8 conv / FC / depthwise layers whose weights are all zero, folding their
    constant outputs into the readers (module docstring); a channel some reader cannot take stays. Repeated until
    nothing changes: a reader that lost input channels may have output channels left with only zero weights."""
    graph, modified = fixpoint(_remove_once, graph, limit=1000)
    return PassResult(graph, modified)


def kept_channels(graph: Graph) -> dict[str, np.ndarray]:
    """{tensor: the index in `graph` of each channel it keeps} for every tensor remove_dead_channels(graph) shrinks:
    what a comparison with the model's own tensor (edgeai validate --per-layer) selects of it."""
    kept: dict[str, np.ndarray] = {}
    for _ in range(1000):  # remove_dead_channels' fixpoint, its steps replayed with the indices composed
        plan = _plan_once(graph)
        if plan is None:
            return kept
        for node in graph.nodes:
            if node.name in plan.outputs:
                y = node.outputs[0]
                left = np.setdiff1d(np.arange(graph.tensor(y).shape[-1]), sorted(plan.outputs[node.name]))
                kept[y] = kept.get(y, np.arange(graph.tensor(y).shape[-1]))[left]
        graph = _apply(graph, plan)
    raise RuntimeError("kept_channels did not converge")


def _remove_once(graph: Graph) -> Graph | None:
    plan = _plan_once(graph)
    return None if plan is None else _apply(graph, plan)


def _plan_once(graph: Graph) -> _Plan | None:
    consumers = graph.consumers()
    plan = _Plan()
    for node in graph.nodes:
        if not _int8_node(graph, node):
            continue
        w = _per_channel(graph, node)
        dead = np.flatnonzero(~np.any(w != 0, axis=1))
        if dead.size == 0 or dead.size == w.shape[0]:
            continue
        values = _constant_outputs(graph, node, dead, _bias(graph, node, w.shape[0])[dead])
        accepted = []
        for c, v in zip(dead.tolist(), values.tolist()):
            trial = _Plan()
            if c not in plan.outputs.get(node.name, ()) and \
                    _accepts(graph, consumers, node.outputs[0], c, int(v), trial):
                accepted.append((c, trial))
        # Channel counts that were multiples of 8 (or 4) stay so: the DSP kernels' pointwise path needs C % 8 == 0,
        # their depthwise C % 4 == 0; the channels left over stay (constant, computed cheaply: multiplier 0).
        total = w.shape[0]
        granule = 8 if total % 8 == 0 else 4 if total % 4 == 0 else 1
        for c, trial in accepted[:len(accepted) // granule * granule]:
            if _conflicts(plan, trial, graph, node):
                break
            plan.outputs.setdefault(node.name, set()).add(c)
            for name, taken in trial.inputs.items():
                plan.inputs.setdefault(name, {}).update(taken)
            for name, chans in trial.outputs.items():
                plan.outputs.setdefault(name, set()).update(chans)
    return plan if plan.outputs else None


def _conflicts(plan: _Plan, trial: _Plan, graph: Graph, node: Node) -> bool:
    """A trial that would leave a tensor without channels (or contradict a value already planned) is refused."""
    for name, chans in trial.outputs.items():
        n = next(x for x in graph.nodes if x.name == name)
        total = graph.tensor(n.outputs[0]).shape[-1]
        if len(plan.outputs.get(name, set()) | chans) >= total:
            return True
    total = graph.tensor(node.outputs[0]).shape[-1]
    return len(plan.outputs.get(node.name, set())) + 1 >= total


def _apply(graph: Graph, plan: _Plan) -> Graph:
    tensors = dict(graph.tensors)
    nodes = []
    for node in graph.nodes:
        drop_in = plan.inputs.get(node.name, {})
        drop_out = plan.outputs.get(node.name, set())
        if not drop_in and not drop_out:
            nodes.append(node)
            continue
        inputs = list(node.inputs)
        if node.op in ("conv2d", "fully_connected"):
            w = graph.tensor(node.inputs[1])
            channels = w.shape[0]
            bias = _bias(graph, node, channels)
            data = w.data
            if drop_in:
                z = _zp(graph, node.inputs[0])
                for c, v in drop_in.items():
                    bias = bias + (v - z) * data[..., c].reshape(channels, -1).astype(np.int64).sum(axis=1)
                keep_in = np.setdiff1d(np.arange(data.shape[-1]), list(drop_in))
                data = data[..., keep_in]
            keep_out = np.setdiff1d(np.arange(channels), sorted(drop_out))
            data = data[keep_out]
            bias = bias[keep_out]
            inputs[1] = _new_tensor(tensors, w, data, _keep_quant(w.quant, keep_out) if drop_out else w.quant)
            inputs = _with_bias(graph, tensors, node, inputs, bias, keep_out)
        elif node.op == "depthwise_conv2d":
            w = graph.tensor(node.inputs[1])
            channels = w.shape[-1]
            keep = np.setdiff1d(np.arange(channels), sorted(drop_out | set(drop_in)))
            inputs[1] = _new_tensor(tensors, w, w.data[..., keep], _keep_quant(w.quant, keep))
            inputs = _with_bias(graph, tensors, node, inputs, _bias(graph, node, channels)[keep], keep)
        y = graph.tensor(node.outputs[0])
        if drop_out:
            kept = y.shape[-1] - len(drop_out)
            tensors[y.name] = y.with_(shape=y.shape[:-1] + (kept,))
        nodes.append(node.with_(inputs=tuple(inputs)))
    return graph.replace(nodes=nodes, tensors=tensors)


def _new_tensor(tensors: dict, old, data: np.ndarray, quant) -> str:
    name = f"{old.name}:live"
    while name in tensors:
        name += "'"
    tensors[name] = old.with_(name=name, shape=tuple(data.shape), data=np.ascontiguousarray(data), quant=quant)
    return name


def _with_bias(graph: Graph, tensors: dict, node: Node, inputs: list, bias: np.ndarray, keep: np.ndarray) -> list:
    """inputs with the new int32 bias (a bias tensor is made when the node had none)."""
    if len(node.inputs) > 2 and node.inputs[2]:
        b = graph.tensor(node.inputs[2])
        quant = _keep_quant(b.quant, keep) if b.quant is not None and not b.quant.per_tensor and \
            len(b.quant.scale) == b.shape[0] and len(keep) != b.shape[0] else b.quant
        inputs[2] = _new_tensor(tensors, b, bias.astype(np.int32), quant)
    else:
        name = f"{node.name}:bias"
        tensors[name] = Tensor(name, (bias.size,), "int32", bias.astype(np.int32))
        inputs = inputs[:2] + [name]
    return inputs
