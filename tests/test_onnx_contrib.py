"""com.microsoft QLinear ops (onnxruntime's quantizer, QOperator format): each imports as DequantizeLinear →
float op → QuantizeLinear, which the QDQ fusion makes an int8 op where one exists. The test models are what
onnxruntime.quantization.quantize_static makes of tiny float models, plus hand-built ones for the corners."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import ir_eval
from edgeai.errors import ModelError, UnsupportedOpError
from edgeai.frontends.onnx import load_onnx
from edgeai.passes import default_pipeline
from test_onnx_frontend import _compiled_and_ort, _lsb_diff, _vi, _w

SHAPE = [1, 3, 8, 8]


def _quantized(tmp_path, name, nodes, inits, out_shape):
    """The float model, then quantize_static (QOperator, int8 activations and weights) on 8 random inputs."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    graph = helper.make_graph(nodes, name, [_vi("x", SHAPE)], [_vi("y", out_shape)],
                              initializer=[numpy_helper.from_array(a, n) for n, a in inits])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    float_path, path = tmp_path / f"{name}_float.onnx", tmp_path / f"{name}.onnx"
    onnx.save(model, str(float_path))
    rng = np.random.default_rng(0)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.feeds = iter([{"x": rng.uniform(-2, 2, SHAPE).astype(np.float32)} for _ in range(8)])

        def get_next(self):
            return next(self.feeds, None)

    quantize_static(str(float_path), str(path), Reader(), quant_format=QuantFormat.QOperator,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
    return path


def _contrib_ops(path) -> Counter:
    return Counter(n.op_type for n in onnx.load(str(path)).graph.node if n.domain == "com.microsoft")


def _output_step(g) -> float:
    """The scale of the int8 tensor the float output dequantizes (before a transpose back to NCHW, if any)."""
    last = next(n for n in reversed(g.nodes) if n.op == "dequantize")
    return g.tensor(last.inputs[0]).quant.scale[0]


def _add_pool_concat(tmp_path):
    """Conv, Conv → Add → AveragePool ‖ Concat with the other conv's pool → GlobalAveragePool → MatMul."""
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["x", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["r1", "c2"], ["a"]),
             helper.make_node("AveragePool", ["a"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("AveragePool", ["c2"], ["p2"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
             helper.make_node("Concat", ["p1", "p2"], ["cat"], axis=1),
             helper.make_node("GlobalAveragePool", ["cat"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("MatMul", ["f", "fw"], ["y"])]
    inits = [("w1", _w(4, 3, 3, 3)), ("b1", _w(4, seed=1)), ("w2", _w(4, 3, 3, 3, seed=2)), ("b2", _w(4, seed=3)),
             ("fw", _w(8, 5, seed=4))]
    return _quantized(tmp_path, "add_pool_concat", nodes, inits, [1, 5])


@pytest.mark.toolchain
def test_qlinear_add_pools_concat_compile_to_int8_and_match_onnxruntime(tmp_path, tmp_cache):
    path = _add_pool_concat(tmp_path)
    assert _contrib_ops(path) == {"QLinearAdd": 1, "QLinearAveragePool": 2, "QLinearConcat": 1,
                                  "QLinearGlobalAveragePool": 1}
    g = default_pipeline(load_onnx(path), debug=True)
    ops = Counter(n.op for n in g.nodes)
    assert ops.pop("transpose") <= 2  # the int8 input to NHWC, once per conv
    assert ops == {"quantize": 1, "conv2d": 2, "add": 1, "average_pool2d": 3, "concat": 1,
                   "fully_connected": 1, "dequantize": 1}, ops
    int8 = [n for n in g.nodes if n.op in ("add", "average_pool2d", "concat")]
    assert all(g.tensor(n.outputs[0]).dtype == "int8" and n.attrs["numerics"] == "onnx" for n in int8)
    concat = next(n for n in g.nodes if n.op == "concat")
    assert len({g.tensor(i).quant for i in concat.inputs}) == 2  # requantizes: the inputs' scales differ
    rng = np.random.default_rng(1)
    feeds = [[rng.uniform(-2, 2, SHAPE).astype(np.float32)] for _ in range(10)]
    step = _output_step(g)
    diffs = [np.abs(got - want) / step for (got,), (want,) in _compiled_and_ort(path, feeds, tmp_path / "lib")]
    # 0 of 10 × 5 outputs differ (within 1 LSB of the int8 output they dequantize)
    assert max(d.max() for d in diffs) <= 1.0001


def _mul_sigmoid(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Mul", ["c", "x"], ["m"]),
             helper.make_node("Sigmoid", ["m"], ["s"]),
             helper.make_node("LeakyRelu", ["c"], ["l"], alpha=0.2),
             helper.make_node("Add", ["s", "l"], ["y"])]
    path = _quantized(tmp_path, "mul_sigmoid", nodes, [("w", _w(3, 3, 3, 3))], SHAPE)
    assert _contrib_ops(path) == {"QLinearMul": 1, "QLinearSigmoid": 1, "QLinearLeakyRelu": 1, "QLinearAdd": 1}
    return path


def test_qlinear_mul_sigmoid_leaky_relu_import_and_match_onnxruntime(tmp_path):
    """Each becomes dequantize → float op(s) → quantize (LeakyRelu as relu, two muls and an add); the QDQ
    fusion makes int8 nodes of those it knows. Checked against onnxruntime through the IR oracle."""
    path = _mul_sigmoid(tmp_path)
    g = default_pipeline(load_onnx(path), debug=True)
    ops = Counter(n.op for n in g.nodes)
    assert ops["mul"] >= 1 and ops["sigmoid"] == 1 and ops["conv2d"] == 1 and ops["add"] >= 1, ops
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(2)
    step = _output_step(g)
    for _ in range(5):
        x = rng.uniform(-2, 2, SHAPE).astype(np.float32)
        # 0 of 5 × 192 values differ; onnxruntime's QLinearSigmoid/LeakyRelu read 256-entry tables of the same
        # dequantize → op → quantize, so 1 LSB could only come from the float op's last bit
        diff = np.abs(ir_eval.run(g, {"x": x})[g.outputs[0]] - session.run(None, {"x": x})[0]) / step
        assert diff.max() <= 1.0001


@pytest.mark.toolchain
def test_qlinear_mul_sigmoid_leaky_relu_compile_and_match_onnxruntime(tmp_path, tmp_cache):
    """Compiled: the QDQ fusion makes int8 mul and sigmoid of them (ONNX numerics), where their int8 lowering
    exists; LeakyRelu stays a float island between dequantize and quantize."""
    path = _mul_sigmoid(tmp_path)
    step = _output_step(default_pipeline(load_onnx(path)))
    rng = np.random.default_rng(4)
    feeds = [[rng.uniform(-2, 2, SHAPE).astype(np.float32)] for _ in range(5)]
    for (got,), (want,) in _compiled_and_ort(path, feeds, tmp_path / "lib"):
        assert (np.abs(got - want) / step).max() <= 1.0001  # 0 of 5 × 192 values differ


def _nhwc_global_pool(tmp_path, domain="com.microsoft"):
    """QLinearGlobalAveragePool with channels_last=1 on an int8 NHWC input."""
    node = helper.make_node("QLinearGlobalAveragePool", ["x", "xs", "xz", "ys", "yz"], ["y"], channels_last=1,
                            domain=domain, name="gap")
    inits = [("xs", np.array(0.05, np.float32)), ("xz", np.array(-3, np.int8)), ("ys", np.array(0.02, np.float32)),
             ("yz", np.array(4, np.int8))]
    graph = helper.make_graph([node], "nhwc_gap", [_vi("x", [1, 5, 6, 3], TensorProto.INT8)],
                              [_vi("y", [1, 1, 1, 3], TensorProto.INT8)],
                              initializer=[numpy_helper.from_array(a, n) for n, a in inits])
    return _save_with_contrib(tmp_path, graph)


def _save_with_contrib(tmp_path, graph):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    path = tmp_path / f"{graph.name}.onnx"
    onnx.save(model, str(path))
    return path


def test_channels_last_global_average_pool_needs_no_transpose(tmp_path):
    path = _nhwc_global_pool(tmp_path)
    g = default_pipeline(load_onnx(path), debug=True)
    assert [n.op for n in g.nodes] == ["average_pool2d"] and g.nodes[0].attrs["kernel"] == (5, 6)
    x = np.random.default_rng(3).integers(-128, 128, (1, 5, 6, 3)).astype(np.int8)
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert _lsb_diff(ir_eval.run(g, {"x": x})[g.outputs[0]], want).max() <= 1


def test_qlinear_ops_only_from_the_microsoft_domain(tmp_path):
    with pytest.raises((ModelError, UnsupportedOpError), match="QLinearGlobalAveragePool"):
        load_onnx(_nhwc_global_pool(tmp_path, domain=""))


def test_unsupported_contrib_op_is_named_even_mid_graph(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["r"]),
             helper.make_node("Gelu", ["r"], ["g"], domain="com.microsoft", name="the_gelu"),
             helper.make_node("Relu", ["g"], ["y"])]
    path = _save_with_contrib(tmp_path, helper.make_graph(nodes, "gelu", [_vi("x", [1, 4])], [_vi("y", [1, 4])]))
    with pytest.raises(UnsupportedOpError) as e:
        load_onnx(path)
    assert "the_gelu" in str(e.value) and "com.microsoft.Gelu" in str(e.value)
