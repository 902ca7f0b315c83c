"""Build the QDQ ONNX graph: QuantizeLinear/DequantizeLinear pairs around float ops, the TFLite int8 scheme.

- Activations: per-tensor asymmetric int8, range from the observers, always containing 0.0 with an integer
  zero point (nudged), so that 0.0 (padding, ReLU) is exactly representable.
- Weights: symmetric int8 in [-127, 127], zero point 0, per output channel (Conv axis 0; Gemm axis 0 when
  transB=1 else 1; MatMul the last axis), stored as int8 initializers behind a DequantizeLinear.
- Bias: int32, scale = input scale x weight scale (per channel), zero point 0. When a bias would overflow
  int32 (a channel of near-zero weights with a real bias) that channel's weight scale is raised until it fits.
- ReLU (and Clip with constant bounds) directly after a quantized Conv/Gemm/MatMul/Add is folded into the
  producer's output QuantizeLinear: the range observed after the ReLU starts at 0, zero point -128, and
  the saturation of Q is the ReLU.
- Ops that only move data (Reshape, Transpose, pooling, ...) get the same scale and zero point at their
  output as at their input (TFLite requires it); Softmax/Sigmoid outputs use TFLite's fixed 1/256, -128 and
  Tanh 1/128, 0.
- Float fallback: a named node keeps float weights and gets no QuantizeLinear on its output of its own; it
  reads the dequantized value of a quantized producer (int8 on the device, dequantized at the island's
  border) and its outputs are quantized where quantized nodes consume them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgeai.errors import ModelError

QMIN, QMAX = -128, 127
WMAX = 127
INT32_MAX = 2**31 - 1
# Smallest scale we write. A tensor that was all zeros during calibration would otherwise get scale 0 and
# Q would divide by it; 1e-8 is far below any useful step (its int8 range is +-1.3e-6) and 1/scale stays
# finite in float32.
SCALE_FLOOR = 1e-8

# op -> positions of activation inputs (None: all inputs)
ACTIVATION_INPUTS: dict[str, tuple | None] = {
    "Conv": (0,), "Gemm": (0, 1), "MatMul": (0, 1), "Add": None, "Sub": None, "Mul": None, "Concat": None,
    "AveragePool": (0,), "MaxPool": (0,), "GlobalAveragePool": (0,), "Reshape": (0,), "Flatten": (0,),
    "Transpose": (0,), "Squeeze": (0,), "Unsqueeze": (0,), "Softmax": (0,), "Sigmoid": (0,), "Tanh": (0,),
    "Relu": (0,), "Clip": (0,), "Pad": (0,), "LeakyRelu": (0,), "HardSigmoid": (0,), "Resize": (0,),
}
# Outputs that must carry the input's scale and zero point.
SAME_AS_INPUT = {"Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "MaxPool", "AveragePool",
                 "GlobalAveragePool", "Pad", "Resize"}
FIXED_OUTPUT = {"Softmax": (1.0 / 256.0, -128), "Sigmoid": (1.0 / 256.0, -128), "Tanh": (1.0 / 128.0, 0)}
FOLD_INTO = {"Conv", "Gemm", "MatMul", "Add", "Sub", "Mul"}


@dataclass
class Layer:
    """One quantized activation: the node producing it and what it reads."""

    node: str
    op: str
    tensor: str  # name in the float model
    dequantized: str  # name of the DequantizeLinear output in the QDQ model
    inputs: list[str]  # quantized activation tensors the node reads (float-model names)
    scale: float
    zero_point: int


@dataclass
class QDQResult:
    model: onnx.ModelProto
    layers: list[Layer]
    float_nodes: list[str]
    folded: dict[str, str] = field(default_factory=dict)  # removed Relu/Clip node -> node it was folded into
    weight_scales: dict[str, np.ndarray] = field(default_factory=dict)  # node -> weight scales
    dequantized: dict[str, str] = field(default_factory=dict)  # every quantized activation -> its DQ output


def activation_qparams(lo: float, hi: float) -> tuple[float, int]:
    """Asymmetric int8 scale and zero point for [lo, hi], widened to contain 0, zero point nudged to an integer."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = max((hi - lo) / (QMAX - QMIN), SCALE_FLOOR)
    zp = int(np.clip(np.round(QMIN - lo / scale), QMIN, QMAX))
    return float(np.float32(scale)), zp


def weight_qparams(w: np.ndarray, axis: int | None) -> np.ndarray:
    """Symmetric scales max|w| / 127, one per slice along `axis` (or one for the tensor)."""
    if axis is None:
        amax = np.array([np.max(np.abs(w))]) if w.size else np.zeros(1)
    else:
        amax = np.max(np.abs(np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)), axis=1)
    return np.maximum(amax / WMAX, SCALE_FLOOR).astype(np.float32)


def quantize_weight(w: np.ndarray, scales: np.ndarray, axis: int | None) -> np.ndarray:
    shape = [1] * w.ndim
    if axis is not None:
        shape[axis] = -1
    s = scales.astype(np.float64).reshape(shape) if axis is not None else float(scales[0])
    return np.clip(np.round(w / s), -WMAX, WMAX).astype(np.int8)


def build_qdq(model: onnx.ModelProto, ranges: dict[str, tuple[float, float]], per_channel: bool = True,
              float_nodes=()) -> QDQResult:
    model = onnx.ModelProto.FromString(model.SerializeToString())
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    node_names = {n.name for n in g.node}
    unknown = [n for n in float_nodes if n not in node_names]
    if unknown:
        raise ModelError(f"float layer(s) {', '.join(map(repr, unknown))} not in the model; node names are "
                         f"e.g. {', '.join(repr(n) for n in list(node_names)[:3])}")
    float_set = set(float_nodes)
    # A ReLU/Clip right after a float node belongs to the float island (it would have been folded into it).
    producer0 = {o: n for n in g.node for o in n.output}
    for node in g.node:
        p = producer0.get(node.input[0]) if node.input else None
        if node.op_type in ("Relu", "Clip") and p is not None and p.name in float_set:
            float_set.add(node.name)

    def quantized(node) -> bool:
        return node.op_type in ACTIVATION_INPUTS and node.name not in float_set

    folded = _fold_activations(g, inits, quantized)
    producer = {o: n for n in g.node for o in n.output}
    graph_outputs = {o.name for o in g.output}
    graph_inputs = [i.name for i in g.input if i.name not in inits]

    # 1. which activation tensors get a Q/DQ pair
    qtensors: list[str] = []
    seen: set[str] = set()

    def want(t: str):
        if t and t not in inits and t not in seen and t in ranges:
            seen.add(t)
            qtensors.append(t)

    for node in g.node:
        if not quantized(node):
            continue
        for k in _act_positions(node):
            want(node.input[k])
        if node.output[0] in ranges:
            want(node.output[0])

    # 2. scale and zero point per tensor, then ties (data movement, fixed-range outputs)
    qparams = {t: activation_qparams(*ranges[t]) for t in qtensors}
    for node in g.node:
        if not quantized(node) or node.output[0] not in qparams:
            continue
        if node.op_type in FIXED_OUTPUT:
            qparams[node.output[0]] = FIXED_OUTPUT[node.op_type]
        elif node.op_type in SAME_AS_INPUT and node.input[0] in qparams:
            qparams[node.output[0]] = qparams[node.input[0]]

    # 3. names: producer output, Q output, DQ output
    dq_name, pre_name = {}, {}
    for t in qtensors:
        if t in graph_outputs:
            pre_name[t], dq_name[t] = t + "_QuantizeLinear_Input", t
        else:
            pre_name[t], dq_name[t] = t, t + "_DequantizeLinear_Output"

    new_nodes, new_inits = [], []
    const_cache: dict[tuple, str] = {}
    weight_scales: dict[str, np.ndarray] = {}

    def emit_qdq(t: str):
        scale, zp = qparams[t]
        s_name, z_name = t + "_scale", t + "_zero_point"
        new_inits.append(numpy_helper.from_array(np.array(scale, np.float32), s_name))
        new_inits.append(numpy_helper.from_array(np.array(zp, np.int8), z_name))
        q_out = t + "_QuantizeLinear_Output"
        new_nodes.append(helper.make_node("QuantizeLinear", [pre_name[t], s_name, z_name], [q_out],
                                          name=t + "_QuantizeLinear"))
        new_nodes.append(helper.make_node("DequantizeLinear", [q_out, s_name, z_name], [dq_name[t]],
                                          name=t + "_DequantizeLinear"))

    def const_dq(name: str, q: np.ndarray, scale: np.ndarray, zp: np.ndarray, axis: int | None) -> str:
        key = (name, q.tobytes(), scale.tobytes(), axis)
        if key in const_cache:
            return const_cache[key]
        base = name if not any(k[0] == name for k in const_cache) else f"{name}_{len(const_cache)}"
        qn, sn, zn, out = base + "_quantized", base + "_scale", base + "_zero_point", base + "_DequantizeLinear_Output"
        new_inits.append(numpy_helper.from_array(q, qn))
        new_inits.append(numpy_helper.from_array(scale if axis is not None else scale.reshape(()), sn))
        new_inits.append(numpy_helper.from_array(zp if axis is not None else zp.reshape(()), zn))
        attrs = {"axis": axis} if axis is not None else {}
        new_nodes.append(helper.make_node("DequantizeLinear", [qn, sn, zn], [out], name=base + "_DequantizeLinear",
                                          **attrs))
        const_cache[key] = out
        return out

    def const_activation(name: str) -> str:
        """A float constant read as an activation (Add's operand): per-tensor asymmetric int8."""
        c = numpy_helper.to_array(inits[name]).astype(np.float32)
        scale, zp = activation_qparams(float(c.min(initial=0.0)), float(c.max(initial=0.0)))
        q = np.clip(np.round(c / scale) + zp, QMIN, QMAX).astype(np.int8)
        return const_dq(name, q, np.array([scale], np.float32), np.array([zp], np.int8), None)

    for t in graph_inputs:
        if t in qparams:
            emit_qdq(t)

    layers = []
    for node in g.node:
        outs = list(node.output)
        reads = [node.input[k] for k in _act_positions(node)] if quantized(node) else []
        if quantized(node):
            _quantize_node(node, inits, qparams, dq_name, per_channel, const_dq, const_activation, weight_scales)
        else:
            for k, t in enumerate(node.input):
                if t in dq_name and t in producer and quantized(producer[t]):
                    node.input[k] = dq_name[t]
        for k, t in enumerate(outs):
            if t in pre_name:
                node.output[k] = pre_name[t]
        new_nodes.append(node)
        for t in outs:
            if t in qparams:
                emit_qdq(t)
                if quantized(node):
                    layers.append(Layer(node.name, node.op_type, t, dq_name[t],
                                        [i for i in reads if i in qparams], *qparams[t]))

    del g.node[:]
    g.node.extend(new_nodes)
    g.initializer.extend(new_inits)
    _drop_unused_initializers(g)
    del g.value_info[:]
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise ModelError(f"the QDQ model does not validate ({exc})") from exc
    return QDQResult(model, layers, sorted(float_set), folded, weight_scales, dict(dq_name))


def _act_positions(node) -> list[int]:
    pos = ACTIVATION_INPUTS[node.op_type]
    n = len(node.input)
    return [k for k in (range(n) if pos is None else pos) if k < n and node.input[k]]


def _fold_activations(g: onnx.GraphProto, inits, quantized) -> dict[str, str]:
    """Remove Relu/Clip nodes whose input comes only from a quantized Conv/Gemm/MatMul/Add."""
    producer = {o: n for n in g.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in g.node:
        for t in n.input:
            consumers.setdefault(t, []).append(n)
    outputs = {o.name for o in g.output}
    folded, drop = {}, set()
    for node in g.node:
        if node.op_type not in ("Relu", "Clip") or not quantized(node):
            continue
        if node.op_type == "Clip" and not all(t == "" or t in inits for t in node.input[1:]):
            continue
        x = node.input[0]
        p = producer.get(x)
        if p is None or p.op_type not in FOLD_INTO or not quantized(p) or len(consumers.get(x, [])) != 1 \
                or x in outputs:
            continue
        p.output[0] = node.output[0]
        folded[node.name] = p.name
        drop.add(id(node))
    keep = [n for n in g.node if id(n) not in drop]
    del g.node[:]
    g.node.extend(keep)
    return folded


def _quantize_node(node, inits, qparams, dq_name, per_channel, const_dq, const_activation, weight_scales):
    op = node.op_type
    weight_pos = {"Conv": 1, "Gemm": 1, "MatMul": 1}.get(op)
    for k in _act_positions(node):
        t = node.input[k]
        if k == weight_pos and t in inits:
            continue
        if t in dq_name:
            node.input[k] = dq_name[t]
        elif t in inits and numpy_helper.to_array(inits[t]).dtype.kind == "f":
            node.input[k] = const_activation(t)
    if weight_pos is None or len(node.input) <= weight_pos or node.input[weight_pos] not in inits:
        return
    w = numpy_helper.to_array(inits[node.input[weight_pos]]).astype(np.float32)
    bias = None
    if op == "Gemm":
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("transA", 0):
            return  # keep as float weights: rare, and not an int8 FULLY_CONNECTED
        alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
        w = w * np.float32(alpha)
        axis = 0 if attrs.get("transB", 0) else 1
        if len(node.input) > 2 and node.input[2] in inits:
            bias = numpy_helper.to_array(inits[node.input[2]]).astype(np.float32) * np.float32(beta)
            if bias.size != w.shape[axis]:
                bias = None
        for a in list(node.attribute):
            if a.name in ("alpha", "beta"):
                node.attribute.remove(a)
    elif op == "Conv":
        axis = 0
        if len(node.input) > 2 and node.input[2] in inits:
            bias = numpy_helper.to_array(inits[node.input[2]]).astype(np.float32)
    else:  # MatMul with a constant right operand
        axis = w.ndim - 1
    if not per_channel:
        scales = weight_qparams(w, None)
    else:
        scales = weight_qparams(w, axis)
    in_t = _orig(node.input[0], dq_name)
    if bias is not None and in_t in qparams:
        bias = bias.reshape(-1)
        s_in = np.float32(qparams[in_t][0])
        full = np.broadcast_to(scales, bias.shape).astype(np.float32)
        # Raise a channel's weight scale when its int32 bias would overflow.
        need = (np.abs(bias).astype(np.float64) / (float(s_in) * INT32_MAX) * 1.001).astype(np.float32)
        if np.any(need > full):
            full = np.maximum(full, need)
            scales = full if per_channel else np.array([full.max()], np.float32)
            full = np.broadcast_to(scales, bias.shape).astype(np.float32)
        b_scale = (s_in * full).astype(np.float32)
        qb = np.clip(np.round(bias.astype(np.float64) / b_scale), -INT32_MAX, INT32_MAX).astype(np.int32)
        node.input[2] = const_dq(node.input[2], qb, b_scale, np.zeros_like(qb), 0)
    elif bias is not None:
        pass  # input is float (fallback producer without Q): keep the float bias
    w_axis = axis if per_channel else None
    qw = quantize_weight(w, scales, w_axis)
    zp = np.zeros(scales.shape, np.int8)
    node.input[weight_pos] = const_dq(node.input[weight_pos], qw, scales, zp, w_axis)
    weight_scales[node.name] = scales


def _orig(t: str, dq_name: dict[str, str]) -> str:
    for k, v in dq_name.items():
        if v == t:
            return k
    return t


def _drop_unused_initializers(g: onnx.GraphProto) -> None:
    used = {t for n in g.node for t in n.input} | {o.name for o in g.output}
    dropped = {i.name for i in g.initializer if i.name not in used}
    keep = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    inputs = [i for i in g.input if i.name not in dropped]
    del g.input[:]
    g.input.extend(inputs)
