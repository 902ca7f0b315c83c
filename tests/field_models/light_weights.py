"""The float models shipped in the onnx wheel (onnx/backend/test/data/light) with random weights: a 'light' file
stores only its weights' shapes (ConstantOfShape nodes). Used by tests/test_onnx_field_ops.py and by
benchmarks/x86/large_float.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def light_with_random_weights(name: str, seed: int = 0) -> onnx.ModelProto:
    """The model with random initializers (also listed as graph inputs, as an IR-3 export with real weights has
    them) of unit-variance activations, and the classifier's logits as its output."""
    model = onnx.load(str(Path(onnx.__file__).parent / "backend" / "test" / "data" / "light" / f"{name}.onnx"))
    g = model.graph
    rng = np.random.default_rng(seed)
    shapes = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    role = {}
    for n in g.node:
        if n.op_type == "BatchNormalization":
            role[n.input[1]], role[n.input[4]] = "scale", "var"
    keep = []
    for n in g.node:
        if n.op_type != "ConstantOfShape" or n.input[0] not in shapes:
            keep.append(n)
            continue
        shape = [int(d) for d in shapes[n.input[0]]]
        a = rng.standard_normal(shape) / np.sqrt(max(1, int(np.prod(shape[1:]))))  # unit-variance activations
        a = {"var": np.abs(a) + 0.5, "scale": 1 + 0.2 * a}.get(role.get(n.output[0]), a if len(shape) > 1 else 0.1 * a)
        g.initializer.append(numpy_helper.from_array(a.astype(np.float32), n.output[0]))
        g.input.append(helper.make_tensor_value_info(n.output[0], TensorProto.FLOAT, shape))
    # The classifier's Softmax over 1000 near-equal random logits quantizes (1/256 steps) to all zeros: compare
    # the logits instead, which carry every layer's error.
    tail = next(n for n in keep if g.output[0].name in n.output)
    if tail.op_type == "Softmax":
        keep.remove(tail)
        g.output[0].name = tail.input[0]
    del g.node[:]
    g.node.extend(keep)
    return model
