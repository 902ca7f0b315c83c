"""Per-layer error of a QDQ model against its float model: SQNR and cosine of every quantized activation.

Two numbers per layer. *SQNR* (and cosine): the QDQ model's activation against the float model's, errors
accumulated from the input. *Own* SQNR: the layer alone, fed the float model's activations, with its int8
weights and its output quantization; quantizing a tensor is charged to the layer that writes it. Accumulated
error grows layer after layer and would blame whichever layer comes first or last; the own SQNR points at the
layer that loses accuracy, so the worst layer is the one with the lowest own SQNR: the place to try a float
fallback or another observer.

SQNR = 10 log10(sum f^2 / sum (f - q)^2) over all elements of all samples, capped at 150 dB (exact).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

import numpy as np
import onnx
from onnx import helper

from edgeai.quantize.prepare import expose, run, session

SQNR_CAP = 150.0


class _Acc:
    """Running sums for SQNR and cosine over many samples."""

    def __init__(self):
        self.ff = self.qq = self.fq = self.ee = 0.0
        self.max_abs = 0.0

    def add(self, f: np.ndarray, q: np.ndarray):
        f = f.astype(np.float64).ravel()
        q = q.astype(np.float64).ravel()
        e = f - q
        self.ff += float(f @ f)
        self.qq += float(q @ q)
        self.fq += float(f @ q)
        self.ee += float(e @ e)
        if e.size:
            self.max_abs = max(self.max_abs, float(np.max(np.abs(e))))

    def sqnr(self) -> float:
        if self.ee == 0.0:
            return SQNR_CAP
        if self.ff == 0.0:
            return -SQNR_CAP
        return min(SQNR_CAP, 10.0 * math.log10(self.ff / self.ee))

    def cosine(self) -> float:
        if self.ff == 0.0 or self.qq == 0.0:
            return 1.0 if self.ff == self.qq else 0.0
        return self.fq / math.sqrt(self.ff * self.qq)


@dataclass
class LayerError:
    node: str
    op: str
    tensor: str
    local_sqnr_db: float  # error this layer adds by itself (float inputs, int8 weights, quantized output)
    sqnr_db: float  # error accumulated up to this layer's output (the whole QDQ model)
    cosine: float  # cosine of this layer's output, whole QDQ model vs float
    scale: float
    zero_point: int


@dataclass
class OutputError:
    name: str
    sqnr_db: float
    cosine: float
    max_abs: float
    top1_agreement: float | None  # fraction of samples whose argmax agrees; None for scalar outputs


@dataclass
class Report:
    layers: list[LayerError]
    outputs: list[OutputError]
    samples: int
    worst_layer: str | None
    float_layers: list[str] = field(default_factory=list)
    not_quantized: dict[str, int] = field(default_factory=dict)  # op type -> count of nodes left float

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_text(self) -> str:
        from edgeai.table import format_table

        rows = [[i, l.node, l.op, f"{l.local_sqnr_db:.1f}", f"{l.sqnr_db:.1f}", f"{l.cosine:.5f}",
                 f"{l.scale:.3g}", l.zero_point] for i, l in enumerate(sorted(self.layers, key=lambda l: l.local_sqnr_db))]
        lines = [format_table(["#", "node", "op", "own dB", "SQNR dB", "cosine", "scale", "zp"], rows,
                              "rllrrrrr"), ""]
        for o in self.outputs:
            top1 = "" if o.top1_agreement is None else f", top-1 agreement {100 * o.top1_agreement:.1f}%"
            lines.append(f"output {o.name}: SQNR {o.sqnr_db:.1f} dB, cosine {o.cosine:.5f}, "
                         f"max |error| {o.max_abs:.4g}{top1} ({self.samples} samples)")
        if self.worst_layer:
            worst = next(l for l in self.layers if l.node == self.worst_layer)
            lines.append(f"worst layer: {worst.node} ({worst.op}): its own SQNR {worst.local_sqnr_db:.1f} dB, "
                         f"{worst.sqnr_db:.1f} dB accumulated; try --float-layer '{worst.node}' or another observer")
        if self.float_layers:
            lines.append(f"float layers: {', '.join(self.float_layers)}")
        if self.not_quantized:
            lines.append("left float (no int8 rule): " + ", ".join(f"{k} {v}" for k, v in self.not_quantized.items()))
        return "\n".join(lines)


def output_errors(float_sess, quant_sess, samples) -> tuple[list[OutputError], int]:
    names = [o.name for o in float_sess.get_outputs()]
    accs = {n: _Acc() for n in names}
    agree = {n: 0 for n in names}
    sizes = {n: 1 for n in names}
    for sample in samples:
        f = dict(zip(names, float_sess.run(names, sample)))
        q = dict(zip(names, quant_sess.run(names, sample)))
        for n in names:
            accs[n].add(f[n], q[n])
            sizes[n] = f[n].size
            agree[n] += int(np.argmax(f[n].reshape(-1)) == np.argmax(q[n].reshape(-1)))
    return [OutputError(n, accs[n].sqnr(), accs[n].cosine(), accs[n].max_abs,
                        agree[n] / len(samples) if sizes[n] > 1 else None) for n in names], len(samples)


def layer_report(float_model: onnx.ModelProto, qdq, samples, not_quantized=None) -> Report:
    """`qdq` is a QDQResult; samples are dicts {input: array}."""
    tensors = [layer.tensor for layer in qdq.layers]
    fsess = session(expose(float_model, tensors))
    qsess = session(expose(qdq.model, [qdq.dequantized[t] for t in tensors]))
    lsess = session(_local_model(float_model, qdq))
    cumulative = {t: _Acc() for t in tensors}
    local = {t: _Acc() for t in tensors}
    for sample in samples:
        f = run(fsess, sample)
        q = run(qsess, sample)
        loc = run(lsess, sample)
        for t in tensors:
            cumulative[t].add(f[t], q[qdq.dequantized[t]])
            local[t].add(f[t], loc[_LOCAL + t])
    layers = [LayerError(layer.node, layer.op, layer.tensor, local[layer.tensor].sqnr(), cumulative[layer.tensor].sqnr(),
                         cumulative[layer.tensor].cosine(), layer.scale, layer.zero_point) for layer in qdq.layers]
    plain_f, plain_q = session(float_model), session(qdq.model)
    outputs, n = output_errors(plain_f, plain_q, samples)
    worst = min(layers, key=lambda l: l.local_sqnr_db).node if layers else None
    return Report(layers, outputs, n, worst, list(qdq.float_nodes), dict(not_quantized or {}))


_FLOAT, _LOCAL = "float::", "local::"


def _local_model(float_model: onnx.ModelProto, qdq) -> onnx.ModelProto:
    """The float graph side by side with one copy of every quantized layer fed the float activations.

    Each copy reads the float values of its inputs (no input quantization), uses the int8 weights and int32
    bias, and quantizes its output with its own scale and zero point: its error against float is the error
    this layer adds by itself. (Quantizing a tensor is charged to the layer that writes it.)
    """
    g = float_model.graph
    inits = {i.name: i for i in g.initializer}
    inputs = {i.name for i in g.input}

    def fname(t: str) -> str:
        return t if (t in inits or t in inputs or not t) else _FLOAT + t

    nodes = []
    for n in g.node:
        c = onnx.NodeProto.FromString(n.SerializeToString())
        c.name = _FLOAT + n.name
        c.input[:] = [fname(t) for t in n.input]
        c.output[:] = [fname(t) for t in n.output]
        nodes.append(c)
    qg = qdq.model.graph
    qinits = {i.name: i for i in qg.initializer}
    to_float = {dq: t for t, dq in qdq.dequantized.items()}
    for n in qg.node:  # constant DequantizeLinear: weights, biases, constant operands
        if n.op_type == "DequantizeLinear" and n.input[0] in qinits:
            c = onnx.NodeProto.FromString(n.SerializeToString())
            c.name = _LOCAL + n.name
            nodes.append(c)
    by_name = {n.name: n for n in qg.node}
    for layer in qdq.layers:
        c = onnx.NodeProto.FromString(by_name[layer.node].SerializeToString())
        c.name = _LOCAL + c.name
        c.input[:] = [fname(to_float[t]) if t in to_float else t for t in c.input]
        t = layer.tensor
        c.output[0] = _LOCAL + "pre::" + t
        nodes.append(c)
        s, z = t + "_scale", t + "_zero_point"
        nodes.append(helper.make_node("QuantizeLinear", [c.output[0], s, z], [_LOCAL + "q::" + t]))
        nodes.append(helper.make_node("DequantizeLinear", [_LOCAL + "q::" + t, s, z], [_LOCAL + t]))
    merged_inits = dict(inits)
    merged_inits.update(qinits)
    outputs = [helper.make_tensor_value_info(_LOCAL + layer.tensor, onnx.TensorProto.FLOAT, None)
               for layer in qdq.layers]
    graph = helper.make_graph(nodes, "local_error", list(g.input), outputs, list(merged_inits.values()))
    model = helper.make_model(graph, opset_imports=list(qdq.model.opset_import))
    model.ir_version = qdq.model.ir_version
    return model
