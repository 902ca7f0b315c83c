"""ONNX ops real models from the field use, built small with onnx.helper and compared with onnxruntime.

Sum, opset < 13 Softmax over several axes, 1-D pooling, grouped Conv and LRN are rewritten at import into ops
the compiler has (edgeai/frontends/onnx_rewrites.py). Each is compiled for the host and compared with onnxruntime
in float; those with an int8 rule are also quantized with `edgeai quantize` and compared, as QDQ, within 1 LSB.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import onnx.compose
import pytest
from onnx import TensorProto, helper, numpy_helper

ort = pytest.importorskip("onnxruntime")
from test_onnx_frontend import _compiled_and_ort  # noqa: E402 - compiled on the host and onnxruntime, per feed
from field_models.light_weights import light_with_random_weights  # noqa: E402

pytestmark = [pytest.mark.toolchain]


def _save(tmp_path: Path, name, nodes, inputs, outputs, inits=(), opset=13) -> Path:
    graph = helper.make_graph(nodes, name, inputs, outputs,
                              initializer=[numpy_helper.from_array(a, n) for n, a in inits])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


def _vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _w(*shape, seed=0):
    return np.random.default_rng(seed).normal(0, 0.5, shape).astype(np.float32)


def _sum(tmp_path):
    nodes = [helper.make_node("Relu", ["a"], ["r"]), helper.make_node("Sum", ["r", "b", "c"], ["y"])]
    return _save(tmp_path, "sum3", nodes, [_vi("a", [1, 4, 5, 6]), _vi("b", [1, 4, 5, 6])], [_vi("y", [1, 4, 5, 6])],
                 [("c", _w(4, 1, 1))])


def _softmax_opset11(tmp_path):
    """axis=1 of [1, 10, 3, 1] at opset 11: softmax over the 30 values of each batch row."""
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Softmax", ["r"], ["y"], axis=1)]
    return _save(tmp_path, "softmax11", nodes, [_vi("x", [1, 10, 3, 1])], [_vi("y", [1, 10, 3, 1])], opset=11)


def _softmax_opset9_classifier(tmp_path):
    """The light_* models' tail: [1, 1000, 1, 1] at opset 9, default axis 1."""
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Softmax", ["r"], ["y"])]
    return _save(tmp_path, "softmax9", nodes, [_vi("x", [1, 100, 1, 1])], [_vi("y", [1, 100, 1, 1])], opset=9)


def _pool_1d(tmp_path):
    nodes = [helper.make_node("MaxPool", ["x"], ["m"], kernel_shape=[3], strides=[2], pads=[1, 1]),
             helper.make_node("AveragePool", ["m"], ["a"], kernel_shape=[2], strides=[1]),
             helper.make_node("GlobalAveragePool", ["a"], ["y"])]
    return _save(tmp_path, "pool1d", nodes, [_vi("x", [1, 6, 17])], [_vi("y", [1, 6, 1])])


def _grouped_conv(tmp_path):
    """shufflenet's grouped 1x1 and 3x3 convolutions (group 3)."""
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c"], group=3),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Conv", ["r", "w2"], ["y"], group=3, kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                              strides=[2, 2])]
    return _save(tmp_path, "grouped", nodes, [_vi("x", [1, 6, 8, 8])], [_vi("y", [1, 12, 4, 4])],
                 [("w1", _w(9, 2, 1, 1)), ("b1", _w(9, seed=1)), ("w2", _w(12, 3, 3, 3, seed=2))])


def _lrn_and_conv_transpose(tmp_path):
    """LRN, and (sharing the compile) ConvTranspose: explicit pads with output_padding, grouped, SAME_LOWER."""
    nodes = [helper.make_node("Relu", ["x"], ["r"]),
             helper.make_node("LRN", ["r"], ["y"], size=5, alpha=1e-2, beta=0.75, bias=2.0),
             helper.make_node("ConvTranspose", ["r", "w1", "b1"], ["t0"], strides=[2, 2], pads=[1, 1, 1, 1],
                              output_padding=[1, 1]),
             helper.make_node("ConvTranspose", ["r", "w2"], ["t1"], strides=[2, 3], group=7),
             helper.make_node("ConvTranspose", ["r", "w1"], ["t2"], strides=[2, 2], auto_pad="SAME_LOWER")]
    return _save(tmp_path, "lrn", nodes, [_vi("x", [1, 7, 4, 5])],
                 [_vi("y", [1, 7, 4, 5]), _vi("t0", [1, 3, 8, 10]), _vi("t1", [1, 14, 9, 17]),
                  _vi("t2", [1, 3, 8, 10])],
                 [("w1", _w(7, 3, 3, 3)), ("b1", _w(3, seed=1)), ("w2", _w(7, 2, 3, 5, seed=2))])


def test_conv_transpose_with_dilations_is_refused_naming_the_node(tmp_path):
    from edgeai.errors import UnsupportedOpError
    from edgeai.frontends.onnx import load_onnx

    nodes = [helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="up", strides=[2, 2], dilations=[2, 2])]
    path = _save(tmp_path, "dilated", nodes, [_vi("x", [1, 2, 4, 4])], [_vi("y", [1, 3, 11, 11])],
                 [("w", _w(2, 3, 3, 3))])
    with pytest.raises(UnsupportedOpError, match=r"'up' \(ConvTranspose\): dilations \[2, 2\] are not supported"):
        load_onnx(path)


def _batchnorm(tmp_path):
    """BatchNormalization after a Conv (folds into it) and after a Relu (per-channel Mul and Add, broadcast)."""
    rng = np.random.default_rng(3)
    stats = lambda p: [(f"{p}g", _w(4, seed=4) + 1), (f"{p}b", _w(4, seed=5)), (f"{p}m", _w(4, seed=6)),  # noqa: E731
                       (f"{p}v", rng.uniform(0.5, 2, 4).astype(np.float32))]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "1g", "1b", "1m", "1v"], ["n"]),
             helper.make_node("Relu", ["n"], ["r"]),
             helper.make_node("BatchNormalization", ["r", "2g", "2b", "2m", "2v"], ["y"])]
    return _save(tmp_path, "batchnorm", nodes, [_vi("x", [1, 3, 6, 6])], [_vi("y", [1, 4, 6, 6])],
                 [("w", _w(4, 3, 3, 3))] + stats("1") + stats("2"))


# Resize branches of one conv (stored NHWC), one compile: (mode, transform, extra attributes, scales or sizes of H, W)
RESIZES = (("linear", "half_pixel", {}, (2.0, 1.5)), ("linear", "align_corners", {}, (7, 9)),
           ("linear", "asymmetric", {}, (3, 8)), ("linear", "pytorch_half_pixel", {}, (1, 6)),
           ("nearest", "half_pixel", {}, (2.0, 3.0)), ("nearest", "asymmetric", {"nearest_mode": "round_prefer_ceil"},
                                                        (9, 7)),
           ("nearest", "align_corners", {"nearest_mode": "floor"}, (6, 11)),
           ("nearest", "tf_half_pixel_for_nn", {"nearest_mode": "ceil"}, (0.5, 1.6)),
           ("cubic", "half_pixel", {}, (9, 7)),
           ("cubic", "half_pixel_symmetric", {"cubic_coeff_a": -0.5, "exclude_outside": 1}, (1.5, 0.6)))


def _resizes(tmp_path):
    """Every Resize mode and coordinate transform, up and down, given as scales and as sizes, at opset 19."""
    nodes, outputs = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[1, 1])], []
    inits = [("w", _w(4, 3, 1, 1))]
    for k, (mode, transform, attrs, hw) in enumerate(RESIZES):
        scales = isinstance(hw[0], float)
        given = (np.array((1, 1) + hw, np.float32) if scales else np.array((1, 4) + hw, np.int64))
        inits.append((f"r{k}", given))
        nodes.append(helper.make_node("Resize", ["c", "", f"r{k}"] if scales else ["c", "", "", f"r{k}"], [f"y{k}"],
                                      mode=mode, coordinate_transformation_mode=transform, **attrs))
        size = [int(np.floor(d * np.float32(s))) for d, s in zip((4, 5), hw)] if scales else list(hw)
        outputs.append(_vi(f"y{k}", [1, 4] + size))
    return _save(tmp_path, "resizes", nodes, [_vi("x", [1, 3, 4, 5])], outputs, inits, opset=19)


MODELS = {"sum": _sum, "resizes": _resizes, "batchnorm": _batchnorm, "softmax_opset11": _softmax_opset11, "softmax_opset9_classifier": _softmax_opset9_classifier,
          "pool_1d": _pool_1d, "grouped_conv": _grouped_conv, "lrn_and_conv_transpose": _lrn_and_conv_transpose}
INT8 = ("sum", "resizes", "batchnorm", "softmax_opset9_classifier", "pool_1d", "grouped_conv")  # the ops with an int8 rule


def _feeds(path, n=3, seed=4):
    rng = np.random.default_rng(seed)
    model = onnx.load(str(path))
    inits = {i.name for i in model.graph.initializer}
    shapes = [[d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input if i.name not in inits]
    return [[rng.uniform(-2, 2, s).astype(np.float32) for s in shapes] for _ in range(n)]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_float_matches_onnxruntime(name, tmp_path, tmp_cache):
    path = MODELS[name](tmp_path)
    for got, want in _compiled_and_ort(path, _feeds(path), tmp_path / "lib"):
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


def _output_scale(model, output):
    """The scale of the DequantizeLinear that produces a QDQ model's float output."""
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    dq = next(n for n in model.graph.node if output in n.output)
    assert dq.op_type == "DequantizeLinear", f"{output} comes from {dq.op_type}, not a DequantizeLinear"
    return float(inits[dq.input[1]])


@pytest.mark.slow
@pytest.mark.parametrize("name", INT8)
def test_int8_qdq_within_one_lsb_of_onnxruntime(name, tmp_path, tmp_cache):
    from edgeai.frontends.onnx import load_onnx
    from edgeai.passes import default_pipeline
    from edgeai.quantize import quantize

    path = MODELS[name](tmp_path)
    calibration = [xs[0] if len(xs) == 1 else dict(zip(["a", "b"], xs)) for xs in _feeds(path, 8, seed=5)]
    qdq = quantize(path, calibration, tmp_path / f"{name}_int8.onnx").path
    graph = default_pipeline(load_onnx(qdq))
    # int8 inside (softmax stays float in QDQ graphs by design, edgeai/passes/qdq.py: its reshapes are int8)
    heavy = {"sum": "add", "resizes": "resize_cubic", "batchnorm": "mul", "softmax_opset9_classifier": "reshape", "pool_1d": "max_pool2d", "grouped_conv": "conv2d"}
    assert any(n.op == heavy[name] and graph.tensor(n.inputs[0]).dtype == "int8" for n in graph.nodes), \
        str([(n.op, graph.tensor(n.inputs[0]).dtype) for n in graph.nodes])
    assert all(graph.tensor(n.inputs[0]).dtype == "int8" for n in graph.nodes
               if n.op in ("conv2d", "fully_connected", "add", "mul") or n.op.startswith("resize")), \
        "float arithmetic left"
    model = onnx.load(str(qdq))
    scales = [_output_scale(model, o.name) for o in model.graph.output]
    for got, want in _compiled_and_ort(qdq, _feeds(path, 5, seed=6), tmp_path / "lib", numerics="onnx"):
        for g, w, s in zip(got, want, scales):
            assert np.abs(g - w).max() <= s * 1.001, f"{np.abs(g - w).max() / s:.2f} LSB off"


@pytest.mark.slow
def test_int8_resize_in_tflite_numerics_within_one_lsb_of_onnxruntime(tmp_path, tmp_cache):
    """--numerics tflite on QDQ Resizes: a transform LiteRT has (half_pixel) takes LiteRT's integer bilinear, one it
    has not (tf_half_pixel_for_nn) LiteRT's blend with weights from the float coordinates, and cubic (LiteRT has
    none) ONNX's arithmetic; each within 1 LSB of onnxruntime (the input's quantization is the same in both)."""
    from edgeai.compile import compile_model
    from edgeai.quantize import quantize

    branches = (("linear", "half_pixel", (1, 3, 7, 9)), ("linear", "tf_half_pixel_for_nn", (1, 3, 8, 10)),
                ("cubic", "half_pixel", (1, 3, 9, 7)))
    nodes = [helper.make_node("Resize", ["x", "", "", f"size{k}"], [f"y{k}"], mode=mode,
                              coordinate_transformation_mode=transform)
             for k, (mode, transform, _) in enumerate(branches)]
    path = _save(tmp_path, "resize_tflite", nodes, [_vi("x", [1, 3, 4, 5])],
                 [_vi(f"y{k}", list(size)) for k, (*_, size) in enumerate(branches)],
                 [(f"size{k}", np.array(size, np.int64)) for k, (*_, size) in enumerate(branches)])
    qdq = quantize(path, [xs[0] for xs in _feeds(path, 8, seed=5)], tmp_path / "resize_tflite_int8.onnx").path
    lib = compile_model(qdq, "host", tmp_path / "lib", numerics="tflite")
    symbols = [layer["symbol"] for layer in lib.desc["layers"] if layer["op"].startswith("resize")]
    assert ["bilinear" in s for s in symbols] == [True, True, False] and "taps4" in symbols[2], symbols
    model = onnx.load(str(qdq))
    scales = [_output_scale(model, o.name) for o in model.graph.output]
    for got, want in _compiled_and_ort(qdq, _feeds(path, 5, seed=6), tmp_path / "lib", numerics="tflite"):
        for g, w, s in zip(got, want, scales):
            assert np.abs(g - w).max() <= s * 1.001, f"{np.abs(g - w).max() / s:.2f} LSB off"


# -- the float models shipped in the onnx wheel (onnx/backend/test/data/light), with random weights ---------------
# The five of the nine cheapest to quantize and compile (fewest weights; vgg19, alexnet, zfnet512 and resnet50
# carry 25-140 M weights). Their weights are ConstantOfShape nodes (a 'light' file stores only shapes): the test
# makes them random initializers, listed as graph inputs too, as an IR-3 export with real weights has them.
LIGHT = ("light_squeezenet", "light_shufflenet", "light_inception_v1", "light_densenet121", "light_inception_v2")


@pytest.mark.slow
@pytest.mark.parametrize("name", LIGHT)
def test_onnx_wheel_float_model_quantizes_and_compiles_to_int8(name, tmp_path, tmp_cache):
    from edgeai.frontends.onnx import load_onnx
    from edgeai.passes import default_pipeline
    from edgeai.quantize import quantize

    model = light_with_random_weights(name)
    assert model.ir_version == 3
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    rng = np.random.default_rng(1)
    calibration = [rng.standard_normal((1, 3, 224, 224)).astype(np.float32) for _ in range(2)]
    qdq = quantize(path, calibration, tmp_path / f"{name}_int8.onnx").path
    graph = default_pipeline(load_onnx(qdq))
    # LRN has no int8 rule: it stays float (x², its window sum as a 1x1 conv, x·pow) between dequantize/quantize
    lrn = {o + suffix for n in model.graph.node if n.op_type == "LRN" for o in n.output[:1]
           for suffix in ("", "_square", "_window_sum")}
    float_heavy = [n.name for n in graph.nodes if n.op in ("conv2d", "fully_connected", "add", "mul")
                   and graph.tensor(n.inputs[0]).dtype != "int8" and n.name not in lrn]
    assert not float_heavy, f"float convolutions/adds left: {float_heavy[:5]}"
    assert sum(n.op == "conv2d" and graph.tensor(n.inputs[0]).dtype == "int8" for n in graph.nodes) >= 20
    feeds = [[rng.standard_normal((1, 3, 224, 224)).astype(np.float32)]]
    scale = _output_scale(onnx.load(str(qdq)), model.graph.output[0].name)
    for (got,), (want,) in _compiled_and_ort(qdq, feeds, tmp_path / "lib", numerics="onnx"):
        assert got.shape == want.shape
        lsb = np.rint(np.abs(got - want) / scale)  # both are multiples of the scale
        cosine = float(np.dot(got.ravel(), want.ravel()) / (np.linalg.norm(got) * np.linalg.norm(want)))
        print(f"{name}: logits {np.mean(lsb <= 1):.3f} within 1 LSB, max {lsb.max():.0f} LSB, cosine {cosine:.5f}")
        assert np.mean(lsb <= 1) >= 0.95 and cosine >= 0.99 and got.argmax() == want.argmax()


_DEVICE_TOOLS = {"cortex-m4": ("qemu-system-arm", "arm-none-eabi-gcc"),
                 "rpi4": ("qemu-aarch64-static", "aarch64-linux-gnu-gcc", "cmake")}


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.parametrize("target", sorted(_DEVICE_TOOLS))
def test_int8_grouped_conv_sum_and_bilinear_resize_on_the_device(target, tmp_path, tmp_cache):
    """The int8 grouped convolution (block-diagonal weights), Sum (int8 adds, one broadcast) and a bilinear Resize
    (ONNX numerics: the taps kernel) on the firmware: Cortex-M4 under qemu-system-arm, rpi4 under qemu-aarch64."""
    from edgeai.compile import compile_model
    from edgeai.quantize import quantize
    from edgeai.runtime.device import QemuSession, build_firmware

    missing = [t for t in _DEVICE_TOOLS[target] if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], group=3, kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]), helper.make_node("Sum", ["r", "x2", "k"], ["s"]),
             helper.make_node("Resize", ["s", "", "", "size"], ["y"], mode="linear")]
    path = _save(tmp_path, "grouped_sum_resize", nodes, [_vi("x", [1, 6, 6, 6]), _vi("x2", [1, 9, 6, 6])],
                 [_vi("y", [1, 9, 9, 11])], [("w", _w(9, 2, 3, 3)), ("b", _w(9, seed=1)), ("k", _w(9, 1, 1, seed=2)),
                                             ("size", np.array([1, 9, 9, 11], np.int64))])
    calibration = [dict(zip(["x", "x2"], xs)) for xs in _feeds(path, 8, seed=5)]
    qdq = quantize(path, calibration, tmp_path / "grouped_sum_resize_int8.onnx").path
    scale = _output_scale(onnx.load(str(qdq)), "y")
    literal = ort.SessionOptions()  # the graph as ONNX defines it: fused int8 kernels differ by CPU (AVX2 saturates)
    literal.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    ref = ort.InferenceSession(str(qdq), literal, providers=["CPUExecutionProvider"])
    lib = compile_model(qdq, target, tmp_path / target, numerics="onnx")
    assert [layer["symbol"] for layer in lib.desc["layers"] if layer["op"] == "resize_bilinear"][0].find("taps2") > 0
    elf = build_firmware(lib.path, target) if target == "rpi4" else None
    with QemuSession(lib.path, target, elf=elf) as session:
        for xs in _feeds(path, 3, seed=6):
            got, want = session.run(xs)[0], ref.run(None, {"x": xs[0], "x2": xs[1]})[0]
            assert np.abs(got - want).max() <= scale * 1.001, f"{np.abs(got - want).max() / scale:.2f} LSB off"


def _float_field_ops(tmp_path):
    """The float-only field ops in one model, each builder's graph under its own prefix: LRN and ConvTranspose,
    1-D pooling, Softmax at opset 11 on a 4-D input, Sum with broadcast."""
    graphs = [onnx.compose.add_prefix(onnx.load(str(build(tmp_path))), f"{name}/").graph
              for name, build in (("lrn", _lrn_and_conv_transpose), ("pool", _pool_1d), ("softmax", _softmax_opset11),
                                  ("sum", _sum))]
    graph = helper.make_graph([n for g in graphs for n in g.node], "float_field_ops",
                              [i for g in graphs for i in g.input], [o for g in graphs for o in g.output],
                              [t for g in graphs for t in g.initializer])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    path = tmp_path / "float_field_ops.onnx"
    onnx.save(model, str(path))
    return path


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.parametrize("target", sorted(_DEVICE_TOOLS))
def test_float_field_ops_on_the_device(target, tmp_path, tmp_cache):
    """LRN, ConvTranspose, 1-D pooling, opset-11 Softmax and Sum in float32 on the firmware (Cortex-M4 under
    qemu-system-arm, rpi4 under qemu-aarch64), against onnxruntime."""
    from edgeai.compile import compile_model
    from edgeai.runtime.device import QemuSession, build_firmware

    missing = [t for t in _DEVICE_TOOLS[target] if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    path = _float_field_ops(tmp_path)
    ref = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in ref.get_inputs()]
    lib = compile_model(path, target, tmp_path / target)
    ops = {layer["op"] for layer in lib.desc["layers"]}
    assert {"transpose_conv2d", "softmax"} <= ops, ops
    elf = build_firmware(lib.path, target) if target == "rpi4" else None
    with QemuSession(lib.path, target, elf=elf) as session:
        for xs in _feeds(path, 2, seed=8):
            for got, want in zip(session.run(xs), ref.run(None, dict(zip(names, xs)))):
                np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
