"""ONNX-level simplifications of a float model before it is quantized, so that every node left has an int8 rule.

The compiler's own passes (edgeai/passes: batch-norm folding, constant folding at import) run on the graph
imported from the QDQ model, too late: in a QDQ model a BatchNormalization sits between a DequantizeLinear and
a QuantizeLinear as a float op, and a constant subgraph (caffe2 exports' Unsqueeze of a scale vector) has its
output quantized as if it were an activation. So, on the float model:

- nodes whose inputs are all initializers are evaluated (onnx's reference evaluator) into initializers, and so
  is Shape of a tensor of static shape (opset < 13 Softmax converted to 13 reshapes back by Shape, which would
  otherwise leave the output's shape unknown);
- Sum of two or more inputs becomes a chain of Adds (Add has an int8 rule, Sum none);
- BatchNormalization (inference mode) after a Conv that nobody else reads folds into the Conv's weights and
  bias; any other becomes Mul and Add by per-channel constants (int8 mul and add).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper


def simplify(model: onnx.ModelProto) -> onnx.ModelProto:
    g = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    _fold_constants(g, opset, _static_shapes(model))
    _sum_to_adds(g)
    _fold_batchnorm(g)
    return model


def _static_shapes(model: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception:  # noqa: BLE001 - prepare's own inference reports a broken model
        return {}
    g = inferred.graph
    shapes = {}
    for v in (*g.input, *g.value_info, *g.output):
        t = v.type.tensor_type
        if t.HasField("shape") and all(d.HasField("dim_value") for d in t.shape.dim):
            shapes[v.name] = tuple(d.dim_value for d in t.shape.dim)
    return shapes


def _fold_constants(g: onnx.GraphProto, opset: int, shapes: dict) -> None:
    from onnx.reference import ReferenceEvaluator

    values = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    keep = []
    for node in g.node:
        if node.op_type == "Shape" and node.input[0] in shapes and node.domain in ("", "ai.onnx"):
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            dims = np.asarray(shapes[node.input[0]], np.int64)
            values[node.output[0]] = dims[attrs.get("start", 0):attrs.get("end", len(dims))]
            g.initializer.append(numpy_helper.from_array(values[node.output[0]], node.output[0]))
            continue
        if not node.input or not all(n == "" or n in values for n in node.input) or node.domain not in ("", "ai.onnx"):
            keep.append(node)
            continue
        feeds = {n: values[n] for n in node.input if n}
        inputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
                  for n, a in feeds.items()]
        outputs = [helper.make_tensor_value_info(o, 0, None) for o in node.output]
        try:
            results = ReferenceEvaluator(helper.make_graph([node], "fold", inputs, outputs),
                                         opsets={"": opset}).run(None, feeds)
        except Exception:  # noqa: BLE001 - an op the evaluator cannot run stays a node
            keep.append(node)
            continue
        for name, value in zip(node.output, results):
            values[name] = np.asarray(value)
            g.initializer.append(numpy_helper.from_array(np.asarray(value), name))
    del g.node[:]
    g.node.extend(keep)


def _sum_to_adds(g: onnx.GraphProto) -> None:
    nodes = []
    for node in g.node:
        inputs = [n for n in node.input if n]
        if node.op_type != "Sum" or len(inputs) < 2:
            nodes.append(node)
            continue
        acc = inputs[0]
        for k, nxt in enumerate(inputs[1:], 1):
            last = k == len(inputs) - 1
            out = node.output[0] if last else f"{node.output[0]}_sum{k}"
            nodes.append(helper.make_node("Add", [acc, nxt], [out], name=node.name if last else f"{node.name}_{k}"))
            acc = out
    del g.node[:]
    g.node.extend(nodes)


def _fold_batchnorm(g: onnx.GraphProto) -> None:
    inits = {i.name: i for i in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    readers: dict[str, int] = {}
    for n in g.node:
        for t in n.input:
            readers[t] = readers.get(t, 0) + 1
    outputs = {o.name for o in g.output}
    const = lambda name: numpy_helper.to_array(inits[name]).astype(np.float64)  # noqa: E731
    nodes = []
    for node in g.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type != "BatchNormalization" or attrs.get("training_mode", 0) or len(node.output) > 1 and \
                any(node.output[1:]) or not all(t in inits for t in node.input[1:5]):
            nodes.append(node)
            continue
        scale, bias, mean, var = (const(t) for t in node.input[1:5])
        k = scale / np.sqrt(var + attrs.get("epsilon", 1e-5))
        shift = bias - mean * k
        conv = producer.get(node.input[0])
        if conv is not None and conv.op_type == "Conv" and conv.input[1] in inits and readers.get(conv.output[0]) == 1 \
                and conv.output[0] not in outputs and (len(conv.input) < 3 or not conv.input[2] or conv.input[2] in inits):
            w = const(conv.input[1])
            b = const(conv.input[2]) if len(conv.input) > 2 and conv.input[2] else np.zeros(w.shape[0])
            w_name, b_name = f"{conv.name or conv.output[0]}_bn_w", f"{conv.name or conv.output[0]}_bn_b"
            g.initializer.extend([
                numpy_helper.from_array((w * k.reshape((-1,) + (1,) * (w.ndim - 1))).astype(np.float32), w_name),
                numpy_helper.from_array((b * k + shift).astype(np.float32), b_name)])
            folded = onnx.NodeProto()
            folded.CopyFrom(conv)
            del folded.input[:]
            folded.input.extend([conv.input[0], w_name, b_name])
            del folded.output[:]
            folded.output.append(node.output[0])
            nodes[nodes.index(conv)] = folded
            continue
        rank = next((len(v.type.tensor_type.shape.dim) for v in list(g.value_info) + list(g.input)
                     if v.name == node.input[0] and v.type.tensor_type.HasField("shape")), 4)
        shape = (-1,) + (1,) * (rank - 2)  # channels are axis 1
        base = node.name or node.output[0]
        g.initializer.extend([numpy_helper.from_array(k.astype(np.float32).reshape(shape), f"{base}_k"),
                              numpy_helper.from_array(shift.astype(np.float32).reshape(shape), f"{base}_shift")])
        nodes.append(helper.make_node("Mul", [node.input[0], f"{base}_k"], [f"{base}_scaled"], name=f"{base}_mul"))
        nodes.append(helper.make_node("Add", [f"{base}_scaled", f"{base}_shift"], list(node.output[:1]), name=base))
    del g.node[:]
    g.node.extend(nodes)
