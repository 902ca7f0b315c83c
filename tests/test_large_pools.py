"""Pools and means over tensors too large for stack temporaries build without workspace and match onnxruntime."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from edgeai.compile import compile_model
from edgeai.runtime.host import HostSession
from edgeai.runtime.reference import OnnxRuntimeSession

pytestmark = pytest.mark.toolchain


def _model(path, int8: bool):
    nodes, inits = [], []
    x = "x"
    if int8:
        inits += [helper.make_tensor("s", TensorProto.FLOAT, [], [0.05]), helper.make_tensor("z", TensorProto.INT8, [], [3])]
        nodes += [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
                  helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"])]
        x = "xd"
    nodes.append(helper.make_node("MaxPool", [x], ["p"], kernel_shape=[2, 2], strides=[2, 2]))
    if int8:
        nodes += [helper.make_node("QuantizeLinear", ["p", "s", "z"], ["pq"]),
                  helper.make_node("DequantizeLinear", ["pq", "s", "z"], ["pd"])]
    nodes.append(helper.make_node("ReduceMean", ["pd" if int8 else "p"], ["y"], axes=[2, 3], keepdims=1))
    graph = helper.make_graph(nodes, "pools", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 32, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 1, 1])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


@pytest.mark.parametrize("int8", [False, True])
def test_large_maxpool_and_mean(tmp_path, int8, tmp_cache):
    path = tmp_path / "pools.onnx"
    _model(path, int8)
    session = HostSession(compile_model(path, "host", tmp_path / "lib").path)
    x = np.random.default_rng(0).uniform(-5, 5, size=(1, 16, 32, 32)).astype(np.float32)
    got = session.run([x])[0].reshape(-1)
    want = OnnxRuntimeSession(path).run([x])[0].reshape(-1)
    assert np.abs(got - want).max() <= 1e-5
