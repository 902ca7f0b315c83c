"""Prepare a float ONNX model for quantization, and run models in onnxruntime with every activation visible.

Preparation: opset >= 13 (per-axis QuantizeLinear) and IR >= 7, the batch dimension pinned to 1 (our compiler
needs static shapes), constant subgraphs, Sum and BatchNormalization simplified away (edgeai.quantize.simplify),
every node named, MatMul + Add(constant bias) fused into Gemm (so the bias becomes an int32 Gemm bias, as TFLite's
FULLY_CONNECTED has), shapes inferred.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgeai.errors import ModelError
from edgeai.quantize.calibration import InputSpec
from edgeai.quantize.simplify import simplify

MIN_OPSET = 13
MIN_IR = 7  # the IR version of opset 13


@dataclass
class Prepared:
    model: onnx.ModelProto
    inputs: list[InputSpec]
    renamed: dict[str, str]  # original node name -> node name in the prepared model (fusions)


def load_model(path) -> onnx.ModelProto:
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    try:
        return onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - any parse failure is a model error naming the file
        raise ModelError(f"{path}: not a readable ONNX model ({exc})") from exc


def prepare(model: onnx.ModelProto, where: str = "model") -> Prepared:
    model = _opset13(model, where)
    graph = model.graph
    inits = {i.name for i in graph.initializer}
    # IR < 4 (opset <= 8 exports) lists every initializer as a graph input too, and onnx's checker then wants
    # the QDQ parameters we add listed as well: opset 13 is IR 7, where initializers are not inputs.
    model.ir_version = max(model.ir_version, MIN_IR)
    weights = [i for i in graph.input if i.name in inits]
    for value in weights:
        graph.input.remove(value)
    inputs = []
    for inp in graph.input:
        if inp.name in inits:
            continue
        tt = inp.type.tensor_type
        if tt.elem_type != TensorProto.FLOAT:
            raise ModelError(f"{where}: input {inp.name!r} is {TensorProto.DataType.Name(tt.elem_type)}; "
                             "quantize takes a float32 model (is it quantized already?)")
        dims = []
        for k, d in enumerate(tt.shape.dim):
            if d.HasField("dim_value") and d.dim_value > 0:
                dims.append(d.dim_value)
            elif k == 0:
                d.Clear()
                d.dim_value = 1
                dims.append(1)
            else:
                raise ModelError(f"{where}: input {inp.name!r} dimension {k} is symbolic ({d.dim_param or '?'}); "
                                 "only the batch dimension may be: fix the others with "
                                 "python -m onnxruntime.tools.make_dynamic_shape_fixed")
        inputs.append(InputSpec(inp.name, tuple(dims)))
    for out in graph.output:
        out.type.tensor_type.ClearField("shape")
    del graph.value_info[:]

    _constants_to_initializers(graph)
    simplify(model)
    seen: set[str] = set()
    for i, node in enumerate(graph.node):
        name = node.name or f"{node.op_type}_{i}"
        while name in seen:
            name = f"{name}_{i}"
        node.name = name
        seen.add(name)

    model = _infer(model, where)
    renamed = _fuse_matmul_add(model)
    model = _infer(model, where)
    if any(n.domain not in ("", "ai.onnx") for n in model.graph.node):
        bad = next(n for n in model.graph.node if n.domain not in ("", "ai.onnx"))
        raise ModelError(f"{where}: node {bad.name!r} is {bad.domain}.{bad.op_type}, not a standard ONNX op")
    return Prepared(model, inputs, renamed)


def _constants_to_initializers(graph: onnx.GraphProto) -> None:
    """Constant nodes holding a tensor become initializers, so weights are always found in one place."""
    keep = []
    for node in graph.node:
        if node.op_type == "Constant" and len(node.attribute) == 1 and node.attribute[0].name == "value":
            graph.initializer.append(numpy_helper.from_array(numpy_helper.to_array(node.attribute[0].t),
                                                             node.output[0]))
        else:
            keep.append(node)
    del graph.node[:]
    graph.node.extend(keep)


def _opset13(model: onnx.ModelProto, where: str) -> onnx.ModelProto:
    version = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if version >= MIN_OPSET:
        return model
    try:
        from onnx import version_converter

        return version_converter.convert_version(model, MIN_OPSET)
    except Exception as exc:  # noqa: BLE001
        raise ModelError(f"{where}: opset {version} could not be converted to {MIN_OPSET} ({exc}); "
                         "export the model with opset 13 or later") from exc


def _infer(model: onnx.ModelProto, where: str) -> onnx.ModelProto:
    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as exc:  # noqa: BLE001
        raise ModelError(f"{where}: ONNX shape inference failed ({exc})") from exc


def tensor_types(model: onnx.ModelProto) -> dict[str, onnx.TypeProto]:
    g = model.graph
    types = {v.name: v.type for v in (*g.input, *g.value_info, *g.output)}
    return types


def tensor_shape(model: onnx.ModelProto, name: str) -> tuple | None:
    t = tensor_types(model).get(name)
    if t is None or not t.tensor_type.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in t.tensor_type.shape.dim)


def _fuse_matmul_add(model: onnx.ModelProto) -> dict[str, str]:
    """MatMul(A [M,K], B const [K,N]) -> Add(+ const [N]) becomes Gemm(A, B, C), named after the MatMul."""
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    consumers: dict[str, list] = {}
    for n in g.node:
        for t in n.input:
            consumers.setdefault(t, []).append(n)
    outputs = {o.name for o in g.output}
    renamed, drop = {}, set()
    for mm in list(g.node):
        if mm.op_type != "MatMul" or mm.input[1] not in inits:
            continue
        a_shape = tensor_shape(model, mm.input[0])
        b = numpy_helper.to_array(inits[mm.input[1]])
        users = consumers.get(mm.output[0], [])
        if a_shape is None or len(a_shape) != 2 or b.ndim != 2 or len(users) != 1 or mm.output[0] in outputs:
            continue
        add = users[0]
        if add.op_type != "Add":
            continue
        other = add.input[1] if add.input[0] == mm.output[0] else add.input[0]
        if other not in inits:
            continue
        c = numpy_helper.to_array(inits[other])
        if c.size != b.shape[1] or c.ndim > 2:
            continue
        bias_name = other if c.ndim == 1 else other + "_gemm_bias"
        if c.ndim != 1:
            g.initializer.append(numpy_helper.from_array(c.reshape(-1), bias_name))
        gemm = helper.make_node("Gemm", [mm.input[0], mm.input[1], bias_name], [add.output[0]], name=mm.name)
        idx = list(g.node).index(add)
        g.node.insert(idx, gemm)
        drop.update((id(mm), id(add)))
        renamed[add.name] = mm.name
    if drop:
        keep = [n for n in g.node if id(n) not in drop]
        del g.node[:]
        g.node.extend(keep)
    return renamed


def float_activations(model: onnx.ModelProto) -> list[str]:
    """Every float tensor computed by a node (not constants), in graph order."""
    types = tensor_types(model)
    inits = {i.name for i in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in inits]
    for n in model.graph.node:
        if n.op_type == "Constant":
            continue
        names.extend(o for o in n.output if o)
    return [t for t in names if t in types and types[t].tensor_type.elem_type == TensorProto.FLOAT]


def expose(model: onnx.ModelProto, names: list[str]) -> onnx.ModelProto:
    """A copy of the model with `names` added as graph outputs (float32)."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    present = {o.name for o in model.graph.output}
    for name in names:
        if name not in present:
            model.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
            present.add(name)
    return model


def session(model: onnx.ModelProto):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = 2
    # The graph as ONNX defines it (a QDQ pair dequantizes, the op runs in float, the result quantizes), which is
    # what edgeai compiles: with optimisations on, onnxruntime fuses QDQ into int8 kernels whose results depend on
    # the CPU (an AVX2-only host's u8s8 multiply-add saturates), and the report would too.
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001
        raise ModelError(f"onnxruntime cannot load the model ({exc})") from exc


def run(sess, sample: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, sample)))
