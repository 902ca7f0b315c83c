"""Graph clean-up: drop nodes nobody reads (dead-code elimination), fold nodes whose inputs are all constants."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgeai.ir import Graph, Tensor
from edgeai.passes.base import PassResult


def eliminate_dead_nodes(graph: Graph) -> PassResult:
    needed = set(graph.outputs)
    kept = []
    for node in reversed(graph.nodes):
        if any(o in needed for o in node.outputs):
            kept.append(node)
            needed.update(n for n in node.inputs if n)
    kept.reverse()
    return PassResult(graph.replace(nodes=kept), len(kept) != len(graph.nodes))


def _dequantized(t: Tensor) -> np.ndarray:
    q = t.quant
    data = t.data.astype(np.float64)
    scale, zp = np.asarray(q.scale), np.asarray(q.zero_point, np.float64)
    if q.axis is not None:
        shape = [1] * data.ndim
        shape[q.axis] = -1
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    return ((data - zp) * scale).astype(np.float32)


_FOLDABLE = ("dequantize", "reshape", "transpose", "add", "sub", "mul", "concat", "pad", "relu", "relu6", "clip",
             "strided_slice", "fully_connected", "sigmoid", "tanh")


def _evaluate(node, inputs: list, out) -> np.ndarray | None:
    """The value of a float/layout node on constant inputs, or None if it is not folded here."""
    op, a = node.op, node.attrs
    x = inputs[0]
    if op == "dequantize":
        return _dequantized(x) if x.quant is not None else None
    if op == "reshape":
        return x.data.reshape(out.shape)
    if op == "transpose":
        return np.transpose(x.data, a["perm"])
    if op == "concat" and len({t.quant for t in inputs}) == 1:
        return np.concatenate([t.data for t in inputs], axis=a["axis"])
    if op == "pad" and x.quant is None:
        r = x.data.ndim
        fill = {"constant_values": a["value"]} if a["mode"] == "constant" else {}  # numpy's mode names are ONNX's
        return np.pad(x.data, [(a["pads"][i], a["pads"][i + r]) for i in range(r)], mode=a["mode"], **fill)
    if op == "strided_slice" and x.quant is None:
        y = x.data
        for axis, (b, s, n) in enumerate(zip(a["begin"], a["strides"], a["sizes"])):
            y = np.take(y, b + s * np.arange(n), axis=axis)
        return y.reshape(out.shape)
    if op in ("pad", "concat", "strided_slice") or any(t.dtype != "float32" or t.quant is not None for t in inputs):
        return None  # arithmetic: float only
    if op == "fully_connected":  # a recurrent layer's first step on its zero initial state
        w = inputs[1].data.astype(np.float64)
        y = x.data.astype(np.float64).reshape(-1, w.shape[1]) @ w.T
        if len(inputs) > 2:
            y = y + inputs[2].data
        y, act = y.reshape(out.shape), a["activation"]
    elif op in ("sigmoid", "tanh"):
        with np.errstate(over="ignore"):
            y = 1.0 / (1.0 + np.exp(-x.data.astype(np.float64))) if op == "sigmoid" else np.tanh(x.data)
        act = "none"
    elif op in ("add", "sub", "mul"):
        y = {"add": np.add, "sub": np.subtract, "mul": np.multiply}[op](x.data, inputs[1].data)
        act = a["activation"]
    else:
        y, act = x.data, op
    bounds = {"relu": (0.0, None), "relu6": (0.0, 6.0), "relu_n1_to_1": (-1.0, 1.0),
              "clip": (a.get("min"), a.get("max"))}.get(act)
    return y if bounds is None else np.clip(y, *bounds)


def fold_constants(graph: Graph) -> PassResult:
    """A node whose inputs are all constants becomes a constant: dequantize of weights no int8 op consumed,
    layout moves (reshape/transpose/concat/pad) and float arithmetic on constants."""
    tensors = dict(graph.tensors)
    nodes, changed = [], False
    for node in graph.nodes:
        ins = [tensors[n] for n in node.inputs if n]
        out = tensors[node.outputs[0]]
        if (node.op in _FOLDABLE and ins and all(t.is_constant for t in ins) and len(node.outputs) == 1
                and out.name not in graph.outputs):
            data = _evaluate(node, ins, out)
            if data is not None:
                tensors[out.name] = out.with_(data=np.ascontiguousarray(np.asarray(data).astype(out.dtype)))
                changed = True
                continue
        nodes.append(node)
    return PassResult(graph.replace(nodes=nodes, tensors=tensors), changed)


_WEIGHTED = ("conv2d", "depthwise_conv2d", "fully_connected")


def _hybrid_weights(graph: Graph, node) -> Tensor | None:
    """The int8 weights of a float op (a TFLite "hybrid" layer), or None when `node` is not one."""
    if node.op in _WEIGHTED and graph.tensor(node.inputs[0]).dtype == "float32":
        w = graph.tensor(node.inputs[1])
        if w.is_constant and w.dtype == "int8" and w.quant is not None:
            return w
    return None


@dataclass(frozen=True)
class HybridLayer:
    node: str
    op: str
    weights: str  # the int8 constant
    int8_bytes: int
    float_bytes: int  # what dequantize_hybrid_weights makes of it


def hybrid_layers(graph: Graph) -> list[HybridLayer]:
    """The layers dequantize_hybrid_weights will compute in float (look before the passes run)."""
    found = [(node, _hybrid_weights(graph, node)) for node in graph.nodes]
    return [HybridLayer(n.name, n.op, w.name, w.nbytes, w.size * 4) for n, w in found if w is not None]


def dequantize_hybrid_weights(graph: Graph) -> PassResult:
    """A float op reading int8 weights (TFLite "hybrid" models) gets them dequantized at compile time.

    TFLite quantizes such an op's activations on the fly; we compute it in float, which is what the ONNX
    conversion of the same model computes (tf2onnx --dequantize)."""
    tensors = dict(graph.tensors)
    nodes, changed = [], False
    for node in graph.nodes:
        w = _hybrid_weights(graph, node)
        if w is not None:
            name = f"{w.name}:float"
            if name not in tensors:
                tensors[name] = Tensor(name, w.shape, "float32", _dequantized(w))
            node = node.with_(inputs=(node.inputs[0], name) + tuple(node.inputs[2:]))
            changed = True
        nodes.append(node)
    return PassResult(graph.replace(nodes=nodes, tensors=tensors), changed) if changed else PassResult(graph, False)
