"""Fuse quantize/dequantize pairs into int8 ops (ONNX QDQ models: DequantizeLinear → float op → QuantizeLinear).

A float op whose activation inputs all come from `dequantize` of int8 tensors and whose only consumer is a
`quantize` to int8 (possibly through a relu/relu6/clip, which becomes the fused activation) is replaced by
the same op on the int8 tensors. Weights arrive as `dequantize` of int8 constants and bias as `dequantize`
of int32 constants; they are taken as they are, which is what TFLite's int8 scheme computes. A float bias
is quantized to int32 with scale input_scale × weight_scale.
"""

from __future__ import annotations

import numpy as np

from edgeai.ir import Graph, Node, Quantization, Tensor
from edgeai.passes.base import PassResult

# softmax is left out: ONNX defines DQ → Softmax → Q in float, and a float softmax on a dozen logits costs
# nothing, while TFLite's fixed-point softmax differs from it by several LSB.
FUSABLE = {"conv2d", "depthwise_conv2d", "fully_connected", "add", "average_pool2d", "max_pool2d", "reshape",
           "mean", "concat", "transpose", "pad", "mul", "sigmoid", "tanh", "resize_nearest", "resize_bilinear",
           "resize_cubic"}
# int8 resizes blend or copy the stored values: their output keeps the input's quantization (the quantizer shares
# it, edgeai/quantize/qdq.py), or the group stays float
SAME_QUANTIZATION = {"resize_nearest", "resize_bilinear", "resize_cubic"}
ACTIVATION_OPS = {"relu": "relu", "relu6": "relu6"}
_WITH_BIAS = ("conv2d", "depthwise_conv2d", "fully_connected")


def _quantize_bias(name: str, real: np.ndarray, x: Tensor, w: Tensor, tensors: dict) -> str | None:
    """A real bias of an int8 op as int32 with scale input_scale × weight_scale (per output channel),
    zero point 0, rounded half to even; None when a channel's bias does not fit an int32 at that scale (a tiny
    weight scale): saturating it would compute another model, so the op then stays in float."""
    w_scale = np.asarray(w.quant.scale, np.float64)
    scale = x.quant.scale[0] * w_scale
    channels = real.size
    scale = np.broadcast_to(scale, (channels,))
    q = np.rint(real.reshape(channels).astype(np.float64) / scale)
    if not np.all(np.abs(q) <= 2**31 - 1):
        return None
    q = q.astype(np.int32)
    name = f"{name}:int32"
    per_tensor = w.quant.per_tensor
    tensors[name] = Tensor(name, (channels,), "int32", q, Quantization(
        (float(scale[0]),) if per_tensor else tuple(float(s) for s in scale),
        (0,) if per_tensor else (0,) * channels, None if per_tensor else 0))
    return name


def _matched_bias(bias: Tensor, x: Tensor, w: Tensor, tensors: dict) -> str | None:
    """An int32 bias whose scale is not input_scale × weight_scale (within float32 rounding) brought to it, since
    the int8 kernels add the bias to the accumulator: one rounding, halves to even."""
    channels = bias.size
    want = np.broadcast_to(x.quant.scale[0] * np.asarray(w.quant.scale, np.float64), (channels,))
    have = np.broadcast_to(np.asarray(bias.quant.scale, np.float64), (channels,))
    if np.all(np.abs(have - want) <= 1e-6 * want) and not any(bias.quant.zero_point):
        return bias.name
    zp = np.broadcast_to(np.asarray(bias.quant.zero_point, np.float64), (channels,))
    return _quantize_bias(bias.name, (bias.data.reshape(channels).astype(np.float64) - zp) * have, x, w, tensors)


def _activation_of(node) -> str | None:
    if node.op in ACTIVATION_OPS:
        return ACTIVATION_OPS[node.op]
    if node.op == "clip":
        lo, hi = node.attrs["min"], node.attrs["max"]
        if lo == 0.0 and hi == 6.0:
            return "relu6"
        if lo == 0.0 and hi == float("inf"):
            return "relu"
    return None


def fuse_qdq(graph: Graph) -> PassResult:
    producers = graph.producers()
    consumers = graph.consumers()
    outputs = set(graph.outputs)
    replaced: dict[str, object] = {}  # node name -> new node (or None to drop)
    tensors = dict(graph.tensors)
    for node in graph.nodes:
        if node.op not in FUSABLE or node.name in replaced:
            continue
        new_inputs = []
        ok = True
        float_bias = None
        for i, name in enumerate(node.inputs):
            if not name:
                new_inputs.append(name)
                continue
            if i == 2 and node.op in _WITH_BIAS and graph.tensor(name).is_constant \
                    and graph.tensor(name).dtype == "float32":
                float_bias = graph.tensor(name)  # quantized below, once the input and weight scales are known
                new_inputs.append(name)
                continue
            src = producers.get(name)
            if src is None or src.op != "dequantize":
                ok = False
                break
            q_in = graph.tensor(src.inputs[0])
            if q_in.dtype not in ("int8", "int32") or q_in.quant is None or \
                    (not q_in.is_constant and not q_in.quant.per_tensor):  # int8 kernels take per-tensor activations
                ok = False
                break
            new_inputs.append(q_in.name)
        if not ok or graph.tensor(new_inputs[0]).dtype != "int8":
            continue
        chain = [node]
        out = node.outputs[0]
        users = consumers.get(out, [])
        activation = None
        if len(users) == 1 and out not in outputs and _activation_of(users[0]) and "activation" in node.attrs:
            activation = _activation_of(users[0])
            chain.append(users[0])
            out = users[0].outputs[0]
            users = consumers.get(out, [])
        if len(users) != 1 or out in outputs or users[0].op != "quantize":
            continue
        quant_node = users[0]
        q_out = graph.tensor(quant_node.outputs[0])
        if q_out.dtype != "int8" or not q_out.quant.per_tensor:
            continue
        if node.op in SAME_QUANTIZATION and graph.tensor(new_inputs[0]).quant != q_out.quant:
            continue
        if float_bias is not None:
            new_inputs[2] = _quantize_bias(float_bias.name, float_bias.data, graph.tensor(new_inputs[0]),
                                           graph.tensor(new_inputs[1]), tensors)
        elif node.op in _WITH_BIAS and len(new_inputs) > 2 and new_inputs[2]:
            new_inputs[2] = _matched_bias(graph.tensor(new_inputs[2]), graph.tensor(new_inputs[0]),
                                          graph.tensor(new_inputs[1]), tensors)
        if len(new_inputs) > 2 and node.op in _WITH_BIAS and new_inputs[2] is None:
            continue  # the bias does not fit the int8 op's int32 accumulator scale
        attrs = dict(node.attrs)
        # A quantize that rounds halves to even is ONNX's QuantizeLinear: the fused node then computes what
        # the QDQ graph means (one exact rounding), not TFLite's fixed-point approximation of it.
        attrs["numerics"] = "onnx" if quant_node.attrs["rounding"] == "half_even" else "tflite"
        if activation:
            attrs["activation"] = activation if attrs.get("activation", "none") == "none" else attrs["activation"]
        replaced[node.name] = node.with_(inputs=tuple(new_inputs), outputs=(q_out.name,), attrs=attrs)
        for extra in chain[1:] + [quant_node]:
            replaced[extra.name] = None
    if not replaced:
        return PassResult(graph, False)
    nodes = []
    for node in graph.nodes:
        if node.name in replaced:
            if replaced[node.name] is not None:
                nodes.append(replaced[node.name])
        else:
            nodes.append(node)
    from edgeai.passes.cleanup import eliminate_dead_nodes

    return PassResult(eliminate_dead_nodes(graph.replace(nodes=nodes, tensors=tensors)).graph, True)


def with_numerics(graph: Graph, numerics: str) -> Graph:
    """Every int8 node set to reproduce `numerics` ('tflite' or 'onnx'): for an ONNX file converted from an int8
    TFLite model, 'tflite' makes it compute what LiteRT computes on the original."""
    nodes = [n.with_(attrs={**n.attrs, "numerics": numerics}) if graph.tensor(n.outputs[0]).dtype == "int8" else n
             for n in graph.nodes]
    return graph.replace(nodes=nodes)


def drop_requantize_identity(graph: Graph) -> PassResult:
    """quantize(dequantize(x)) with the same parameters is x."""
    producers = graph.producers()
    rename: dict[str, str] = {}
    nodes = []
    for node in graph.nodes:
        src = producers.get(node.inputs[0]) if node.op == "quantize" else None
        if src is not None and src.op == "dequantize" and node.outputs[0] not in graph.outputs:
            a, b = graph.tensor(src.inputs[0]), graph.tensor(node.outputs[0])
            if a.dtype == b.dtype and a.quant == b.quant:
                rename[node.outputs[0]] = a.name
                continue
        nodes.append(node)
    if not rename:
        return PassResult(graph, False)
    nodes = [n.with_(inputs=tuple(rename.get(i, i) for i in n.inputs)) for n in nodes]
    return PassResult(graph.replace(nodes=nodes), True)


_LAYOUT = ("reshape", "transpose")


def commute_qdq_with_layout(graph: Graph) -> PassResult:
    """dequantize → reshape/transpose becomes reshape/transpose → dequantize (and quantize the other way),
    so layout moves the importer inserted do not sit between a dequantize and the op that fuses with it."""
    producers, consumers = graph.producers(), graph.consumers()
    tensors = dict(graph.tensors)
    nodes = list(graph.nodes)
    changed = False
    for i, node in enumerate(nodes):
        if node.op not in _LAYOUT:
            continue
        src = producers.get(node.inputs[0])
        users = consumers.get(node.outputs[0], [])
        if src is not None and src.op == "dequantize" and node.outputs[0] not in graph.outputs:
            q_in = tensors[src.inputs[0]]
            if q_in.quant is None or not q_in.quant.per_tensor:
                continue
            moved = f"{node.outputs[0]}:int"
            tensors[moved] = tensors[node.outputs[0]].with_(name=moved, dtype=q_in.dtype, quant=q_in.quant)
            nodes[i] = [node.with_(name=node.name, inputs=(q_in.name,), outputs=(moved,)),
                        Node(f"{node.name}:dequantize", "dequantize", (moved,), node.outputs, {})]
            changed = True
        elif len(users) == 1 and users[0].op == "quantize" and node.outputs[0] not in graph.outputs \
                and len(consumers.get(node.inputs[0], [])) == 1 and tensors[users[0].outputs[0]].quant.per_tensor:
            quant_node = users[0]
            out = tensors[quant_node.outputs[0]]
            early = f"{node.inputs[0]}:q"
            tensors[early] = tensors[node.inputs[0]].with_(name=early, dtype=out.dtype, quant=out.quant)
            nodes[i] = [Node(f"{node.name}:quantize", "quantize", (node.inputs[0],), (early,), dict(quant_node.attrs)),
                        node.with_(inputs=(early,), outputs=quant_node.outputs)]
            nodes = [n for n in nodes if n is not quant_node]
            changed = True
            producers, consumers = None, None
            break
    flat = []
    for n in nodes:
        flat.extend(n if isinstance(n, list) else [n])
    result = graph.replace(nodes=flat, tensors=tensors)
    if changed and producers is None:  # a quantize moved: look again with fresh maps
        return PassResult(commute_qdq_with_layout(result).graph, True)
    return PassResult(result, changed)
