"""Real models from the field: the shapes and file kinds that broke on MobileNet/EfficientNet heads, MediaPipe's
float16 weights, TFLite hybrid models and unrolled recurrent ONNX graphs. Each model here is written small, but
with the property the field model has (1,280 channels, fp16 weights + DEQUANTIZE, int8 weights under float
activations, dozens of unsupported nodes), and checked against LiteRT / onnxruntime; and two whole Keras application
MobileNets (int8) as Cortex-M7 firmware."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from edgeai.cli import main
from edgeai.compile import compile_model
from edgeai.runtime.host import HostSession
from edgeai.runtime.reference import LiteRTSession, OnnxRuntimeSession
from fuzz import tflite_writer as tw

MEAN, DEQUANTIZE, FULLY_CONNECTED = 40, 6, 9
REDUCER_OPTIONS, FULLY_CONNECTED_OPTIONS = 27, 8


def _close(got, want, rel=1e-5):
    span = float(np.abs(want).max()) or 1.0
    assert np.abs(got - want).max() <= rel * span, f"max error {np.abs(got - want).max()} (span {span})"


# -- 1. float MEAN / global average pool over 256 or more channels ---------------------------------------------

def _tflite_head(path: Path, channels: int, size: int = 7) -> Path:
    """An EfficientNet-style head: MEAN over H and W of a float (1, size, size, C) feature map, keepdims off."""
    m = tw.Model(tensors=[tw.T("features", (1, size, size, channels)), tw.T("axes", (2,), tw.INT32, np.array([1, 2], np.int32)),
                          tw.T("pooled", (1, channels))],
                 ops=[tw.Op(MEAN, [0, 1], [2], options_type=REDUCER_OPTIONS, options=((0, "u8", 0),))],
                 inputs=[0], outputs=[2])
    path.write_bytes(tw.write(m))
    return path


@pytest.mark.toolchain
def test_float_mean_over_1280_channels_matches_litert(tmp_path, tmp_cache):
    path = _tflite_head(tmp_path / "head_1280.tflite", 1280)
    session = HostSession(compile_model(path, "host", tmp_path / "lib").path)
    x = np.random.default_rng(1).uniform(-4, 4, (1, 7, 7, 1280)).astype(np.float32)
    got, want = session.run([x])[0], LiteRTSession(path).run([x])[0]
    assert got.shape == want.shape == (1, 1280)
    _close(got, want)


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.toolchain
def test_float_mean_over_1280_channels_on_cortex_m4_matches_litert(tmp_path):
    """The same head, 2x2 spatial (the failing sum buffer is the output's: 1,280 floats), as Cortex-M4 firmware
    under QEMU."""
    from edgeai.runtime.device import QemuSession

    path = _tflite_head(tmp_path / "head_1280.tflite", 1280, size=2)
    x = np.random.default_rng(1).uniform(-4, 4, (1, 2, 2, 1280)).astype(np.float32)
    with QemuSession(compile_model(path, "cortex-m4", tmp_path / "lib").path, "cortex-m4") as session:
        _close(session.run([x])[0], LiteRTSession(path).run([x])[0])


@pytest.mark.toolchain
def test_float_reduce_mean_over_1280_channels_matches_onnxruntime(tmp_path, tmp_cache):
    """A squeeze-excite block's squeeze as tf2onnx writes it: ReduceMean over H and W (GlobalAveragePool is an
    average pool here, which never had the problem)."""
    graph = helper.make_graph([helper.make_node("ReduceMean", ["x"], ["y"], axes=[2, 3], keepdims=0)], "squeeze",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1280, 7, 7])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1280])])
    path = tmp_path / "gap_1280.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    session = HostSession(compile_model(path, "host", tmp_path / "lib").path)
    x = np.random.default_rng(2).uniform(-4, 4, (1, 1280, 7, 7)).astype(np.float32)
    _close(session.run([x])[0], OnnxRuntimeSession(path).run([x])[0])


# -- 2. float16 weights: DEQUANTIZE to float32, folded at compile time ------------------------------------------

CONV_2D, CONV_2D_OPTIONS = 3, 1


def _float16_weights_model(path: Path) -> Path:
    """A MediaPipe-style float model whose weights are stored float16: CONV_2D (3x3, SAME, ReLU) on (1, 8, 8, 3), the
    spatial MEAN, FULLY_CONNECTED to 5 outputs; each of the four weight and bias tensors is FLOAT16 + DEQUANTIZE."""
    rng = np.random.default_rng(4)
    half = lambda *shape: rng.standard_normal(shape).astype(np.float16)  # noqa: E731
    m = tw.Model(
        tensors=[tw.T("image", (1, 8, 8, 3)),
                 tw.T("conv/w16", (4, 3, 3, 3), tw.FLOAT16, half(4, 3, 3, 3)), tw.T("conv/w", (4, 3, 3, 3)),
                 tw.T("conv/b16", (4,), tw.FLOAT16, half(4)), tw.T("conv/b", (4,)), tw.T("conv", (1, 8, 8, 4)),
                 tw.T("axes", (2,), tw.INT32, np.array([1, 2], np.int32)), tw.T("pooled", (1, 4)),
                 tw.T("dense/w16", (5, 4), tw.FLOAT16, half(5, 4)), tw.T("dense/w", (5, 4)),
                 tw.T("dense/b16", (5,), tw.FLOAT16, half(5)), tw.T("dense/b", (5,)), tw.T("logits", (1, 5))],
        ops=[tw.Op(DEQUANTIZE, [1], [2]), tw.Op(DEQUANTIZE, [3], [4]),
             tw.Op(CONV_2D, [0, 2, 4], [5], options_type=CONV_2D_OPTIONS,  # SAME, stride 1, ReLU, dilation 1
                   options=((0, "u8", 0), (1, "i32", 1), (2, "i32", 1), (3, "i8", 1), (4, "i32", 1), (5, "i32", 1))),
             tw.Op(MEAN, [5, 6], [7], options_type=REDUCER_OPTIONS, options=((0, "u8", 0),)),
             tw.Op(DEQUANTIZE, [8], [9]), tw.Op(DEQUANTIZE, [10], [11]),
             tw.Op(FULLY_CONNECTED, [7, 9, 11], [12], options_type=FULLY_CONNECTED_OPTIONS)],
        inputs=[0], outputs=[12])
    path.write_bytes(tw.write(m))
    return path


@pytest.mark.toolchain
def test_float16_weights_compile_and_match_litert(tmp_path, tmp_cache):
    path = _float16_weights_model(tmp_path / "fp16_weights.tflite")
    session, reference = HostSession(compile_model(path, "host", tmp_path / "lib").path), LiteRTSession(path)
    for seed in range(5):
        x = np.random.default_rng(seed).uniform(-1, 1, (1, 8, 8, 3)).astype(np.float32)
        _close(session.run([x])[0], reference.run([x])[0])


def test_float16_weights_become_float32_constants_and_no_dequantize_is_left(tmp_path):
    import tflite

    from edgeai import load

    with_path = _float16_weights_model(tmp_path / "fp16.tflite")
    graph = load(with_path)
    assert [n.op for n in graph.nodes] == ["conv2d", "mean", "fully_connected"]
    weights = graph.tensor("conv/w")
    assert weights.dtype == "float32" and weights.is_constant
    model = tflite.Model.GetRootAsModel(with_path.read_bytes(), 0)
    stored = model.Buffers(model.Subgraphs(0).Tensors(1).Buffer()).DataAsNumpy().view(np.float16).reshape(4, 3, 3, 3)
    assert np.array_equal(weights.data, stored.astype(np.float32))  # every float16 is exactly a float32


@pytest.mark.toolchain
def test_tensorflow_float16_converted_model_matches_litert(tmp_cache):
    """A file TensorFlow 2.21's converter wrote with float16 weights (field_models/make_tf_models.py): six
    DEQUANTIZEd FLOAT16 weight tensors, conv / depthwise / 1x1 conv to 320 channels / MEAN / dense."""
    path = Path(__file__).parent / "field_models" / "float16_weights_tf2.21.tflite"
    session, reference = HostSession(compile_model(path, "host").path), LiteRTSession(path)
    for seed in range(5):
        x = np.random.default_rng(seed).uniform(-1, 1, (1, 16, 16, 3)).astype(np.float32)
        _close(session.run([x])[0], reference.run([x])[0])


@pytest.mark.toolchain
def test_float16_initializers_behind_cast_match_onnxruntime(tmp_path, tmp_cache):
    """ONNX's way (onnxconverter-common's keep_io_types): float16 initializers, Cast to float before the Conv."""
    from onnx import numpy_helper

    rng = np.random.default_rng(6)
    w, b = rng.standard_normal((4, 3, 3, 3)).astype(np.float16), rng.standard_normal(4).astype(np.float16)
    graph = helper.make_graph(
        [helper.make_node("Cast", ["w16"], ["w"], to=TensorProto.FLOAT),
         helper.make_node("Cast", ["b16"], ["b"], to=TensorProto.FLOAT),
         helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])], "conv16",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])],
        [numpy_helper.from_array(w, "w16"), numpy_helper.from_array(b, "b16")])
    path = tmp_path / "conv16.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    x = rng.uniform(-1, 1, (1, 3, 8, 8)).astype(np.float32)
    _close(HostSession(compile_model(path, "host", tmp_path / "lib").path).run([x])[0],
           OnnxRuntimeSession(path).run([x])[0])


# -- 3. hybrid TFLite models: int8 weights under float activations -----------------------------------------------

def _hybrid_dense(path: Path, n_in: int, n_out: int) -> Path:
    """A hybrid FULLY_CONNECTED, as the converter's dynamic-range quantization writes it: float input and output,
    int8 weights (per tensor), float bias."""
    rng = np.random.default_rng(7)
    m = tw.Model(tensors=[tw.T("x", (1, n_in)),
                          tw.T("dense/w", (n_out, n_in), tw.INT8, rng.integers(-127, 128, (n_out, n_in), dtype=np.int8),
                               scale=0.01),
                          tw.T("dense/b", (n_out,), data=rng.standard_normal(n_out).astype(np.float32)),
                          tw.T("y", (1, n_out))],
                 ops=[tw.Op(FULLY_CONNECTED, [0, 1, 2], [3], options_type=FULLY_CONNECTED_OPTIONS)],
                 inputs=[0], outputs=[3])
    path.write_bytes(tw.write(m))
    return path


def test_hybrid_model_compile_says_the_layers_are_computed_in_float(tmp_path, capsys, tmp_cache):
    path = _hybrid_dense(tmp_path / "hybrid.tflite", 16, 8)
    assert LiteRTSession(path).run([np.ones((1, 16), np.float32)])[0].shape == (1, 8)  # LiteRT runs it as hybrid
    code = main(["compile", str(path), "--target", "host", "-o", str(tmp_path / "lib")])
    err = capsys.readouterr().err
    note = ("1 hybrid layer (float activations, int8 weights; the first is fully_connected 'y') computed in float "
            "from weights dequantized at compile time: 128 bytes of int8 weights became 512 bytes of float32. LiteRT "
            "quantizes these layers' inputs at run time instead, so the outputs are close to LiteRT's, not bit-exact")
    assert code == 0 and f"edgeai: note: {note}" in err.splitlines(), err
    import json

    assert json.loads((tmp_path / "lib" / "model.json").read_text())["notes"] == [note]


@pytest.mark.toolchain
def test_hybrid_model_validate_fails_and_says_why(tmp_path, capsys, tmp_cache):
    """validate's float gate fails a hybrid layer honestly (LiteRT quantizes its input, we do not), and its
    report carries the note that says why."""
    import json

    path = _hybrid_dense(tmp_path / "hybrid.tflite", 16, 8)
    code = main(["validate", str(path), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 8 and not report["passed"] and report["outputs"][0]["bit_exact"] == 0, report
    assert len(report["notes"]) == 1 and report["notes"][0].startswith("1 hybrid layer "), report


def test_hybrid_weights_too_large_as_float_are_refused_on_cortex_m7_naming_the_layer(tmp_path, capsys):
    """300,000 bytes of int8 weights would fit cortex-m7's 1 MiB of flash; as float32 (1,200,000) they do not."""
    path = _hybrid_dense(tmp_path / "hybrid_big.tflite", 500, 600)
    code = main(["compile", str(path), "--target", "cortex-m7", "-o", str(tmp_path / "lib")])
    err = capsys.readouterr().err
    assert code == 4
    assert (f"edgeai: error: {path}: 1,202,400 bytes of weights do not fit the 1,048,576 bytes of flash of cortex-m7: "
            f"hybrid layer 'y' (fully_connected, float activations, int8 weights 'dense/w') is computed in float from "
            f"its weights dequantized at compile time, 300,000 bytes of int8 become 1,200,000 of float32; quantize the "
            f"whole model to int8 (full integer quantization) to keep them int8") in err, err
    assert not (tmp_path / "lib").exists()


def test_hybrid_reference_model_records_the_note(tmp_cache):
    """The shipped hybrid file (5 CONV_2D layers with int8 weights) says so in its library's model.json."""
    from conftest import tflite

    notes = compile_model(tflite("kws_ref_model_float32"), "host").desc["notes"]
    assert len(notes) == 1 and notes[0].startswith("5 hybrid layers (float activations, int8 weights; the first is "
                                                   "conv2d "), notes
    assert "18,944 bytes of int8 weights became 75,776 bytes of float32" in notes[0]


# -- 4. one refusal line per kind of unsupported node, not per node -----------------------------------------------

def test_unrolled_recurrence_is_refused_in_a_few_grouped_lines(tmp_path, capsys):
    """An unrolled recurrence reads each time step with Gather or Slice: 24 + 16 unsupported nodes are one
    heading and one line per operator type with its count and first nodes, under exit code 3."""
    steps = [helper.make_node("Gather", ["x", f"t{t}"], [f"x{t}"], name=f"step{t}/gather", axis=1) for t in range(24)]
    steps += [helper.make_node("Slice", ["x", f"t{t}", f"t{t + 1}", "axis1"], [f"x{t}"], name=f"step{t}/slice")
              for t in range(24, 40)]
    consts = [helper.make_tensor(f"t{t}", TensorProto.INT64, [1], [t]) for t in range(41)]
    consts.append(helper.make_tensor("axis1", TensorProto.INT64, [1], [1]))
    graph = helper.make_graph(steps + [helper.make_node("Concat", [f"x{t}" for t in range(40)], ["y"], axis=1)],
                              "unrolled", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 41, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 40, 16])], consts)
    path = tmp_path / "unrolled.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    code = main(["analyze", str(path)])
    err = capsys.readouterr().err
    assert code == 3
    assert err.splitlines() == [
        f"edgeai: error: {path}: 40 nodes cannot be compiled, of 2 operator types:",
        f"{path}: operator Gather is not supported: 24 nodes ('step0/gather', 'step1/gather', 'step2/gather' "
        f"and 21 more)",
        f"{path}: operator Slice is not supported: 16 nodes ('step24/slice', 'step25/slice', 'step26/slice' "
        f"and 13 more)",
    ], err


def test_repeated_unsupported_tflite_operators_are_grouped(tmp_path, capsys):
    """Five Flex operators of one kind and one of another: one grouped line, one line of its own."""
    m = tw.Model(tensors=[tw.T("x", (1, 4))] + [tw.T(f"h{k}", (1, 4)) for k in range(6)],
                 ops=[tw.Op("FlexMatrixBandPart", [0], [k + 1]) for k in range(5)] + [tw.Op("FlexEinsum", [0], [6])],
                 inputs=[0], outputs=list(range(1, 7)))
    path = tmp_path / "flex.tflite"
    path.write_bytes(tw.write(m))
    code = main(["analyze", str(path)])
    assert code == 3
    assert capsys.readouterr().err.splitlines() == [
        f"edgeai: error: {path}: 6 nodes cannot be compiled, of 2 operator types:",
        f"{path}: operator custom operator 'FlexMatrixBandPart' is not supported: 5 nodes (#0 'h0', #1 'h1', #2 'h2' "
        f"and 2 more)",
        f"{path}: operator #5 custom operator 'FlexEinsum' (output 'h5') is not supported",
    ]


# -- 5. Keras application MobileNets, int8, bit-exact on a Cortex-M7 ---------------------------------------------

MOBILENETS = Path(__file__).parent / "field_models" / "mobilenets_tf2.21"


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.toolchain
@pytest.mark.parametrize("name, ops", [
    ("mobilenet_v2_0.35_96_int8", {"conv2d": 35, "depthwise_conv2d": 17, "add": 10, "mean": 1}),
    # hard-swish 19 times; each squeeze-excite block's hard-sigmoid is ADD, RELU6 and MUL (by 1/6), then a MUL
    # scaling the block's channels; Flatten's dynamic-batch shape computation (SHAPE, PACK) is not converted
    ("mobilenet_v3_small_0.5_96_int8", {"hard_swish": 19, "depthwise_conv2d": 11, "mean": 10, "mul": 18}),
])
def test_keras_mobilenet_is_bit_exact_on_cortex_m7_under_qemu(name, ops, tmp_cache):
    """keras.applications.MobileNetV2(alpha=0.35) and MobileNetV3Small(alpha=0.5, hard-swish) on 96x96x3 inputs,
    converted by TensorFlow 2.21 to full int8 (field_models/make_mobilenets.py), as Cortex-M7 firmware under QEMU:
    both outputs (logits, softmax) equal LiteRT's reference kernels' on random images and the extremes."""
    from edgeai.runtime.device import QemuSession

    path = MOBILENETS / f"{name}.tflite"
    compiled = compile_model(path, "cortex-m7")
    counts = {}
    for layer in compiled.desc["layers"]:
        counts[layer["op"]] = counts.get(layer["op"], 0) + 1
    assert {op: counts.get(op, 0) for op in ops} == ops
    reference = LiteRTSession(path)
    rng = np.random.default_rng(3)
    inputs = [rng.integers(-128, 128, (1, 96, 96, 3)).astype(np.int8), np.full((1, 96, 96, 3), 127, np.int8)]
    with QemuSession(compiled.path, "cortex-m7") as session:
        for x in inputs:
            for k, (got, want) in enumerate(zip(session.run([x]), reference.run([x]))):
                np.testing.assert_array_equal(got, want, err_msg=f"{name} output {k}")
