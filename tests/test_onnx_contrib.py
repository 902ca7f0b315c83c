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


def _quantized(tmp_path, name, nodes, inits, out_shape, **options):
    """The float model, then quantize_static (QOperator, int8 activations and weights, `options`) on 8 random
    inputs."""
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
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, **options)
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
    # 0 of 5 × 192 values differ; onnxruntime's QLinearSigmoid/LeakyRelu read 256-entry tables of the same
    # dequantize → op → quantize, so 1 LSB could only come from the float op's last bit
    assert _ir_lsb_vs_ort(path, g, seed=2).max() <= 1.0001


def _ir_lsb_vs_ort(path, g, seed, count=5) -> np.ndarray:
    """|IR oracle − onnxruntime| in steps of the int8 output the float output dequantizes, on `count` inputs."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    xs = [rng.uniform(-2, 2, SHAPE).astype(np.float32) for _ in range(count)]
    return np.stack([np.abs(ir_eval.run(g, {"x": x})[g.outputs[0]] - session.run(None, {"x": x})[0]) for x in xs]
                    ) / _output_step(g)


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


def _gemms(tmp_path, per_channel):
    """Flatten → Gemm (transB=1) → Relu → Gemm (transB=0, alpha=0.5), both with a bias: two QGemm, the second
    with alpha (its C quantized with a_scale·b_scale, which QGemm scales by alpha); per channel, b_scale is one
    per column of B (axis 0 of the transposed B). onnxruntime's QOperator quantizer makes QGemm of Gemm only
    (MatMul + Add becomes QLinearMatMul + QLinearAdd)."""
    nodes = [helper.make_node("Flatten", ["x"], ["f"]),
             helper.make_node("Gemm", ["f", "w1", "b1"], ["h"], transB=1),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Gemm", ["r", "w2", "b2"], ["y"], alpha=0.5)]
    inits = [("w1", _w(16, 192) * 0.2), ("b1", _w(16, seed=1)), ("w2", _w(16, 10, seed=2)), ("b2", _w(10, seed=3))]
    path = _quantized(tmp_path, "gemms", nodes, inits, [1, 10], per_channel=per_channel)
    qgemms = [n for n in onnx.load(str(path)).graph.node if n.op_type == "QGemm"]
    assert _contrib_ops(path) == {"QGemm": 2}
    assert [{a.name: helper.get_attribute_value(a) for a in n.attribute} for n in qgemms] == [{"transB": 1},
                                                                                                {"alpha": 0.5}]
    return path


@pytest.mark.parametrize("per_channel", [False, True])
def test_qgemm_imports_as_int8_fully_connected_with_its_bias(tmp_path, per_channel):
    path = _gemms(tmp_path, per_channel)
    g = default_pipeline(load_onnx(path), debug=True)
    assert [n.op for n in g.nodes] == ["quantize", "fully_connected", "fully_connected", "dequantize"]
    model = onnx.load(str(path))
    biases = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer if i.name.startswith("b")}
    for n, c, columns in zip(g.nodes[1:3], ("b1_quantized", "b2_quantized"), (16, 10)):
        assert g.tensor(n.outputs[0]).dtype == "int8" and n.attrs["numerics"] == "onnx"
        assert len(g.tensor(n.inputs[1]).quant.scale) == (columns if per_channel else 1)
        bias = g.tensor(n.inputs[2])
        assert bias.dtype == "int32" and np.array_equal(bias.data.reshape(-1), biases[c])  # taken as it is
    assert _ir_lsb_vs_ort(path, g, seed=5).max() <= 1.0001  # 0 of 5 × 10 values differ (both cases)


@pytest.mark.toolchain
@pytest.mark.parametrize("per_channel", [False, True])
def test_qgemm_compiles_to_int8_and_matches_onnxruntime(tmp_path, tmp_cache, per_channel):
    path = _gemms(tmp_path, per_channel)
    step = _output_step(default_pipeline(load_onnx(path)))
    rng = np.random.default_rng(6)
    feeds = [[rng.uniform(-2, 2, SHAPE).astype(np.float32)] for _ in range(20)]
    runs = _compiled_and_ort(path, feeds, tmp_path / "lib")
    diffs = np.stack([np.abs(got - want) / step for (got,), (want,) in runs])
    # 0 of 20 × 10 values differ, per tensor and per channel (the bound allows 1 LSB of the int8 output)
    assert diffs.max() <= 1.0001


def _qgemm_graph(tmp_path, inputs=("a", "as", "az", "b", "bs", "bz", "c"), alpha=2.0, **changes):
    """A hand-built QGemm the quantizer does not make: transA=1 (A given as [K, M]), alpha 2, per-column B
    scales and zero points, a scalar C, no y_scale/y_zero_point (float output). A value changed to None becomes
    a graph input."""
    rng = np.random.default_rng(7)
    k, n = 6, 4
    inits = {"as": np.array(0.03, np.float32), "az": np.array(-5, np.int8),
             "b": rng.integers(-127, 128, (k, n)).astype(np.int8),
             "bs": rng.uniform(0.01, 0.02, n).astype(np.float32), "bz": np.array([0, 1, -2, 3], np.int8),
             "c": np.array(1234, np.int32), **changes}
    node = helper.make_node("QGemm", list(inputs), ["y"], domain="com.microsoft", name="the_qgemm", alpha=alpha,
                            transA=1)
    graph = helper.make_graph([node], "qgemm", [_vi("a", [k, 1], TensorProto.INT8)]
                              + [_vi(i, [k, n], TensorProto.INT8) for i in inputs if i in inits and inits[i] is None],
                              [_vi("y", [1, n])],
                              initializer=[numpy_helper.from_array(v, i) for i, v in inits.items()
                                           if i in inputs and v is not None])
    return _save_with_contrib(tmp_path, graph)


def test_qgemm_trans_a_alpha_per_column_float_output_matches_onnxruntime(tmp_path):
    path = _qgemm_graph(tmp_path)
    g = default_pipeline(load_onnx(path), debug=True)
    assert "fully_connected" in {n.op for n in g.nodes}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(8)
    for _ in range(5):
        a = rng.integers(-128, 128, (6, 1)).astype(np.int8)
        want = session.run(None, {"a": a})[0]
        # at most 1.9e-6 apart (outputs up to 25): float32 rounding
        np.testing.assert_allclose(ir_eval.run(g, {"a": a})[g.outputs[0]], want, rtol=1e-5, atol=1e-5)


@pytest.mark.toolchain
def test_qgemm_float_output_compiles_and_matches_onnxruntime(tmp_path, tmp_cache):
    """The float-output QGemm stays a float fully_connected of the dequantized input and weights."""
    path = _qgemm_graph(tmp_path)
    rng = np.random.default_rng(9)
    feeds = [[rng.integers(-128, 128, (6, 1)).astype(np.int8)] for _ in range(20)]
    for (got,), (want,) in _compiled_and_ort(path, feeds, tmp_path / "lib"):
        # 52 of 20 × 4 values differ, by at most 1.9e-6 (outputs up to 29): float32 rounding
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("case, error, words", [
    ("b_not_constant", UnsupportedOpError, "B ('b') must be a constant"),
    ("missing_scale", ModelError, "needs A, a_scale"),
    ("negative_alpha", UnsupportedOpError, "alpha=-1.0"),
    ("y_scale_alone", UnsupportedOpError, "y_scale and y_zero_point"),
    ("c_per_row", UnsupportedOpError, "C of shape [6, 4]"),
    ("alpha_text", ModelError, "malformed (ValueError"),
])
def test_malformed_qgemm_is_named(tmp_path, case, error, words):
    path = _qgemm_graph(tmp_path, **{"b_not_constant": dict(b=None),
                                     "missing_scale": dict(inputs=["a", "", "az", "b", "bs", "bz"]),
                                     "negative_alpha": dict(alpha=-1.0),
                                     "y_scale_alone": dict(inputs=["a", "as", "az", "b", "bs", "bz", "c", "as"]),
                                     "c_per_row": dict(c=np.ones((6, 4), np.int32)),
                                     "alpha_text": dict(alpha="two")}[case])  # onnx checks no contrib attribute
    with pytest.raises(error) as e:
        load_onnx(path)
    assert "the_qgemm" in str(e.value) and words in str(e.value), str(e.value)
