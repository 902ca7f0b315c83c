"""ONNX frontend: the shared MLPerf Tiny ONNX files and small hand-built models import to NHWC graphs with
no layout moves left, compute what onnxruntime computes (through the tests/ir_eval.py oracle), and bad
files give one clear error naming the file and the node."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import ir_eval
from conftest import MODELS
from edgeai.errors import ModelError, UnsupportedOpError
from edgeai.frontends.onnx import load_onnx
from edgeai.passes import default_pipeline

ONNX_DIR = MODELS / "mlperf_tiny_onnx"
FILES = sorted(p.name for p in ONNX_DIR.glob("*.onnx"))

# Input ranges from the folder's README.txt (the float range implied by the int8 sibling's input quantization).
RANGES = {"kws": (-123.3723, 25.7269), "vww": (0.0, 1.0), "pretrainedResnet": (0.0, 255.0), "ad01": (-84.8503, 14.8586),
          "str_ww": (0.0, 0.9438)}

CONV_KWS = {"conv2d": 5, "depthwise_conv2d": 4, "average_pool2d": 1, "fully_connected": 1, "softmax": 1}
CONV_VWW = {"conv2d": 14, "depthwise_conv2d": 13, "average_pool2d": 1, "fully_connected": 1, "softmax": 1}
CONV_RESNET = {"conv2d": 9, "add": 3, "average_pool2d": 1, "fully_connected": 1, "softmax": 1}
# What each file becomes after load_onnx + default_pipeline. int8-in/int8-out files keep one float island
# (dequantize → softmax → quantize); float-in QDQ files keep the interface quantize/dequantize as well.
ISLAND = {"dequantize": 1, "quantize": 1}
QDQ_EDGES = {"dequantize": 2, "quantize": 2}
EXPECTED = {
    "ad01_fp32.onnx": {"fully_connected": 10},
    "ad01_fp32_qdq.onnx": {"fully_connected": 10, "dequantize": 1, "quantize": 1},
    "ad01_int8.onnx": {"fully_connected": 10},
    "kws_ref_model.onnx": {**CONV_KWS, **ISLAND},
    "kws_ref_model_float32.onnx": CONV_KWS,
    "kws_ref_model_float32_dequant.onnx": CONV_KWS,
    "kws_ref_model_float32_dequant_qdq.onnx": {**CONV_KWS, **QDQ_EDGES},
    "pretrainedResnet.onnx": CONV_RESNET,
    "pretrainedResnet_qdq.onnx": {**CONV_RESNET, **QDQ_EDGES},
    "pretrainedResnet_quant.onnx": {**CONV_RESNET, **ISLAND},
    "vww_96_float.onnx": CONV_VWW,
    "vww_96_float_qdq.onnx": {**CONV_VWW, **QDQ_EDGES},
    "vww_96_int8.onnx": {**CONV_VWW, **ISLAND},
}
QUANT = [n for n in FILES if "qdq" in n or "int8" in n or n.endswith("_quant.onnx") or n == "kws_ref_model.onnx"]
FLOAT = [n for n in FILES if n not in QUANT]
_cache: dict[str, object] = {}


def imported(name: str):
    if name not in _cache:
        _cache[name] = default_pipeline(load_onnx(ONNX_DIR / name), debug=True)
    return _cache[name]


def _onnx_dtype(value_info) -> str:
    return np.dtype(helper.tensor_dtype_to_np_dtype(value_info.type.tensor_type.elem_type)).name


def test_the_shared_folder_is_there():
    assert len(FILES) >= 10, f"expected the MLPerf Tiny ONNX files under {ONNX_DIR}"


@pytest.mark.parametrize("name", FILES)
def test_shared_model_imports_clean(name):
    g = imported(name)
    ops = Counter(n.op for n in g.nodes)
    assert "transpose" not in ops and "reshape" not in ops, dict(ops)
    if name in EXPECTED:
        assert dict(ops) == EXPECTED[name]
    model = onnx.load(str(ONNX_DIR / name), load_external_data=False)
    (inp,), (out,) = model.graph.input, model.graph.output
    x, y = g.tensor(g.inputs[0]), g.tensor(g.outputs[0])
    assert (x.dtype, y.dtype) == (_onnx_dtype(inp), _onnx_dtype(out))  # the interface keeps the file's dtypes
    assert x.shape[0] == 1 and x.shape[1:] == tuple(d.dim_value for d in inp.type.tensor_type.shape.dim[1:])
    if x.dtype == "int8":
        assert x.quant is not None and y.quant is not None
    heavy = [n for n in g.nodes if n.op in ("conv2d", "depthwise_conv2d", "fully_connected")]
    for node in heavy if name in QUANT else ():  # every heavy op of a quantized file runs on int8
        assert g.tensor(node.inputs[0]).dtype == "int8", node.name
        w = g.tensor(node.inputs[1])
        assert w.dtype == "int8" and w.quant is not None
        assert w.quant.per_tensor or w.quant.axis == (3 if node.op == "depthwise_conv2d" else 0)  # output channels
        assert len(node.inputs) < 3 or g.tensor(node.inputs[2]).dtype == "int32"


def _inputs(name, tensor, n=20):
    rng = np.random.default_rng(0)
    lo, hi = next(v for k, v in RANGES.items() if name.startswith(k))
    for _ in range(n):
        if tensor.dtype == "int8":
            yield rng.integers(-128, 128, tensor.shape).astype(np.int8)
        else:
            yield rng.uniform(lo, hi, tensor.shape).astype(np.float32)


def _compare(name):
    """onnxruntime on the graph as written (ORT_DISABLE_ALL): with its optimisations it fuses QDQ pairs into
    integer kernels whose results depend on the CPU (an AVX2-only host's u8s8 multiply-add saturates)."""
    g = imported(name)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(ONNX_DIR / name), options, providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0].name
    refs, outs = [], []
    for x in _inputs(name, g.tensor(g.inputs[0])):
        refs.append(session.run(None, {feed: x})[0])
        outs.append(ir_eval.run(g, {g.inputs[0]: x})[g.outputs[0]])
    return g, np.array(refs), np.array(outs)




@pytest.mark.parametrize("name", FLOAT)
def test_float_model_matches_onnxruntime(name):
    _, ref, out = _compare(name)
    span = float(ref.max() - ref.min())
    assert np.abs(out - ref).max() <= 1e-4 * span, (np.abs(out - ref).max(), span)
    if "ad01" not in name:
        assert (out.argmax(-1) == ref.argmax(-1)).all()


@pytest.mark.parametrize("name", QUANT)
def test_quantized_model_is_close_to_onnxruntime(name):
    """The oracle computes each int8 op in float64 and requantizes; onnxruntime dequantizes, computes in float32
    and quantizes. They meet at ties of the rounding: resnet's 8×8 average pool is off by 1 LSB on a few
    channels, which the dense layer and the softmax widen to 11 LSB at the output. Bit-exactness is the
    compiled code's test, not this one."""
    g, ref, out = _compare(name)
    last = g.nodes[-1]
    if g.tensor(g.outputs[0]).dtype == "int8":
        lsb = 1.0  # int8 outputs compare in integers
    else:  # float outputs: the step of the int8 tensor the final dequantize reads
        lsb = g.tensor(last.inputs[0]).quant.scale[0]
    diff = np.abs(out.astype(np.float64) - ref.astype(np.float64)) / lsb
    # 12 LSB; the softmax of pretrainedResnet_qdq turns one logit LSB into up to s_z / (2 s_out) = 19 output LSB
    # (test_onnx_import's QDQ comment), which onnxruntime's float32 reaches against the float64 oracle
    bound = 19 if name == "pretrainedResnet_qdq.onnx" else 12
    assert diff.max() <= bound + 1e-3 and diff.mean() <= 0.5, (diff.max(), diff.mean())  # float32 LSB quotients
    if "ad01" not in name:
        assert (out.argmax(-1) == ref.argmax(-1)).mean() >= 0.95


# -- small models built with onnx.helper ---------------------------------------------------------------------
def _save(tmp_path: Path, name: str, nodes, inputs, outputs, inits=(), opset=13) -> Path:
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=[numpy_helper.from_array(a, n)
                                                                         for n, a in inits])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


def _vi(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def _check_against_ort(path: Path, low=-2.0, high=2.0, tol=1e-4):
    g = default_pipeline(load_onnx(path), debug=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    feeds = {i.name: rng.uniform(low, high, g.tensor(i.name).shape if i.name in g.tensors else
                                 [d if isinstance(d, int) else 1 for d in i.shape]).astype(np.float32)
             for i in session.get_inputs()}
    ref = session.run(None, feeds)
    out = ir_eval.run(g, feeds)
    for r, name in zip(ref, g.outputs):
        np.testing.assert_allclose(out[name], r, atol=tol, rtol=tol)
    return g


def _w(*shape, seed=0):
    return np.random.default_rng(seed).normal(0, 0.5, shape).astype(np.float32)


def test_conv_batchnorm_relu_folds_to_one_conv(tmp_path):
    c = 4
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("BatchNormalization", ["c", "g", "beta", "mean", "var"], ["n"], epsilon=1e-3),
             helper.make_node("Relu", ["n"], ["y"])]
    rng = np.random.default_rng(2)
    inits = [("w", _w(c, 3, 3, 3)), ("b", _w(c)), ("g", _w(c, seed=1)), ("beta", _w(c, seed=2)),
             ("mean", _w(c, seed=3)), ("var", rng.uniform(0.5, 2, c).astype(np.float32))]
    path = _save(tmp_path, "conv_bn", nodes, [_vi("x", [1, 3, 8, 8])], [_vi("y", [1, c, 4, 4])], inits)
    g = _check_against_ort_nchw(path, [1, 3, 8, 8])
    assert [n.op for n in g.nodes] == ["transpose", "conv2d", "transpose"]
    assert g.nodes[1].attrs["activation"] == "relu" and len(g.nodes[1].inputs) == 3


def _check_against_ort_nchw(path, shape, tol=1e-4):
    """Models with NCHW graph inputs/outputs: the graph keeps one transpose in and one out."""
    g = default_pipeline(load_onnx(path), debug=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).uniform(-2, 2, shape).astype(np.float32)
    ref = session.run(None, {session.get_inputs()[0].name: x})[0]
    out = ir_eval.run(g, {g.inputs[0]: x})[g.outputs[0]]
    np.testing.assert_allclose(out, ref, atol=tol, rtol=tol)
    return g


def test_nhwc_input_transpose_folds_away_through_convs_pools_and_concat(tmp_path):
    """NHWC input → Transpose(0,3,1,2) → conv / depthwise (group=C) / pools / Concat(axis=1) / Pad / Clip →
    GlobalAveragePool → Flatten → Gemm → Softmax: no transpose and no reshape survive."""
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["xt", "w1"], ["c1"], kernel_shape=[3, 3], auto_pad="SAME_UPPER"),
        helper.make_node("Clip", ["c1", "lo", "hi"], ["r1"]),
        helper.make_node("Conv", ["r1", "wd"], ["c2"], group=8, pads=[2, 2, 2, 2], dilations=[2, 2]),
        helper.make_node("MaxPool", ["c2"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("AveragePool", ["c2"], ["p2"], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1]),
        helper.make_node("Concat", ["p1", "p2"], ["cat"], axis=1),
        helper.make_node("Pad", ["cat", "pads"], ["pad"]),
        helper.make_node("Sigmoid", ["pad"], ["s"]),
        helper.make_node("Mul", ["s", "k"], ["m"]),
        helper.make_node("GlobalAveragePool", ["m"], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["f"]),
        helper.make_node("Gemm", ["f", "fw", "fb"], ["logits"], transB=1, alpha=0.5, beta=2.0),
        helper.make_node("Softmax", ["logits"], ["y"], axis=-1),
    ]
    inits = [("w1", _w(8, 3, 3, 3)), ("wd", _w(8, 1, 3, 3, seed=1)), ("lo", np.array(0, np.float32)),
             ("hi", np.array(6, np.float32)), ("pads", np.array([0, 0, 1, 1, 0, 0, 0, 0], np.int64)),
             ("k", _w(16, 1, 1, seed=4)), ("fw", _w(5, 16, seed=2)), ("fb", _w(5, seed=3))]
    path = _save(tmp_path, "nhwc_zoo", nodes, [_vi("x", [1, 12, 12, 3])], [_vi("y", [1, 5])], inits)
    g = _check_against_ort(path)
    ops = [n.op for n in g.nodes]
    assert "transpose" not in ops and "reshape" not in ops, ops
    assert ops.count("depthwise_conv2d") == 1 and g.nodes[0].op == "conv2d"
    assert next(n for n in g.nodes if n.op == "concat").attrs["axis"] == 3  # NCHW axis 1 is NHWC axis 3


def test_matmul_reduce_mean_squeeze_unsqueeze(tmp_path):
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 3, 1, 2]),
        helper.make_node("ReduceMean", ["xt"], ["rm"], axes=[2, 3], keepdims=1),
        helper.make_node("Squeeze", ["rm", "ax"], ["sq"]),
        helper.make_node("MatMul", ["sq", "w"], ["mm"]),
        helper.make_node("Add", ["mm", "b"], ["a"]),
        helper.make_node("Tanh", ["a"], ["t"]),
        helper.make_node("Unsqueeze", ["t", "ax1"], ["u"]),
        helper.make_node("Identity", ["u"], ["y"]),
    ]
    inits = [("ax", np.array([2, 3], np.int64)), ("ax1", np.array([1], np.int64)), ("w", _w(6, 4)), ("b", _w(4))]
    path = _save(tmp_path, "mm", nodes, [_vi("x", [1, 5, 5, 6])], [_vi("y", [1, 1, 4])], inits)
    g = _check_against_ort(path)
    assert [n.op for n in g.nodes].count("fully_connected") == 1


def test_symbolic_batch_is_pinned_to_one(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    path = _save(tmp_path, "batch", nodes, [_vi("x", ["N", 7])], [_vi("y", ["N", 7])])
    g = load_onnx(path)
    assert g.tensor(g.inputs[0]).shape == (1, 7)


def test_int8_qdq_conv_with_float_bias_becomes_int8_conv(tmp_path):
    """DQ(int8 x) → Conv(DQ(int8 w, per channel), float bias) → Relu → Q: one int8 conv2d with an int32
    bias of scale x_scale × w_scale and the relu fused."""
    w = np.random.default_rng(3).integers(-127, 128, (4, 2, 3, 3)).astype(np.int8)
    w_scale = np.array([0.01, 0.02, 0.015, 0.03], np.float32)
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 3, 1, 2]),
        helper.make_node("DequantizeLinear", ["xt", "xs", "xz"], ["xf"]),
        helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wf"], axis=0),
        helper.make_node("Conv", ["xf", "wf", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("QuantizeLinear", ["r", "ys", "yz"], ["q"]),
        helper.make_node("Transpose", ["q"], ["y"], perm=[0, 2, 3, 1]),
    ]
    inits = [("w", w), ("ws", w_scale), ("wz", np.zeros(4, np.int8)), ("xs", np.array(0.05, np.float32)),
             ("xz", np.array(3, np.int8)), ("b", _w(4)), ("ys", np.array(0.04, np.float32)),
             ("yz", np.array(-128, np.int8))]
    path = _save(tmp_path, "qconv", nodes, [_vi("x", [1, 6, 6, 2], TensorProto.INT8)],
                 [_vi("y", [1, 6, 6, 4], TensorProto.INT8)], inits)
    g = default_pipeline(load_onnx(path), debug=True)
    assert [n.op for n in g.nodes] == ["conv2d"]
    conv = g.nodes[0]
    bias = g.tensor(conv.inputs[2])
    assert conv.attrs["activation"] == "relu" and bias.dtype == "int32"
    np.testing.assert_allclose(bias.quant.scale, 0.05 * w_scale, rtol=1e-6)
    x = np.random.default_rng(4).integers(-128, 128, (1, 6, 6, 2)).astype(np.int8)
    ref = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    out = ir_eval.run(g, {"x": x})[g.outputs[0]]
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1


# -- bad files -----------------------------------------------------------------------------------------------
def test_truncated_file_names_the_file(tmp_path):
    data = (ONNX_DIR / "vww_96_float.onnx").read_bytes()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelError, match="cut.onnx"):
        load_onnx(path)


def test_random_bytes_name_the_file(tmp_path):
    path = tmp_path / "noise.onnx"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096).astype(np.uint8).tobytes())
    with pytest.raises(ModelError, match="noise.onnx"):
        load_onnx(path)


def test_unsupported_op_names_file_node_and_op(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="ok"),
             helper.make_node("Hardmax", ["r"], ["y"], name="the_hardmax")]
    path = _save(tmp_path, "hardmax", nodes, [_vi("x", [1, 4])], [_vi("y", [1, 4])])
    with pytest.raises(UnsupportedOpError) as e:
        load_onnx(path)
    assert "hardmax.onnx" in str(e.value) and "the_hardmax" in str(e.value) and "Hardmax" in str(e.value)


def test_dynamic_non_batch_dimension_names_the_tensor(tmp_path):
    path = _save(tmp_path, "dyn", [helper.make_node("Relu", ["x"], ["y"])], [_vi("x", [1, "T", 8])],
                 [_vi("y", [1, "T", 8])])
    with pytest.raises(ModelError) as e:
        load_onnx(path)
    assert "dyn.onnx" in str(e.value) and "'x'" in str(e.value) and "dimension 1" in str(e.value)


def test_checker_failure_is_a_model_error(tmp_path):
    nodes = [helper.make_node("Relu", ["missing"], ["y"], name="r")]
    path = _save(tmp_path, "broken", nodes, [_vi("x", [1, 4])], [_vi("y", [1, 4])])
    with pytest.raises(ModelError, match="broken.onnx"):
        load_onnx(path)


# -- ops the importer rewrites into others ---------------------------------------------------------------------
def test_leaky_relu_and_gemm_trans_a(tmp_path):
    nodes = [helper.make_node("LeakyRelu", ["x"], ["l"], alpha=0.1),
             helper.make_node("Gemm", ["l", "w", "b"], ["y"], transA=1)]
    path = _save(tmp_path, "leaky", nodes, [_vi("x", [6, 1])], [_vi("y", [1, 3])], [("w", _w(6, 3)), ("b", _w(3))])
    g = _check_against_ort(path)
    assert "fully_connected" in [n.op for n in g.nodes]


def _qlinear_conv_model(tmp_path, bias=True):
    rng = np.random.default_rng(5)
    w = rng.integers(-127, 128, (4, 3, 3, 3)).astype(np.int8)
    inputs = ["xt", "xs", "xz", "w", "ws", "wz", "ys", "yz"] + (["b"] if bias else [])
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 3, 1, 2]),
             helper.make_node("QLinearConv", inputs, ["q"], pads=[1, 1, 1, 1], strides=[2, 2], name="qconv"),
             helper.make_node("Transpose", ["q"], ["y"], perm=[0, 2, 3, 1])]
    inits = [("xs", np.array(0.05, np.float32)), ("xz", np.array(-3, np.int8)), ("w", w),
             ("ws", np.array([0.01, 0.02, 0.015, 0.03], np.float32)), ("wz", np.zeros(4, np.int8)),
             ("ys", np.array(0.1, np.float32)), ("yz", np.array(7, np.int8)),
             ("b", rng.integers(-2000, 2000, 4).astype(np.int32))]
    return _save(tmp_path, "qlinearconv", nodes, [_vi("x", [1, 8, 8, 3], TensorProto.INT8)],
                 [_vi("y", [1, 4, 4, 4], TensorProto.INT8)], inits[:8] + (inits[8:] if bias else []))


def test_qlinear_conv_becomes_one_int8_conv(tmp_path):
    path = _qlinear_conv_model(tmp_path)
    g = default_pipeline(load_onnx(path), debug=True)
    assert [n.op for n in g.nodes] == ["conv2d"]
    assert [g.tensor(i).dtype for i in g.nodes[0].inputs] == ["int8", "int8", "int32"]
    x = np.random.default_rng(6).integers(-128, 128, (1, 8, 8, 3)).astype(np.int8)
    ref = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    out = ir_eval.run(g, {"x": x})[g.outputs[0]]
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1


def test_qlinear_matmul_becomes_one_int8_fully_connected(tmp_path):
    rng = np.random.default_rng(7)
    nodes = [helper.make_node("QLinearMatMul", ["x", "as", "az", "w", "bs", "bz", "ys", "yz"], ["y"])]
    inits = [("as", np.array(0.05, np.float32)), ("az", np.array(2, np.int8)),
             ("w", rng.integers(-127, 128, (16, 5)).astype(np.int8)), ("bs", np.array(0.01, np.float32)),
             ("bz", np.array(0, np.int8)), ("ys", np.array(0.2, np.float32)), ("yz", np.array(-1, np.int8))]
    path = _save(tmp_path, "qlinearmatmul", nodes, [_vi("x", [1, 16], TensorProto.INT8)],
                 [_vi("y", [1, 5], TensorProto.INT8)], inits)
    g = default_pipeline(load_onnx(path), debug=True)
    assert [n.op for n in g.nodes] == ["fully_connected"]
    x = rng.integers(-128, 128, (1, 16)).astype(np.int8)
    ref = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    out = ir_eval.run(g, {"x": x})[g.outputs[0]]
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1


# -- compiled on the host and compared with onnxruntime ----------------------------------------------------------
def _compiled_and_ort(path: Path, feeds: list[list[np.ndarray]], out_dir: Path, numerics=None):
    """Every output of the compiled model and of onnxruntime (no graph optimizations) on each feed."""
    from edgeai.compile import compile_model
    from edgeai.runtime.host import HostSession

    session = HostSession(compile_model(path, "host", out_dir, numerics=numerics).path)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    ref = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in ref.get_inputs()]
    return [(session.run(xs), ref.run(None, dict(zip(names, xs)))) for xs in feeds]


def _lsb_diff(got, want) -> np.ndarray:
    return np.abs(got.astype(np.int64) - want.astype(np.int64))


def _pad_modes_model(tmp_path):
    """Conv (stored NHWC) → Pad reflect → Pad edge → Pad wrap, pads given in NCHW and on every axis but N."""
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[1, 1]),
             helper.make_node("Pad", ["c", "p1"], ["r"], mode="reflect"),
             helper.make_node("Pad", ["r", "p2"], ["e"], mode="edge"),
             helper.make_node("Pad", ["e", "p3"], ["y"], mode="wrap")]
    inits = [("w", _w(4, 3, 1, 1)), ("p1", np.array([0, 1, 2, 0, 0, 2, 1, 3], np.int64)),
             ("p2", np.array([0, 2, 0, 1, 0, 0, 3, 2], np.int64)), ("p3", np.array([0, 1, 1, 0, 0, 2, 0, 4], np.int64))]
    return _save(tmp_path, "pad_modes", nodes, [_vi("x", [1, 3, 5, 6])], [_vi("y", [1, 12, 12, 16])], inits, opset=19)


def test_pad_modes_map_nchw_pads_to_nhwc(tmp_path):
    g = load_onnx(_pad_modes_model(tmp_path))
    pads = [(n.attrs["mode"], n.attrs["pads"]) for n in g.nodes if n.op == "pad"]
    # ONNX [N, C, H, W] before/after → stored NHWC [N, H, W, C] before/after
    assert pads == [("reflect", (0, 2, 0, 1, 0, 1, 3, 2)), ("edge", (0, 0, 1, 2, 0, 3, 2, 0)),
                    ("wrap", (0, 1, 0, 1, 0, 0, 4, 2))]


@pytest.mark.toolchain
def test_pad_modes_float_match_onnxruntime(tmp_path, tmp_cache):
    rng = np.random.default_rng(8)
    feeds = [[rng.uniform(-2, 2, (1, 3, 5, 6)).astype(np.float32)] for _ in range(3)]
    for (got,), (want,) in _compiled_and_ort(_pad_modes_model(tmp_path), feeds, tmp_path / "lib"):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_pad_mode_errors_name_the_node(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Pad", ["r", "p"], ["y"], mode="reflect",
                                                                       name="too_far")]
    path = _save(tmp_path, "reflect_far", nodes, [_vi("x", [1, 3])], [_vi("y", [1, 9])],
                 [("p", np.array([0, 3, 0, 3], np.int64))])
    with pytest.raises(UnsupportedOpError, match="too_far.*reflect pads"):
        load_onnx(path)


def _qdq_pad_model(tmp_path):
    """int8 NHWC input → DQ → Transpose to NCHW → Pad reflect → Q → DQ → Pad edge → Q → DQ → Pad constant
    0.5 → Q into another quantization: three int8 pads after the QDQ fusion (ONNX numerics), the last
    requantizing."""
    nodes = [helper.make_node("DequantizeLinear", ["x", "s", "z"], ["xd"]),
             helper.make_node("Transpose", ["xd"], ["xt"], perm=[0, 3, 1, 2]),
             helper.make_node("Pad", ["xt", "p_r"], ["r_f"], mode="reflect"),
             helper.make_node("QuantizeLinear", ["r_f", "s", "z"], ["r"]),
             helper.make_node("DequantizeLinear", ["r", "s", "z"], ["r_d"]),
             helper.make_node("Pad", ["r_d", "p_e"], ["e_f"], mode="edge"),
             helper.make_node("QuantizeLinear", ["e_f", "s", "z"], ["e"]),
             helper.make_node("DequantizeLinear", ["e", "s", "z"], ["e_d"]),
             helper.make_node("Pad", ["e_d", "p_y", "v"], ["y_f"]),
             helper.make_node("QuantizeLinear", ["y_f", "s_y", "z_y"], ["y"])]
    inits = [("s", np.array(0.05, np.float32)), ("z", np.array(-3, np.int8)),
             ("p_r", np.array([0, 0, 2, 1, 0, 0, 1, 2], np.int64)),
             ("p_e", np.array([0, 1, 1, 0, 0, 0, 2, 1], np.int64)),
             ("p_y", np.array([0, 0, 1, 1, 0, 2, 0, 1], np.int64)), ("v", np.array(0.5, np.float32)),
             ("s_y", np.array(0.07, np.float32)), ("z_y", np.array(5, np.int8))]
    return _save(tmp_path, "qdq_pad", nodes, [_vi("x", [1, 4, 5, 3], TensorProto.INT8)],
                 [_vi("y", [1, 6, 11, 11], TensorProto.INT8)], inits)


@pytest.mark.toolchain
def test_int8_pad_modes_and_requantizing_pad_match_onnxruntime(tmp_path, tmp_cache):
    path = _qdq_pad_model(tmp_path)
    g = default_pipeline(load_onnx(path), debug=True)
    pads = [n for n in g.nodes if n.op == "pad"]
    assert [n.attrs["mode"] for n in pads] == ["reflect", "edge", "constant"]
    assert all(g.tensor(n.inputs[0]).dtype == "int8" and n.attrs["numerics"] == "onnx" for n in pads)
    rng = np.random.default_rng(9)
    feeds = [[rng.integers(-128, 128, (1, 4, 5, 3)).astype(np.int8)] for _ in range(5)]
    diffs = [_lsb_diff(got, want) for (got,), (want,) in _compiled_and_ort(path, feeds, tmp_path / "lib")]
    # 0 of 5 × 726 values differ (1 LSB could: the last pad requantizes by 0.05 / 0.07 exactly, onnxruntime in
    # float32).
    assert max(d.max() for d in diffs) <= 1 and sum(int((d > 0).sum()) for d in diffs) <= 10


def _per_axis_model(tmp_path):
    """int8 NCHW input dequantized per channel (axis 1) → Conv (stored NHWC) → QuantizeLinear per channel
    (axis 1, relabelled to NHWC axis 3) → the int8 output, and its DequantizeLinear as a float output."""
    rng = np.random.default_rng(10)
    nodes = [helper.make_node("DequantizeLinear", ["x", "sx", "zx"], ["xd"], axis=1),
             helper.make_node("Conv", ["xd", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("QuantizeLinear", ["c", "sq", "zq"], ["q"], axis=1),
             helper.make_node("DequantizeLinear", ["q", "sq", "zq"], ["y"], axis=-3)]
    inits = [("sx", np.array([0.02, 0.05, 0.1], np.float32)), ("zx", np.array([-5, 0, 7], np.int8)),
             ("w", _w(4, 3, 3, 3)), ("b", _w(4, seed=1)), ("sq", np.array([0.03, 0.08, 0.05, 0.2], np.float32)),
             ("zq", rng.integers(-20, 20, 4).astype(np.int8))]
    return _save(tmp_path, "per_axis", nodes, [_vi("x", [1, 3, 6, 7], TensorProto.INT8)],
                 [_vi("q", [1, 4, 6, 7], TensorProto.INT8), _vi("y", [1, 4, 6, 7])], inits)


@pytest.mark.toolchain
def test_per_axis_quantize_dequantize_of_activations_match_onnxruntime(tmp_path, tmp_cache):
    path = _per_axis_model(tmp_path)
    g = default_pipeline(load_onnx(path), debug=True)
    dq = next(n for n in g.nodes if n.op == "dequantize" and n.inputs[0] == "x")
    quant = next(n for n in g.nodes if n.op == "quantize")
    assert g.tensor("x").quant.axis == 1  # the graph input stays NCHW
    assert g.tensor(quant.outputs[0]).quant.axis == 3 and g.tensor(quant.inputs[0]).shape == (1, 6, 7, 4)
    assert g.tensor(g.outputs[0]).quant.axis == 1 and g.tensor(g.outputs[0]).quant.scale[1] == pytest.approx(0.08)
    assert g.tensor(dq.outputs[0]).shape == (1, 3, 6, 7)
    rng = np.random.default_rng(11)
    feeds = [[rng.integers(-128, 128, (1, 3, 6, 7)).astype(np.int8)] for _ in range(3)]
    for (q, y), (q_ref, y_ref) in _compiled_and_ort(path, feeds, tmp_path / "lib"):
        # 0 of 3 × 168 int8 values differ; 1 LSB could (the float conv sums in another order than onnxruntime)
        assert _lsb_diff(q, q_ref).max() <= 1
        step = np.array([0.03, 0.08, 0.05, 0.2], np.float32).reshape(1, 4, 1, 1)
        assert (np.abs(y - y_ref) <= step * 1.0001).all()
        np.testing.assert_allclose(y[q == q_ref], y_ref[q == q_ref], rtol=1e-5)


def _concat_model(tmp_path, out_scale=0.5, out_zp=2):
    """Three int8 inputs in different quantizations → DQ → Concat (axis 1) → Q."""
    nodes = [helper.make_node("DequantizeLinear", [f"x{i}", f"s{i}", f"z{i}"], [f"d{i}"]) for i in range(3)]
    nodes += [helper.make_node("Concat", ["d0", "d1", "d2"], ["c"], axis=1),
              helper.make_node("QuantizeLinear", ["c", "so", "zo"], ["y"])]
    inits = [("s0", np.array(0.25, np.float32)), ("z0", np.array(1, np.int8)),  # ratio 1/2: ties, halves to even
             ("s1", np.array(0.11, np.float32)), ("z1", np.array(-7, np.int8)),
             ("s2", np.array(out_scale, np.float32)), ("z2", np.array(out_zp, np.int8)),  # the output's: a copy
             ("so", np.array(out_scale, np.float32)), ("zo", np.array(out_zp, np.int8))]
    return _save(tmp_path, "concat_q", nodes, [_vi(f"x{i}", [1, 2 + i, 3, 4], TensorProto.INT8) for i in range(3)],
                 [_vi("y", [1, 9, 3, 4], TensorProto.INT8)], inits)


@pytest.mark.toolchain
def test_int8_concat_requantizes_each_input_with_onnx_numerics(tmp_path, tmp_cache):
    path = _concat_model(tmp_path)
    g = default_pipeline(load_onnx(path), debug=True)
    assert [n.op for n in g.nodes] == ["concat"] and g.nodes[0].attrs["numerics"] == "onnx"
    rng = np.random.default_rng(12)
    feeds = [[rng.integers(-128, 128, (1, 2 + i, 3, 4)).astype(np.int8) for i in range(3)] for _ in range(5)]
    feeds.append([np.arange(-128, 128, 10, dtype=np.int8)[:24].reshape(1, 2, 3, 4), *feeds[0][1:]])
    diffs = []
    for (got,), (want,) in _compiled_and_ort(path, feeds, tmp_path / "lib"):
        np.testing.assert_array_equal(got[:, :2], want[:, :2])  # ratio 1/2: exact ties, halves to even
        np.testing.assert_array_equal(got[:, 5:], want[:, 5:])  # the output's quantization: a copy
        diffs.append(_lsb_diff(got, want))
    # 1 of 6 × 108 values differs by 1 LSB: onnxruntime rounds (x + 7) · 0.11 to float32 before dividing by 0.5
    # (x = 18: 5.5 → 6), the exact value is 5.49999997 → 5.
    assert max(d.max() for d in diffs) <= 1


def test_int8_concat_of_different_quantizations_is_refused_with_tflite_numerics(tmp_path):
    from edgeai.compile import compile_model

    with pytest.raises(UnsupportedOpError, match="TFLite numerics require equal quantization"):
        compile_model(_concat_model(tmp_path), "host", tmp_path / "lib", numerics="tflite")
