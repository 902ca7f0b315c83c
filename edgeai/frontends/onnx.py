"""ONNX → Graph, NHWC canonical.

Layout: each ONNX value that is an activation maps to an IR tensor stored in some axis order (`perm`: stored
axis i holds logical ONNX axis perm[i]). NCHW ops store their 4-D outputs NHWC, a Transpose only relabels
(no data moves), and a transpose node is materialised only where an op needs the logical order (Reshape,
Flatten, MatMul, graph outputs) and the data order actually differs. The MLPerf Tiny files (NHWC inputs
with a leading Transpose to NCHW) therefore import with no transpose at all.

Constants are folded at import (onnx's reference evaluator runs shape arithmetic on initializers);
DequantizeLinear of an int8/int32 initializer becomes an int8/int32 constant with its quantization, so QDQ
models keep their integer weights for the QDQ fusion pass. QLinearConv/QLinearMatMul import as
DequantizeLinear → Conv/MatMul → QuantizeLinear (the same fusion makes them int8 ops), and so do the
com.microsoft QLinear ops and QGemm onnxruntime's quantizer emits in QOperator format (expanded in the model
before shape inference, which does not know them; QGemm's alpha folds into B's scale); LeakyRelu imports as
alpha·x + (1 - alpha)·relu(x) in float. The int8 graph comes out of `edgeai.passes.default_pipeline`.
Quantization of an activation may be per axis (the axis relabelled to the stored order); it then stays a float
quantize/dequantize.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeai.errors import ModelError, UnsupportedOpError
from edgeai.frontends.onnx_recurrent import Recurrent
from edgeai.frontends.onnx_resize import Resizes
from edgeai.frontends.onnx_rewrites import Rewrites
from edgeai.frontends.onnx_transpose_conv import TransposeConvs
from edgeai.frontends.refusals import Refusal, refusal_error
from edgeai.ir import Graph, Node, Quantization, Tensor, verify
from edgeai.ops._shapes import same_padding
from edgeai.ops.layout import PAD_MODES, pad_fits

_DTYPES = {1: "float32", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64", 9: "bool"}
NHWC = (0, 2, 3, 1)


@dataclass(frozen=True)
class Act:
    name: str  # IR tensor
    perm: tuple[int, ...]  # stored axis i holds logical axis perm[i]


@dataclass(frozen=True, eq=False)
class Const:
    data: np.ndarray  # logical layout


@dataclass(frozen=True, eq=False)
class QConst:
    """DequantizeLinear of an integer initializer: real = scale * (q - zero_point)."""

    q: np.ndarray
    scale: np.ndarray
    zero_point: np.ndarray
    axis: int | None

    def real(self) -> np.ndarray:
        s, z = self.scale.astype(np.float64), self.zero_point.astype(np.float64)
        if self.axis is not None and s.size > 1:
            shape = [1] * self.q.ndim
            shape[self.axis] = -1
            s, z = s.reshape(shape), z.reshape(shape)
        return ((self.q.astype(np.float64) - z) * s).astype(np.float32)


def load_onnx(path: str | Path, layouts: dict | None = None) -> Graph:
    """The graph of an ONNX file. layouts, when given, is filled with {ONNX value name: (IR tensor, perm)} for
    every activation: stored axis i of the IR tensor holds the value's axis perm[i]."""
    import onnx

    path = Path(path)
    try:
        model = onnx.load(str(path))
    except Exception as e:  # protobuf raises DecodeError and friends on truncated or foreign bytes
        raise ModelError(f"{path}: not a readable ONNX file ({type(e).__name__}: {e})") from None
    if not model.graph.node:
        raise ModelError(f"{path}: the ONNX graph has no nodes")
    _decode_strings(model)
    if not model.graph.output:
        raise ModelError(f"{path}: the ONNX graph has no outputs: nothing would be computed")
    _check_opset(model, path)
    try:
        onnx.checker.check_model(model)
    except Exception as e:
        raise ModelError(f"{path}: invalid ONNX model: {str(e).splitlines()[0]}") from None
    model = _expand_contrib(_pin_batch(model, path), path)
    try:
        model = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as e:
        raise ModelError(f"{path}: shape inference failed: {str(e).splitlines()[0]}") from None
    importer = None
    try:
        importer = _Importer(model, path)
        graph = importer.run()
        if layouts is not None:
            layouts.update({name: (v.name, v.perm) for name, v in importer.values.items() if isinstance(v, Act)})
        return graph
    except (ModelError, UnsupportedOpError):
        raise
    except Exception as e:  # a malformed model can break any handler: say where, never a bare traceback
        node = importer.current if importer is not None else None
        where = f"node {node.name or node.output[0]!r} ({node.op_type})" if node is not None else "initializers"
        raise ModelError(f"{path}: {where}: malformed ({type(e).__name__}: {e})") from None


def with_outputs(path: str | Path, names) -> tuple[bytes, int]:
    """The ONNX file's bytes with the values `names` appended to its graph outputs (untyped: onnxruntime infers
    their types), for a reference run that returns every layer's value (edgeai validate --per-layer); and how many
    outputs the file declares itself (they come first)."""
    import onnx

    try:
        model = onnx.load(str(path))
    except Exception as e:  # protobuf's DecodeError and friends
        raise ModelError(f"{path}: not a readable ONNX file ({type(e).__name__}: {e})") from None
    have = {o.name for o in model.graph.output}
    declared = len(model.graph.output)
    produced = {out for node in model.graph.node for out in node.output}
    for name in names:
        if name not in have and name in produced:  # a value of the file (not one the importer made)
            model.graph.output.append(onnx.ValueInfoProto(name=name))
            have.add(name)
    return model.SerializeToString(), declared


def _decode_strings(message) -> None:
    """Make every string field of the model text. protobuf hands back a string whose bytes are not UTF-8 as bytes;
    such a name is kept with its bad bytes written as \\xNN, so two of them stay distinct and every later step
    (messages, the C emitter's sanitiser, model.json) sees a str."""
    for field, value in message.ListFields():
        repeated = field.is_repeated if hasattr(field, "is_repeated") else field.label == field.LABEL_REPEATED
        if field.type == field.TYPE_MESSAGE:
            for item in value if repeated else (value,):
                _decode_strings(item)
        elif field.type == field.TYPE_STRING:
            if repeated:
                for i, item in enumerate(value):
                    if isinstance(item, bytes):
                        value[i] = item.decode("utf-8", "backslashreplace")
            elif isinstance(value, bytes):
                setattr(message, field.name, value.decode("utf-8", "backslashreplace"))


def _check_opset(model, path):
    """An ai.onnx opset newer than the installed onnx knows may have changed what an operator means."""
    import onnx

    known = onnx.defs.onnx_opset_version()
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx") and entry.version > known:
            raise ModelError(f"{path}: the model imports ai.onnx opset {entry.version}; the installed onnx "
                             f"{onnx.__version__} knows opsets up to {known}")


def _pin_batch(model, path):
    """A symbolic leading dimension is the batch: compile for batch 1. Any other symbolic dimension is refused."""
    initializers = {i.name for i in model.graph.initializer}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        dims = value.type.tensor_type.shape.dim
        for axis, dim in enumerate(dims):
            if dim.HasField("dim_value") and dim.dim_value >= 0:  # 0 is a static empty axis, refused later
                continue
            if axis == 0:
                dim.Clear()
                dim.dim_value = 1
            else:
                raise ModelError(f"{path}: input {value.name!r} has dynamic dimension {axis} "
                                 f"({dim.dim_param or '?'}); export it with a static shape")
    for value in model.graph.output:
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].HasField("dim_value"):
            dims[0].Clear()
            dims[0].dim_value = 1
    return model


# com.microsoft QOperator ops → the float op between DequantizeLinear and QuantizeLinear. Inputs: (x, scale,
# zero point) per activation, then the output's (scale, zero point); QLinearConcat puts the output's first.
# QGemm has its own expansion (_expand_qgemm).
CONTRIB = {"QLinearAdd": "Add", "QLinearMul": "Mul", "QLinearSigmoid": "Sigmoid", "QLinearLeakyRelu": "LeakyRelu",
           "QLinearAveragePool": "AveragePool", "QLinearGlobalAveragePool": "GlobalAveragePool",
           "QLinearConcat": "Concat", "QGemm": "Gemm"}


def _expand_contrib(model, path):
    """Each com.microsoft op of CONTRIB becomes DequantizeLinear(s) → op → QuantizeLinear in the standard
    domain (channels_last=1 pools between two Transposes), so that shape inference and the importer know it.
    A node that breaks its expansion in any other way is reported as malformed, by name."""
    from onnx import numpy_helper

    g = model.graph
    if not any(n.domain == "com.microsoft" and n.op_type in CONTRIB for n in g.node):
        return model
    taken = {n for node in g.node for n in list(node.input) + list(node.output)} | {i.name for i in g.initializer}
    zp_types = {i.name: i.data_type for i in g.initializer}
    protos = {i.name: i for i in g.initializer}
    protos.update({n.output[0]: a.t for n in g.node if n.op_type == "Constant" and n.domain in ("", "ai.onnx")
                   for a in n.attribute if a.name == "value"})

    def fresh(base):
        name, k = base, 1
        while name in taken:
            k += 1
            name = f"{base}:{k}"
        taken.add(name)
        return name

    def const(name):
        return numpy_helper.to_array(protos[name]) if name in protos else None

    def initializer(base, data):
        name = fresh(base)
        g.initializer.append(numpy_helper.from_array(np.asarray(data), name))
        return name

    nodes = []
    for node in g.node:
        op = CONTRIB.get(node.op_type) if node.domain == "com.microsoft" else None
        if op is None:
            nodes.append(node)
            continue
        name = node.name or (node.output[0] if node.output else "?")
        try:
            if op == "Gemm":
                nodes.extend(_expand_qgemm(node, name, path, const, fresh, initializer))
            else:
                nodes.extend(_expand_qlinear(g, node, op, name, path, zp_types, fresh))
        except (ModelError, UnsupportedOpError):
            raise
        except Exception as e:  # a malformed contrib node: say which, never a bare traceback
            raise ModelError(f"{path}: node {name!r} ({node.op_type}): malformed ({type(e).__name__}: {e})") from None
    del g.node[:]
    g.node.extend(nodes)
    return model


def _expand_qlinear(g, node, op, name, path, zp_types, fresh):
    from onnx import helper

    ins = list(node.input)
    if op == "Concat":
        out_q, triples = ins[:2], [ins[i:i + 3] for i in range(2, len(ins), 3)]
    else:
        n_in = 2 if op in ("Add", "Mul") else 1
        triples, out_q = [ins[3 * i:3 * i + 3] for i in range(n_in)], ins[3 * n_in:3 * n_in + 2]
    if not out_q or not out_q[0] or not triples or any(len(t) < 2 or not t[0] or not t[1] for t in triples):
        raise ModelError(f"{path}: node {name!r} ({node.op_type}): missing inputs ({len(ins)} given)")
    zps = [t[2] for t in triples + [out_q] if len(t) > 2 and t[2]]
    if len(out_q) < 2 or not out_q[1]:  # QuantizeLinear without a zero point would make uint8
        if not zps or zps[0] not in zp_types:
            raise UnsupportedOpError(f"{path}: node {name!r}: {node.op_type} without an output zero point "
                                     f"of known type is not supported")
        zero = fresh(f"{name}_zero_point")
        g.initializer.append(helper.make_tensor(zero, zp_types[zps[0]], [], [0]))
        out_q = [out_q[0], zero]
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    channels_last = attrs.pop("channels_last", 0)
    nodes, floats = [], []
    for k, t in enumerate(triples):
        floats.append(fresh(f"{name}_dq{k}"))
        nodes.append(helper.make_node("DequantizeLinear", t[:3], [floats[-1]], name=floats[-1]))
    if channels_last:  # NHWC in and out: the standard op reads NCHW
        nchw = fresh(f"{name}_nchw")
        nodes.append(helper.make_node("Transpose", floats, [nchw], name=nchw, perm=[0, 3, 1, 2]))
        floats = [nchw]
    result = fresh(f"{name}_float")
    nodes.append(helper.make_node(op, floats, [result], name=name, **attrs))
    if channels_last:
        nhwc = fresh(f"{name}_nhwc")
        nodes.append(helper.make_node("Transpose", [result], [nhwc], name=nhwc, perm=[0, 2, 3, 1]))
        result = nhwc
    nodes.append(helper.make_node("QuantizeLinear", [result] + out_q, list(node.output[:1]), name=f"{name}_quantize"))
    return nodes


def _expand_qgemm(node, name, path, const, fresh, initializer):
    """QGemm(A, a_scale, a_zp, B, b_scale, b_zp, [C, [y_scale, y_zp]]; alpha, transA, transB), onnxruntime's
    contrib op: Y = alpha·A'·B' + C·(alpha·a_scale·b_scale), A' and B' the dequantized (transposed) inputs, C int32
    (zero point 0, broadcast to (M, N)), b_scale/b_zp per tensor or per column of B; Y is float without y_scale
    and y_zp, else quantized. Expanded as DequantizeLinear(A), DequantizeLinear(B) with scale alpha·b_scale (alpha
    > 0 folds into the weight, so C's scale is the usual bias scale a_scale·b_scale') and of C → Gemm (alpha 1) →
    QuantizeLinear. B, the scales and C must be constants; C must not vary along M."""
    from onnx import helper

    def refuse(why, error=UnsupportedOpError):
        return error(f"{path}: node {name!r} (QGemm): {why}")

    ins = list(node.input) + [""] * max(0, 9 - len(node.input))
    a, a_s, a_zp, b, b_s, b_zp, c, y_s, y_zp = ins[:9]
    if len(node.input) > 9 or not all((a, a_s, a_zp, b, b_s)):
        raise refuse(f"needs A, a_scale, a_zero_point, B, b_scale[, b_zero_point, C, y_scale, y_zero_point] "
                     f"({len(node.input)} inputs given, {', '.join(repr(i) for i in node.input)})", ModelError)
    if bool(y_s) != bool(y_zp):
        raise refuse("y_scale and y_zero_point must be given together (both: int8 output, neither: float output)")
    attrs = {at.name: helper.get_attribute_value(at) for at in node.attribute}
    if set(attrs) - {"alpha", "transA", "transB"}:
        raise refuse(f"unknown attributes {sorted(set(attrs) - {'alpha', 'transA', 'transB'})}", ModelError)
    alpha, trans_b = float(attrs.get("alpha", 1.0)), int(attrs.get("transB", 0))
    if not (np.isfinite(alpha) and alpha > 0):
        raise refuse(f"alpha={alpha} is not supported (only alpha > 0, which folds into the weight scale)")
    weight = const(b)
    if weight is None or weight.ndim != 2 or weight.dtype not in (np.int8, np.uint8):
        raise refuse(f"B ({b!r}) must be a constant 2-D int8/uint8 matrix"
                     + ("" if weight is None else f", not {weight.dtype} of shape {list(weight.shape)}"))
    scales = [const(s) for s in (a_s, b_s) + ((y_s,) if y_s else ())]
    if any(s is None for s in scales):
        raise refuse("a_scale, b_scale and y_scale must be constants")
    n = weight.shape[0 if trans_b else 1]
    scale_a, scale_b = (np.asarray(s, np.float32) for s in scales[:2])
    if scale_a.size != 1 or scale_b.size not in (1, n) or scale_b.ndim > 1 or any(s.size != 1 for s in scales[2:]):
        raise refuse(f"a_scale and y_scale must be scalars and b_scale a scalar or one per column of B ({n}), "
                     f"not shapes {[list(s.shape) for s in scales]}", ModelError)
    per_column = scale_b.size > 1
    axis = {"axis": 0 if trans_b else 1} if per_column else {}
    if alpha != 1.0:
        scale_b = (scale_b * np.float32(alpha)).astype(np.float32)
        b_s = initializer(f"{name}_b_scale_alpha", scale_b)
    nodes, floats = [], [fresh(f"{name}_a"), fresh(f"{name}_b")]
    nodes.append(helper.make_node("DequantizeLinear", [a, a_s, a_zp], [floats[0]], name=floats[0]))
    nodes.append(helper.make_node("DequantizeLinear", [b, b_s] + ([b_zp] if b_zp else []), [floats[1]],
                                  name=floats[1], **axis))
    if c:
        bias = const(c)
        if bias is None or bias.dtype != np.int32:
            raise refuse(f"C ({c!r}) must be a constant int32 tensor")
        if bias.size == 1:
            bias = np.full(n, bias.reshape(-1)[0], np.int32)
        elif bias.size == n and bias.ndim <= 2 and bias.shape[-1] == n:  # (N,) or (1, N)
            bias = bias.reshape(n)
        else:
            raise refuse(f"C of shape {list(bias.shape)} is not supported (only a scalar or one value per column)")
        bias_scale = (scale_a.reshape(()) * scale_b).astype(np.float32)  # alpha·a_scale·b_scale
        floats.append(fresh(f"{name}_c"))
        nodes.append(helper.make_node(
            "DequantizeLinear", [initializer(f"{name}_C", bias), initializer(f"{name}_c_scale", bias_scale),
                                 initializer(f"{name}_c_zero_point", np.zeros(bias_scale.shape, np.int32))],
            [floats[-1]], name=floats[-1], **({"axis": 0} if per_column else {})))
    result = fresh(f"{name}_float") if y_s else node.output[0]
    nodes.append(helper.make_node("Gemm", floats, [result], name=name, transA=int(attrs.get("transA", 0)),
                                  transB=trans_b))
    if y_s:
        nodes.append(helper.make_node("QuantizeLinear", [result, y_s, y_zp], [node.output[0]],
                                      name=f"{name}_quantize"))
    return nodes


class _Importer(Rewrites, Recurrent, Resizes, TransposeConvs):
    def __init__(self, model, path: Path):
        import onnx
        from onnx import numpy_helper

        self.onnx, self.path, self.model = onnx, path, model
        g = model.graph
        self.values: dict[str, object] = {i.name: Const(numpy_helper.to_array(i)) for i in g.initializer}
        self.types: dict[str, tuple] = {}
        for v in list(g.input) + list(g.value_info) + list(g.output):
            t = v.type.tensor_type
            if t.HasField("shape"):
                shape = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim)
                self.types[v.name] = (shape, t.elem_type)
        self.tensors: dict[str, Tensor] = {}
        self.nodes: list[Node] = []
        self.current = None  # the node being imported, for error messages
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)

    # -- helpers ----------------------------------------------------------------------------------
    def fail(self, node, why, unsupported=False):
        cls = UnsupportedOpError if unsupported else ModelError
        return cls(f"{self.path}: node {node.name or node.output[0]!r} ({node.op_type}): {why}")

    def logical(self, name, node=None) -> tuple[tuple[int, ...], str]:
        if name not in self.types:
            raise self.fail(node, f"shape of {name!r} is unknown after shape inference") if node else \
                ModelError(f"{self.path}: shape of {name!r} is unknown")
        shape, elem = self.types[name]
        if any(d < 0 for d in shape):
            raise (self.fail(node, f"tensor {name!r} has a dynamic shape {list(shape)}") if node
                   else ModelError(f"{self.path}: tensor {name!r} has a dynamic shape {list(shape)}"))
        if 0 in shape:
            raise (self.fail(node, f"tensor {name!r} has no elements (shape {list(shape)})", True) if node
                   else UnsupportedOpError(f"{self.path}: tensor {name!r} has no elements (shape {list(shape)})"))
        if elem not in _DTYPES:
            kind = self.onnx.TensorProto.DataType.Name(elem).lower() if elem in self.onnx.TensorProto.DataType.values() \
                else str(elem)
            raise (self.fail(node, f"tensor {name!r} has unsupported element type {kind}", True) if node
                   else UnsupportedOpError(f"{self.path}: tensor {name!r} has unsupported element type {kind}"))
        return shape, _DTYPES[elem]

    def new(self, base: str, shape, dtype, data=None, quant=None) -> str:
        name, n = base, 1
        while name in self.tensors:
            n += 1
            name = f"{base}:{n}"
        self.tensors[name] = Tensor(name, tuple(shape), dtype, data, quant)
        return name

    def emit(self, op, inputs, outputs, attrs=None, name=None):
        self.nodes.append(Node(name or outputs[0], op, tuple(inputs), tuple(outputs), attrs or {}))

    def const_tensor(self, value, base: str, perm=None) -> str:
        """An IR constant for a Const/QConst, in the given stored order; a QConst stays integer + dequantize."""
        if isinstance(value, Const):
            data = value.data if perm is None else np.transpose(value.data, perm)
            data = np.ascontiguousarray(data)
            if data.dtype == np.float64:
                data = data.astype(np.float32)
            return self.new(base, data.shape, data.dtype.name, data)
        q = value.q if perm is None else np.transpose(value.q, perm)
        axis = value.axis if perm is None or value.axis is None else list(perm).index(value.axis)
        quant = Quantization(tuple(float(s) for s in value.scale.reshape(-1)),
                             tuple(int(z) for z in value.zero_point.reshape(-1)),
                             axis if value.scale.size > 1 else None)
        qname = self.new(base, q.shape, q.dtype.name, np.ascontiguousarray(q), quant)
        fname = self.new(base + "_dequant", q.shape, "float32")
        self.emit("dequantize", [qname], [fname])
        return fname

    def to_perm(self, value, want: tuple[int, ...], base: str) -> str:
        """The IR tensor of value stored in order `want` (a transpose node only if the bytes must move)."""
        if not isinstance(value, Act):
            return self.const_tensor(value, base, want)
        if value.perm == want:
            return value.name
        src = self.tensors[value.name]
        p = tuple(value.perm.index(w) for w in want)  # stored_new axis i = stored_cur axis p[i]
        out_shape = tuple(src.shape[i] for i in p)
        quant = src.quant
        if quant is not None and quant.axis is not None:  # per axis: the axis moves with the data
            quant = Quantization(quant.scale, quant.zero_point, p.index(quant.axis))
        out = self.new(f"{value.name}_{''.join(map(str, want))}", out_shape, src.dtype, quant=quant)
        moved = [i for i in p if src.shape[i] != 1]
        if moved == sorted(moved):  # only size-1 axes move: same bytes, a reshape is enough
            self.emit("reshape", [value.name], [out], {"shape": out_shape})
        else:
            self.emit("transpose", [value.name], [out], {"perm": p})
        return out

    def identity_perm(self, value) -> tuple[int, ...]:
        rank = len(self.tensors[value.name].shape) if isinstance(value, Act) else value.q.ndim if \
            isinstance(value, QConst) else value.data.ndim
        return tuple(range(rank))

    def get(self, node, i):
        if i >= len(node.input) or not node.input[i]:
            return None
        name = node.input[i]
        if name not in self.values:
            raise self.fail(node, f"input {name!r} is not produced by any earlier node")
        return self.values[name]

    def const_of(self, node, i, what) -> np.ndarray:
        v = self.get(node, i)
        if isinstance(v, QConst):
            return v.real()
        if not isinstance(v, Const):
            raise self.fail(node, f"{what} (input {i}) must be a constant", True)
        return v.data

    # -- the walk -------------------------------------------------------------------------------
    def run(self) -> Graph:
        g = self.model.graph
        inputs = []
        for v in g.input:
            if v.name in self.values:
                continue
            shape, dtype = self.logical(v.name)
            self.tensors[v.name] = Tensor(v.name, shape, dtype)
            self.values[v.name] = Act(v.name, tuple(range(len(shape))))
            inputs.append(v.name)
        unsupported = []
        for node in g.node:
            self.current = node
            if unsupported and any(n and n not in self.values for n in node.input):
                continue  # downstream of an unsupported node: that node is the error to report
            handler = getattr(self, f"op_{node.op_type}", None)
            if node.domain not in ("", "ai.onnx") or handler is None:
                if self._all_const(node):
                    try:
                        self._evaluate(node)
                        continue
                    except Exception:
                        pass
                name, op = node.name or node.output[0], f"{node.domain + '.' if node.domain else ''}{node.op_type}"
                what = f"operator {op} is not supported"
                unsupported.append(Refusal(op, what, name, f"{self.path}: node {name!r}: {what}"))
                continue
            if self._all_const(node) and node.op_type not in ("DequantizeLinear",):
                try:
                    self._evaluate(node)
                    continue
                except UnsupportedOpError:
                    raise
                except Exception:
                    pass  # let the handler say what is wrong
            try:
                handler(node)
            except UnsupportedOpError as e:
                unsupported.append(self._refusal(node, str(e)))
        if unsupported:  # all of them at once, grouped: the user fixes the model once, not op by op
            raise refusal_error(self.path, unsupported)
        outputs = []
        for v in g.output:
            value = self.values.get(v.name)
            if not isinstance(value, Act):
                raise ModelError(f"{self.path}: output {v.name!r} is a constant; nothing to compile")
            name = self.to_perm(value, self.identity_perm(value), v.name + "_out")
            if name in inputs or name in outputs:  # Identity of an input, or one value twice: the output is a copy
                t = self.tensors[name]
                copy = self.new(v.name + "_out", t.shape, t.dtype, quant=t.quant)
                self.emit("reshape", [name], [copy], {"shape": t.shape})
                name = copy
            outputs.append(name)
        graph = Graph.build(self.path.stem, self.tensors.values(), self.nodes, inputs, outputs, source=str(self.path))
        return verify(graph.replace())

    def _refusal(self, node, message: str) -> Refusal:
        """A handler's UnsupportedOpError (fail()'s "path: node 'n' (Op): why") as a Refusal grouped by Op and why."""
        name = node.name or node.output[0]
        prefix = f"{self.path}: node {name!r} ({node.op_type}): "
        why = message[len(prefix):] if message.startswith(prefix) else message.removeprefix(f"{self.path}: ")
        return Refusal(node.op_type, f"{node.op_type}: {why}", name, message)

    def _all_const(self, node) -> bool:
        return all((not n) or isinstance(self.values.get(n), Const) for n in node.input) and len(node.input) > 0 \
            or node.op_type == "Constant"

    def _evaluate(self, node):
        """Constant folding through onnx's reference implementation of the op."""
        from onnx.reference import ReferenceEvaluator

        feeds = {n: self.values[n].data for n in node.input if n}
        ref = ReferenceEvaluator(self.onnx.helper.make_graph(
            [node], "fold", [self.onnx.helper.make_tensor_value_info(n, self.onnx.helper.np_dtype_to_tensor_dtype(
                feeds[n].dtype), feeds[n].shape) for n in feeds],
            [self.onnx.helper.make_tensor_value_info(o, 0, None) for o in node.output]),
            opsets={"": self.opset})
        results = ref.run(None, feeds)
        for name, value in zip(node.output, results):
            self.values[name] = Const(np.asarray(value))

    # -- ops ------------------------------------------------------------------------------------
    def op_Identity(self, node):
        self.values[node.output[0]] = self.get(node, 0)

    def op_Shape(self, node):
        """The shape of a value is known at import (static shapes): a constant, so the shape arithmetic exporters
        put before Resize's sizes or a Reshape folds (opset 15's start/end slice it)."""
        shape = np.asarray(self.logical(node.input[0], node)[0], np.int64)
        a = self._attrs(node)
        start, end = a.get("start", 0), a.get("end", len(shape))
        self.values[node.output[0]] = Const(shape[start:end])

    def op_Dropout(self, node):
        """Inference-mode Dropout is the identity; training mode (opset 12's third input, true) drops values at
        random, which no compiled inference library can do."""
        if len(node.input) > 2 and node.input[2]:
            training = self.const_of(node, 2, "training_mode")
            if np.any(training):
                raise self.fail(node, "training_mode is true: Dropout would drop values at random; export the "
                                      "model for inference", True)
        mask = node.output[1] if len(node.output) > 1 else ""
        g = self.model.graph
        if mask and (any(mask in n.input for n in g.node) or any(o.name == mask for o in g.output)):
            raise self.fail(node, "its mask output is used, which is not supported", True)
        self.op_Identity(node)

    def op_Transpose(self, node):
        v = self.get(node, 0)
        attrs = {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}
        rank = len(self.tensors[v.name].shape) if isinstance(v, Act) else None
        p = tuple(attrs.get("perm", range((rank or 1) - 1, -1, -1)))
        if isinstance(v, QConst):
            axis = None if v.axis is None else p.index(v.axis)
            self.values[node.output[0]] = QConst(np.transpose(v.q, p), v.scale, v.zero_point, axis)
            return
        pinv = [p.index(i) for i in range(len(p))]
        self.values[node.output[0]] = Act(v.name, tuple(pinv[c] for c in v.perm))

    def _attrs(self, node):
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    def _window(self, node, spatial, kernel, attrs):
        strides = tuple(attrs.get("strides", (1, 1)))
        dilations = tuple(attrs.get("dilations", (1, 1)))
        auto = attrs.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            (t, b), (l, r) = (same_padding(s, k, st, d) for s, k, st, d in zip(spatial, kernel, strides, dilations))
            if auto == "SAME_LOWER":
                t, b, l, r = b, t, r, l
            pads = (t, l, b, r)
        elif auto == "VALID":
            pads = (0, 0, 0, 0)
        else:
            p = tuple(attrs.get("pads", (0, 0, 0, 0)))
            pads = (p[0], p[1], p[2], p[3])
        return strides, dilations, pads

    def op_Conv(self, node):
        x, w = self.get(node, 0), self.get(node, 1)
        if not isinstance(x, Act) or len(self.tensors[x.name].shape) != 4:
            raise self.fail(node, "only 2-D convolutions of a 4-D activation are supported", True)
        if not isinstance(w, (Const, QConst)):
            raise self.fail(node, "weights must be constant", True)
        attrs = self._attrs(node)
        shape_w = (w.q if isinstance(w, QConst) else w.data).shape
        n, c, h, wd = self.logical(node.input[0], node)[0]
        o, ci, kh, kw = shape_w
        group = attrs.get("group", 1)
        strides, dilations, pads = self._window(node, (h, wd), (kh, kw), attrs)
        xin = self.to_perm(x, NHWC, node.input[0] + "_nhwc")
        out_shape, out_dtype = self.logical(node.output[0], node)
        stored = tuple(out_shape[i] for i in NHWC)
        out = self.new(node.output[0], stored, out_dtype)
        common = {"strides": strides, "dilations": dilations, "padding": pads}
        if group == 1:
            wt = self.const_tensor(w, node.input[1], (0, 2, 3, 1))  # OIHW → OHWI
            op = "conv2d"
        elif group == c and ci == 1:
            wt = self.const_tensor(w, node.input[1], (1, 2, 3, 0))  # [O,1,KH,KW] → [1,KH,KW,O]
            op, common["depth_multiplier"] = "depthwise_conv2d", o // c
        else:  # grouped: one dense convolution with block-diagonal weights
            wt = self.const_tensor(self._block_diagonal(node, w, group), node.input[1], (0, 2, 3, 1))
            op = "conv2d"
        inputs = [xin, wt]
        b = self.get(node, 2)
        if b is not None:
            inputs.append(self.const_tensor(b, node.input[2]))
        self.emit(op, inputs, [out], common, name=node.name or node.output[0])
        self.values[node.output[0]] = Act(out, NHWC)

    def _fc(self, node, x, weight: object, bias, transpose_w: bool):
        """weight given logically as [in, out] (transpose_w=True) or [out, in]."""
        xs = self.tensors[x.name].shape if isinstance(x, Act) else None
        if xs is None or len(xs) != 2:
            raise self.fail(node, "only 2-D activations × constant weights are supported", True)
        xin = self.to_perm(x, (0, 1), node.input[0])
        wt = self.const_tensor(weight, node.input[1], (1, 0) if transpose_w else None)
        out_shape, dtype = self.logical(node.output[0], node)
        out = self.new(node.output[0], out_shape, dtype)
        inputs = [xin, wt] + ([self.const_tensor(bias, node.output[0] + "_bias")] if bias is not None else [])
        self.emit("fully_connected", inputs, [out], name=node.name or node.output[0])
        self.values[node.output[0]] = Act(out, (0, 1))

    def op_MatMul(self, node):
        w = self.get(node, 1)
        if not isinstance(w, (Const, QConst)) or (w.q if isinstance(w, QConst) else w.data).ndim != 2:
            raise self.fail(node, "the second input must be a constant 2-D matrix", True)
        self._fc(node, self.get(node, 0), w, None, transpose_w=True)

    def op_Gemm(self, node):
        a = self._attrs(node)
        x = self.get(node, 0)
        if a.get("transA", 0):  # A is given [K, M]: a relabelled view, materialised by _fc as one transpose
            if not isinstance(x, Act) or len(x.perm) != 2:
                raise self.fail(node, "transA=1 needs a 2-D activation as A", True)
            x = Act(x.name, tuple(1 - c for c in x.perm))
        w, c = self.get(node, 1), self.get(node, 2)
        alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)
        if alpha != 1.0 or beta != 1.0:
            if isinstance(w, QConst) or isinstance(c, QConst):
                raise self.fail(node, "alpha/beta other than 1 on quantized weights", True)
            w = Const(w.data * alpha)
            c = Const(c.data * beta) if c is not None else None
        if c is not None:
            cdata = c.q if isinstance(c, QConst) else c.data
            n_out = (w.q if isinstance(w, QConst) else w.data).shape[0 if a.get("transB", 0) else 1]
            if isinstance(c, Const) and cdata.size == 1:  # a scalar bias broadcasts to every output
                cdata = np.full(n_out, cdata.reshape(-1)[0], cdata.dtype)
                c = Const(cdata)
            if cdata.size != n_out:
                raise self.fail(node, f"bias of shape {list(cdata.shape)} is not per output", True)
            if isinstance(c, QConst):
                c = QConst(c.q.reshape(-1), c.scale, c.zero_point, 0 if c.scale.size > 1 else None)
            else:
                c = Const(c.data.reshape(-1))
        self._fc(node, x, w, c, transpose_w=not a.get("transB", 0))

    def _elementwise(self, node, op, attrs=None, values=None):
        values = values if values is not None else [self.get(node, i) for i in range(len(node.input))]
        out_shape, dtype = self.logical(node.output[0], node)
        if dtype != "float32":  # int8 arithmetic exists only inside QDQ groups, which compute in float here
            raise self.fail(node, f"{node.op_type} on {dtype} tensors (plain integer arithmetic) is not supported", True)
        rank = len(out_shape)
        acts = [v for v in values if isinstance(v, Act)]
        if not acts:
            raise self.fail(node, "no activation input", True)
        lead = max(acts, key=lambda v: len(self.tensors[v.name].shape))
        perm = lead.perm if len(lead.perm) == rank else tuple(range(rank))
        names = []
        for i, v in enumerate(values):
            if isinstance(v, Act):
                if len(v.perm) == rank:
                    names.append(self.to_perm(v, perm, node.input[i]))
                else:  # lower rank: numpy broadcasting aligns trailing axes, only valid in logical order
                    if perm != tuple(range(rank)):
                        raise self.fail(node, "broadcasting a lower-rank activation across a transposed layout",
                                        True)
                    names.append(self.to_perm(v, tuple(range(len(v.perm))), node.input[i]))
            elif isinstance(v, QConst):  # keep the integers: a QDQ bias or residual operand
                lead_ones = rank - v.q.ndim
                q = v.q.reshape((1,) * lead_ones + v.q.shape)
                axis = None if v.axis is None else v.axis + lead_ones
                names.append(self.const_tensor(QConst(q, v.scale, v.zero_point, axis), node.input[i], perm))
            else:
                data = v.data.reshape((1,) * (rank - v.data.ndim) + v.data.shape)
                names.append(self.const_tensor(Const(data.astype(np.float32) if dtype == "float32" else data),
                                               node.input[i], perm))
        out = self.new(node.output[0], tuple(out_shape[i] for i in perm), dtype)
        self.emit(op, names, [out], attrs or {}, name=node.name or node.output[0])
        self.values[node.output[0]] = Act(out, perm)

    def op_Add(self, node):
        self._elementwise(node, "add")

    def op_Sub(self, node):
        self._elementwise(node, "sub")

    def op_Mul(self, node):
        self._elementwise(node, "mul")

    def op_Div(self, node):
        d = self.get(node, 1)
        if not isinstance(d, Const):
            raise self.fail(node, "only division by a constant is supported", True)
        self._elementwise(node, "mul", values=[self.get(node, 0), Const((1.0 / d.data).astype(np.float32))])

    def op_Relu(self, node):
        self._elementwise(node, "relu", values=[self.get(node, 0)])

    def op_Sigmoid(self, node):
        self._elementwise(node, "sigmoid", values=[self.get(node, 0)])

    def op_Tanh(self, node):
        self._elementwise(node, "tanh", values=[self.get(node, 0)])

    def op_Pow(self, node):
        e = self.get(node, 1)
        if not isinstance(e, Const) or e.data.size != 1:
            raise self.fail(node, "only a constant scalar exponent is supported", True)
        self._elementwise(node, "pow", {"exponent": float(e.data.reshape(-1)[0])}, values=[self.get(node, 0)])

    def op_Clip(self, node):
        a = self._attrs(node)
        lo = a.get("min", -np.inf)
        hi = a.get("max", np.inf)
        if self.get(node, 1) is not None:
            lo = float(self.const_of(node, 1, "min"))
        if self.get(node, 2) is not None:
            hi = float(self.const_of(node, 2, "max"))
        if lo == 0.0 and hi == 6.0:
            self._elementwise(node, "relu6", values=[self.get(node, 0)])
        else:
            self._elementwise(node, "clip", {"min": float(lo), "max": float(hi)}, values=[self.get(node, 0)])

    def _qparams(self, node):
        scale = np.asarray(self.const_of(node, 1, "scale"), np.float64).reshape(-1)
        zp_v = self.get(node, 2)
        zp = np.asarray(zp_v.data if isinstance(zp_v, Const) else np.zeros(scale.shape, np.int8)).reshape(-1)
        axis = self._attrs(node).get("axis", 1)
        return scale, zp, axis

    def _act_quant(self, node, x: Act, scale, zp, axis) -> Quantization:
        """The quantization of activation x, per tensor or per (logical) axis relabelled to x's stored order."""
        if self._attrs(node).get("block_size", 0):
            raise self.fail(node, "blocked quantization is not supported", True)
        if scale.size == 1:
            return Quantization((float(scale[0]),), (int(zp.reshape(-1)[0]),))
        axis %= len(x.perm)
        stored = x.perm.index(axis)
        if scale.size != self.tensors[x.name].shape[stored] or zp.size != scale.size:
            raise self.fail(node, f"{scale.size} scales and {zp.size} zero points for axis {axis} of "
                                  f"{list(self.logical(node.input[0], node)[0])}")
        return Quantization(tuple(float(v) for v in scale), tuple(int(v) for v in zp), stored)

    def op_DequantizeLinear(self, node):
        x = self.get(node, 0)
        scale, zp, axis = self._qparams(node)
        if isinstance(x, Const):
            if x.data.dtype not in (np.int8, np.uint8, np.int32):
                raise self.fail(node, f"dequantizing {x.data.dtype} constants is not supported", True)
            axis = (axis % x.data.ndim) if scale.size > 1 else None
            self.values[node.output[0]] = QConst(x.data, scale, zp.astype(np.int64), axis)
            return
        src = self.tensors[x.name]
        if src.dtype not in ("int8", "uint8"):
            raise self.fail(node, f"dequantizing a {src.dtype} activation is not supported", True)
        quant = self._act_quant(node, x, scale, zp, axis)
        if src.quant != quant:  # re-label the integer activation with the parameters this DequantizeLinear reads
            if src.quant is not None:
                raise self.fail(node, f"activation {x.name!r} is dequantized with two different parameter sets", True)
            self.tensors[x.name] = src.with_(quant=quant)
        out = self.new(node.output[0], src.shape, "float32")
        self.emit("dequantize", [x.name], [out], name=node.name or node.output[0])
        self.values[node.output[0]] = Act(out, x.perm)

    def op_QuantizeLinear(self, node):
        x = self.get(node, 0)
        scale, zp, axis = self._qparams(node)
        out_shape, dtype = self.logical(node.output[0], node)
        if dtype not in ("int8", "uint8"):
            raise self.fail(node, f"quantizing to {dtype} is not supported", True)
        if isinstance(x, Const):
            info = np.iinfo(dtype)
            s = scale if scale.size == 1 else scale.reshape([-1 if i == axis % x.data.ndim else 1 for i in range(x.data.ndim)])
            z = zp.astype(np.float64) if zp.size == 1 else zp.reshape(s.shape)
            q = np.clip(np.rint(x.data / s) + z, info.min, info.max).astype(dtype)
            self.values[node.output[0]] = Const(q)
            return
        quant = self._act_quant(node, x, scale, zp, axis)
        out = self.new(node.output[0], tuple(out_shape[i] for i in x.perm), dtype, quant=quant)
        self.emit("quantize", [x.name], [out], name=node.name or node.output[0])
        self.values[node.output[0]] = Act(out, x.perm)

    def _pool(self, node, op, kernel=None, pads=None, strides=None):
        x = self.get(node, 0)
        shape = self.logical(node.input[0], node)[0]
        if len(shape) == 3:
            return self._pool_1d(node)
        if len(shape) != 4:
            raise self.fail(node, "only 1-D and 2-D pooling is supported", True)
        a = self._attrs(node)
        kernel = kernel or tuple(a["kernel_shape"])
        if strides is None:
            strides, dilations, pads = self._window(node, shape[2:], kernel, a)
            if tuple(dilations) != (1, 1):
                raise self.fail(node, f"pooling with dilations {list(dilations)} is not supported", True)
        out_shape, dtype = self.logical(node.output[0], node)
        include_pad = op == "average_pool2d" and a.get("count_include_pad", 0) and any(pads)
        if a.get("ceil_mode", 0):  # the last, partial windows: more padding at the end (never counted, never max)
            if include_pad:
                raise self.fail(node, "ceil_mode=1 with count_include_pad=1 is not supported", True)
            pads = list(pads)
            for i, (size, k, s, o) in enumerate(zip(shape[2:], kernel, strides, out_shape[2:])):
                pads[i + 2] += max(0, (o - 1) * s + k - (size + pads[i] + pads[i + 2]))
            pads = tuple(pads)
        xin = self.to_perm(x, NHWC, node.input[0] + "_nhwc")
        if include_pad:  # padded zeros are counted: pad explicitly, then pool without padding
            t, l, b, r = pads
            n, h, w, c = self.tensors[xin].shape
            padded = self.new(node.output[0] + "_padded", (n, h + t + b, w + l + r, c), dtype,
                              quant=self.tensors[xin].quant)
            self.emit("pad", [xin], [padded], {"pads": (0, t, l, 0, 0, b, r, 0), "value": 0.0})
            xin, pads = padded, (0, 0, 0, 0)
        quant = self.tensors[xin].quant if op == "max_pool2d" else None  # an int8 max pool keeps its input's
        out = self.new(node.output[0], tuple(out_shape[i] for i in NHWC), dtype, quant=quant)
        self.emit(op, [xin], [out], {"kernel": kernel, "strides": strides, "padding": pads},
                  name=node.name or node.output[0])
        self.values[node.output[0]] = Act(out, NHWC)

    def op_AveragePool(self, node):
        self._pool(node, "average_pool2d")

    def op_MaxPool(self, node):
        if len(node.output) > 1 and node.output[1]:
            raise self.fail(node, "the Indices output is not supported", True)
        self._pool(node, "max_pool2d")

    def op_GlobalAveragePool(self, node):
        shape = self.logical(node.input[0], node)[0]
        self._pool(node, "average_pool2d", kernel=tuple(shape[2:]), pads=(0, 0, 0, 0), strides=tuple(shape[2:]))

    def op_ReduceMean(self, node):
        x = self.get(node, 0)
        a = self._attrs(node)
        rank = len(x.perm)
        axes = a.get("axes")
        if axes is None and self.get(node, 1) is not None:
            axes = self.const_of(node, 1, "axes").tolist()
        if axes is not None and len(axes) == 0:  # opset 18: empty axes reduce all, or nothing if noop_with_empty_axes
            axes = None if not a.get("noop_with_empty_axes", 0) else []
        if axes == []:
            self.values[node.output[0]] = x
            return
        axes = sorted(int(ax) % rank for ax in (axes if axes is not None else range(rank)))
        keep = bool(a.get("keepdims", 1))
        stored_axes = tuple(x.perm.index(ax) for ax in axes)
        out_shape, dtype = self.logical(node.output[0], node)
        if keep:
            perm = x.perm
        else:
            left = [p for p in x.perm if p not in axes]
            perm = tuple(sorted(left).index(p) for p in left)
        out = self.new(node.output[0], tuple(out_shape[i] for i in perm), dtype)
        self.emit("mean", [x.name], [out], {"axes": stored_axes, "keepdims": keep}, name=node.name or node.output[0])
        self.values[node.output[0]] = Act(out, perm)

    def _reshape_to_output(self, node):
        x = self.get(node, 0)
        if not isinstance(x, Act):
            raise self.fail(node, "reshaping a non-constant that is not an activation", True)
        src = self.to_perm(x, self.identity_perm(x), node.input[0] + "_logical")
        if self.tensors[src].quant is not None and not self.tensors[src].quant.per_tensor:
            raise self.fail(node, "reshaping an activation quantized per axis is not supported", True)
        out_shape, dtype = self.logical(node.output[0], node)
        out = self.new(node.output[0], out_shape, dtype, quant=self.tensors[src].quant)
        self.emit("reshape", [src], [out], {"shape": out_shape}, name=node.name or node.output[0])
        self.values[node.output[0]] = Act(out, tuple(range(len(out_shape))))

    op_Reshape = op_Flatten = op_Squeeze = op_Unsqueeze = _reshape_to_output

    def op_Softmax(self, node):
        x = self.get(node, 0)
        rank = len(x.perm)
        axis = self._attrs(node).get("axis", -1 if self.opset >= 13 else 1) % rank
        if self.opset < 13 and axis != rank - 1:  # over the flattened axes [axis:]
            return self._softmax_2d(node, axis)
        if x.perm.index(axis) != rank - 1:  # store the softmax axis last (a transpose unless it is logically last)
            want = tuple(p for p in range(rank) if p != axis) + (axis,)
            x = Act(self.to_perm(x, want, node.input[0] + "_softmax_last"), want)
        out_shape, dtype = self.logical(node.output[0], node)
        out = self.new(node.output[0], tuple(out_shape[i] for i in x.perm), dtype)
        self.emit("softmax", [x.name], [out], {"axis": -1}, name=node.name or node.output[0])
        self.values[node.output[0]] = Act(out, x.perm)

    def op_Concat(self, node):
        values = [self.get(node, i) for i in range(len(node.input))]
        acts = [v for v in values if isinstance(v, Act)]
        perm = acts[0].perm
        rank = len(perm)
        axis = self._attrs(node)["axis"] % rank
        names = [self.to_perm(v, perm, node.input[i]) for i, v in enumerate(values)]
        out_shape, dtype = self.logical(node.output[0], node)
        out = self.new(node.output[0], tuple(out_shape[i] for i in perm), dtype)
        self.emit("concat", names, [out], {"axis": perm.index(axis)}, name=node.name or node.output[0])
        self.values[node.output[0]] = Act(out, perm)

    def op_Pad(self, node):
        x = self.get(node, 0)
        a = self._attrs(node)
        mode = a.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if mode not in PAD_MODES:
            raise self.fail(node, f"pad mode {mode!r} is not supported", True)
        pads = a.get("pads")
        if pads is None:
            pads = self.const_of(node, 1, "pads").tolist()
        value = float(self.const_of(node, 2, "constant_value").reshape(-1)[0]) if self.get(node, 2) is not None else 0.0
        rank = len(x.perm) if isinstance(x, Act) else x.q.ndim
        if len(node.input) > 3 and node.input[3]:  # opset 18: pads only for the listed axes
            axes = [int(ax) % rank for ax in self.const_of(node, 3, "axes").tolist()]
            full = [0] * (2 * rank)
            for i, ax in enumerate(axes):
                full[ax], full[ax + rank] = pads[i], pads[i + len(axes)]
            pads = full
        if isinstance(x, QConst):  # a dequantized constant: fold it here (numpy's modes are ONNX's)
            kw = {"constant_values": value} if mode == "constant" else {}
            self.values[node.output[0]] = Const(np.pad(x.real(), [(pads[i], pads[i + rank]) for i in range(rank)],
                                                       mode, **kw))
            return
        src, shape = self.tensors[x.name], self.logical(node.input[0], node)[0]
        if not pad_fits(mode, shape, pads):
            raise self.fail(node, f"{mode} pads {list(pads)} larger than the input {list(shape)} allows", True)
        if src.quant is not None:  # an integer Pad of a quantized tensor: the value given is an integer
            if not src.quant.per_tensor:
                raise self.fail(node, "padding an activation quantized per axis is not supported", True)
            value = (value - src.quant.zero_point[0]) * src.quant.scale[0]
        stored = [pads[p] for p in x.perm] + [pads[p + rank] for p in x.perm]
        out_shape, dtype = self.logical(node.output[0], node)
        out = self.new(node.output[0], tuple(out_shape[i] for i in x.perm), dtype, quant=src.quant)
        self.emit("pad", [x.name], [out], {"pads": tuple(int(p) for p in stored), "value": value, "mode": mode},
                  name=node.name or node.output[0])
        self.values[node.output[0]] = Act(out, x.perm)

    def op_BatchNormalization(self, node):
        a = self._attrs(node)
        if a.get("training_mode", 0):
            raise self.fail(node, "training mode is not supported", True)
        scale, bias, mean, var = (self.const_of(node, i, n) for i, n in ((1, "scale"), (2, "B"), (3, "mean"), (4, "var")))
        eps = a.get("epsilon", 1e-5)
        k = (scale / np.sqrt(var.astype(np.float64) + eps)).astype(np.float32)
        shift = (bias - mean * k).astype(np.float32)
        rank = len(self.logical(node.input[0], node)[0])
        shape = (-1,) + (1,) * (rank - 2)  # channels are axis 1
        mid = node.output[0] + "_scaled"
        self.types[mid] = self.types[node.output[0]]
        fake = self.onnx.helper.make_node("Mul", [node.input[0], "_k"], [mid], name=(node.name or node.output[0]) + "_mul")
        self._elementwise(fake, "mul", values=[self.get(node, 0), Const(k.reshape(shape))])
        fake = self.onnx.helper.make_node("Add", [mid, "_b"], [node.output[0]], name=node.name or node.output[0])
        self._elementwise(fake, "add", values=[self.values[mid], Const(shift.reshape(shape))])

    # -- ops this importer rewrites into the ones above ------------------------------------------------------
    def _synth(self, op_type, inputs, output, shape_of, dtype=1, **attrs):
        """Import a node built here (same shape as `shape_of` unless a type is known), for decompositions."""
        if output not in self.types:
            self.types[output] = (self.types[shape_of][0], dtype)
        made = self.onnx.helper.make_node(op_type, inputs, [output], name=output, **attrs)
        getattr(self, f"op_{op_type}")(made)
        return output

    def _const(self, base, data) -> str:
        name = base
        while name in self.values:
            name += "_"
        self.values[name] = Const(np.asarray(data))
        return name

    def op_LeakyRelu(self, node):
        """alpha·x + (1 - alpha)·relu(x): two muls, a relu and an add, all float ops every target has."""
        alpha = float(self._attrs(node).get("alpha", 0.01))
        x, out = node.input[0], node.output[0]
        if self.logical(x, node)[1] != "float32":
            raise self.fail(node, "LeakyRelu on integer tensors is not supported", True)
        r = self._synth("Relu", [x], f"{out}_relu", x)
        a = self._synth("Mul", [x, self._const(f"{out}_alpha", np.float32(alpha))], f"{out}_ax", x)
        b = self._synth("Mul", [r, self._const(f"{out}_1-alpha", np.float32(1 - alpha))], f"{out}_br", x)
        self._synth("Add", [a, b], out, x)

    def _dq(self, node, x, scale, zp, base, axis=None) -> str:
        """DequantizeLinear of input `x` of a QLinear op, as its own node."""
        kw = {} if axis is None else {"axis": axis}
        if x in self.types:
            self.types.setdefault(base, (self.types[x][0], 1))
        elif isinstance(self.values.get(x), Const):
            self.types.setdefault(base, (self.values[x].data.shape, 1))
        made = self.onnx.helper.make_node("DequantizeLinear", [x, scale, zp], [base], name=base, **kw)
        self.op_DequantizeLinear(made)
        return base

    def op_QLinearConv(self, node):
        """QLinearConv = DequantizeLinear → Conv → QuantizeLinear, which the QDQ fusion pass makes one int8 conv."""
        x, xs, xz, w, ws, wz, ys, yz = node.input[:8]
        out = node.output[0]
        inputs = [self._dq(node, x, xs, xz, f"{out}_x"), self._dq(node, w, ws, wz, f"{out}_w", axis=0)]
        if len(node.input) > 8 and node.input[8]:
            scale = (np.asarray(self.const_of(node, 1, "x_scale"), np.float64)
                     * np.asarray(self.const_of(node, 4, "w_scale"), np.float64)).astype(np.float32).reshape(-1)
            zero = self._const(f"{out}_b_zp", np.zeros(scale.shape, np.int32))
            inputs.append(self._dq(node, node.input[8], self._const(f"{out}_b_scale", scale), zero, f"{out}_b",
                                   axis=0))
        shape = self.types[out][0]
        self.types[f"{out}_float"] = (shape, 1)
        conv = self.onnx.helper.make_node("Conv", inputs, [f"{out}_float"], name=node.name or out,
                                          **self._attrs(node))
        self.op_Conv(conv)
        self.op_QuantizeLinear(self.onnx.helper.make_node("QuantizeLinear", [f"{out}_float", ys, yz], [out],
                                                          name=f"{out}_quantize"))

    def op_QLinearMatMul(self, node):
        """QLinearMatMul = DequantizeLinear → MatMul (constant 2-D B) → QuantizeLinear."""
        a, as_, az, b, bs, bz, ys, yz = node.input[:8]
        out = node.output[0]
        per_column = np.asarray(self.const_of(node, 4, "b_scale")).size > 1
        inputs = [self._dq(node, a, as_, az, f"{out}_a"), self._dq(node, b, bs, bz, f"{out}_b",
                                                                    axis=1 if per_column else None)]
        self.types[f"{out}_float"] = (self.types[out][0], 1)
        self.op_MatMul(self.onnx.helper.make_node("MatMul", inputs, [f"{out}_float"], name=node.name or out))
        self.op_QuantizeLinear(self.onnx.helper.make_node("QuantizeLinear", [f"{out}_float", ys, yz], [out],
                                                          name=f"{out}_quantize"))
