"""Model files as untrusted input: quantization parameters, sizes and attributes that a corrupted or hostile file
holds are refused with a message naming the file and the tensor or node, or computed as the reference runtime
(and the real-number arithmetic) does. Never an internal error, undefined behaviour in the C, or a silently wrong
result. The TFLite cases edit a real file (kws_ref_model) in place; the ONNX ones are built with onnx.helper.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

import numpy as np
import pytest

from conftest import tflite
from edgeai import load
from edgeai.errors import ModelError, UnsupportedOpError
from fuzz import tflite_writer as tw

# kws_ref_model: op 2 is CONV_2D (1x1, fused RELU) reading tensor 23 with weights 18 (per channel), bias 6,
# writing 24; tensor 8 is a depthwise weight (quantized along axis 3).
CONV_IN, CONV_WEIGHTS, CONV_BIAS, CONV_OUT, DW_WEIGHTS = 23, 18, 6, 24, 8


# -- editing a TFLite file in place ---------------------------------------------------------------------------
def _schema_model(data: bytes):
    import tflite as schema

    return schema.Model.GetRootAsModel(data, 0)


def _quant(data: bytes, tensor: int):
    return _schema_model(data).Subgraphs(0).Tensors(tensor).Quantization()


def _vector(table, slot: int) -> tuple[int, int]:
    """(position of the first element, length) of vector field `slot` of a flatbuffer table."""
    off = table._tab.Offset(4 + 2 * slot)
    assert off, f"field {slot} is not stored"
    return table._tab.Vector(off), table._tab.VectorLen(off)


SCALE, ZERO_POINT, QUANTIZED_DIMENSION = 2, 3, 6  # QuantizationParameters slots


def with_scales(data: bytes, tensor: int, value: float) -> bytes:
    buf = bytearray(data)
    start, n = _vector(_quant(data, tensor), SCALE)
    struct.pack_into(f"<{n}f", buf, start, *([value] * n))
    return bytes(buf)


def with_outputs(data: bytes, tensors: list[int]) -> bytes:
    """The subgraph's output list, rewritten in place (at most as long as the one there)."""
    buf = bytearray(data)
    sg = _schema_model(data).Subgraphs(0)
    start, n = _vector(sg, 2)
    assert len(tensors) <= n
    struct.pack_into("<I", buf, start - 4, len(tensors))
    struct.pack_into(f"<{len(tensors)}i", buf, start, *tensors)
    return bytes(buf)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- item 2: requantization multipliers far outside [2**-31, 2**30] ------------------------------------------
def _conv_layer_reference(data: bytes, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LiteRT's input of op 2 and its output (reference kernels, every tensor kept) on model input x."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_content=data, experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                     experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(CONV_IN), it.get_tensor(CONV_OUT)


def _saturated(data: bytes, layer_input: np.ndarray) -> np.ndarray:
    """Op 2's output in real-number arithmetic when its multiplier in * w / out is 2**30 or more: every
    accumulator above 0 saturates to 127, below 0 to the RELU floor, and 0 gives the zero point."""
    g = load_bytes(data)
    conv = next(n for n in g.nodes if n.outputs[0] == g.outputs[0])
    assert conv.op == "conv2d" and conv.attrs["activation"] == "relu"
    x, w, b = (g.tensor(n) for n in conv.inputs)
    zp_in, zp_out = x.quant.zero_point[0], g.tensor(conv.outputs[0]).quant.zero_point[0]
    acc = (layer_input.astype(np.int64) - zp_in) @ w.data.reshape(w.shape[0], -1).T.astype(np.int64) + b.data
    return np.where(acc > 0, 127, np.where(acc < 0, max(zp_out, -128), zp_out)).astype(np.int8)


def load_bytes(data: bytes):
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".tflite") as f:
        f.write(data)
        f.flush()
        return load(f.name)


def _compiled(path: Path, out_dir: Path):
    from edgeai.compile import compile_model
    from edgeai.runtime.host import HostSession

    return HostSession(compile_model(path, "host", out_dir=out_dir).path)


@pytest.mark.toolchain
@pytest.mark.parametrize("tensor, scale, shift", [(CONV_WEIGHTS, 1e30, 101), (CONV_OUT, 1e-42, 128)])
def test_a_huge_multiplier_saturates_as_the_real_arithmetic(tensor, scale, shift, tmp_path):
    """A weight scale of 1e30 or an output scale of 1e-42 makes op 2's multiplier ~2**100: every non-zero
    accumulator saturates. TFLite's QuantizeMultiplier clamps such a shift to 30 (the largest multiplier) when built
    for single rounding; its double-rounding build, which LiteRT's wheel is, shifts an int32 by ~100, undefined in
    C++ (x86 takes the count mod 32), so its outputs are not the reference here: the real arithmetic is. On main the
    generated C shifted by the same ~100 (all zeros or 255 LSB off)."""
    from compilers.tvm.requant import per_channel_multipliers

    data = with_outputs(with_scales(tflite("kws_ref_model").read_bytes(), tensor, scale), [CONV_OUT])
    g = load_bytes(data)
    conv = next(n for n in g.nodes if n.outputs[0] == g.outputs[0])
    x, w, out = (g.tensor(n) for n in (conv.inputs[0], conv.inputs[1], conv.outputs[0]))
    real = x.quant.scale[0] * np.float32(w.quant.scale[0]) / np.float32(out.quant.scale[0])
    assert np.frexp(real)[1] == shift
    assert set(per_channel_multipliers(x.quant.scale[0], w.quant.scale, out.quant.scale[0])[1]) == {30}
    ours = _compiled(write(tmp_path, "huge.tflite", data), tmp_path / "lib")
    rng = np.random.default_rng(2)
    for _ in range(3):
        model_input = rng.integers(-128, 128, (1, 49, 10, 1), dtype=np.int8)
        layer_input, _ = _conv_layer_reference(data, model_input)
        want = _saturated(data, layer_input.reshape(-1, layer_input.shape[-1])).reshape(layer_input.shape)
        got = ours.run([model_input])[0]
        assert np.array_equal(got, want), f"{int((got != want).sum())} of {got.size} outputs differ"


@pytest.mark.toolchain
@pytest.mark.parametrize("tensor, scale", [(CONV_WEIGHTS, 1e-30), (CONV_OUT, 1e30)])
def test_a_tiny_multiplier_flushes_to_zero_as_litert(tensor, scale, tmp_path):
    """Below 2**-31 TFLite flushes the multiplier to 0 (QuantizeMultiplier: shift < -31): the output is the zero
    point, bit-exact with LiteRT, whose arithmetic is defined there."""
    data = with_outputs(with_scales(tflite("kws_ref_model").read_bytes(), tensor, scale), [CONV_OUT])
    path = write(tmp_path, "tiny.tflite", data)
    x = np.random.default_rng(3).integers(-128, 128, (1, 49, 10, 1), dtype=np.int8)
    _, want = _conv_layer_reference(data, x)
    assert np.array_equal(_compiled(path, tmp_path / "lib").run([x])[0], want)


def _qdq_conv(path: Path, w_scale: float, out_scale: float, seed: int = 0) -> Path:
    """x int8 [1, 4, 4, 3] (NHWC, scale 0.05, zp -3) → DequantizeLinear → Transpose → Conv 3x3, 4 channels, int8
    weights per channel with w_scale, int32 bias → QuantizeLinear(out_scale, zp 5) → Transpose back."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w = rng.integers(-127, 128, (4, 3, 3, 3), dtype=np.int8)
    bias = rng.integers(-2000, 2000, 4).astype(np.int32)
    inits = [numpy_helper.from_array(a, n) for a, n in [
        (np.float32(0.05), "x_scale"), (np.int8(-3), "x_zp"), (w, "w_q"), (np.full(4, w_scale, np.float32), "w_scale"),
        (np.zeros(4, np.int8), "w_zp"), (bias, "b_q"), (np.full(4, np.float32(0.05) * np.float32(w_scale), np.float32),
                                                        "b_scale"), (np.zeros(4, np.int32), "b_zp"),
        (np.float32(out_scale), "y_scale"), (np.int8(5), "y_zp")]]
    nodes = [
        helper.make_node("DequantizeLinear", ["x", "x_scale", "x_zp"], ["x_f"]),
        helper.make_node("Transpose", ["x_f"], ["x_nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("DequantizeLinear", ["w_q", "w_scale", "w_zp"], ["w_f"], axis=0),
        helper.make_node("DequantizeLinear", ["b_q", "b_scale", "b_zp"], ["b_f"], axis=0),
        helper.make_node("Conv", ["x_nchw", "w_f", "b_f"], ["y_f"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("QuantizeLinear", ["y_f", "y_scale", "y_zp"], ["y_q"]),
        helper.make_node("Transpose", ["y_q"], ["y"], perm=[0, 2, 3, 1]),
    ]
    graph = helper.make_graph(nodes, "qdq_conv", [helper.make_tensor_value_info("x", TensorProto.INT8, [1, 4, 4, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.INT8, [1, 4, 4, 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.save(model, path)
    return path


@pytest.mark.toolchain
@pytest.mark.parametrize("w_scale, out_scale", [(1e30, 0.1), (0.01, 1e-42), (1e-30, 0.1), (0.01, 1e30)])
def test_extreme_scales_agree_with_onnxruntime(w_scale, out_scale, tmp_path):
    """ONNX numerics (one rounding, halves to even) with a multiplier ~2**100 or ~2**-100: onnxruntime computes
    the QDQ graph in float and saturates or rounds to the zero point; so do we. On main the first two shifted an
    int64 by a negative count in the C (UBSan: shift exponent negative)."""
    from edgeai.runtime.reference import OnnxRuntimeSession

    path = _qdq_conv(tmp_path / "conv.onnx", w_scale, out_scale)
    ort = OnnxRuntimeSession(path, optimize=False)
    rng = np.random.default_rng(4)
    from edgeai.compile import compile_model
    from edgeai.runtime.host import HostSession

    ours = HostSession(compile_model(path, "host", out_dir=tmp_path / "lib").path)
    for _ in range(4):
        x = rng.integers(-128, 128, (1, 4, 4, 3), dtype=np.int8)
        got, want = ours.run([x])[0], ort.run([x])[0]
        assert np.array_equal(got, want), f"max {int(np.abs(got.astype(int) - want.astype(int)).max())} LSB"


# -- item 3: parameters the file cannot mean ----------------------------------------------------------------
def _int8_add(zero_point: int) -> bytes:
    i8 = tw.INT8
    return tw.write(tw.Model(
        tensors=[tw.T("a", (1, 8), i8, scale=0.1, zero_point=zero_point), tw.T("b", (1, 8), i8, scale=0.1),
                 tw.T("sum", (1, 8), i8, scale=0.2)],
        ops=[tw.Op(0, [0, 1], [2], options_type=11)], inputs=[0, 1], outputs=[2]))


@pytest.mark.parametrize("zero_point", [300, -129, 2**32 - 128, 2**40])
def test_an_int8_zero_point_outside_int8_is_refused(zero_point, tmp_path):
    """LiteRT narrows the file's int64 zero point to int32 (2**32 - 128 becomes -128); on main we used it as it
    stood, 255 LSB from LiteRT, and accepted 300 or -129, which no int8 tensor has."""
    path = write(tmp_path, "zp.tflite", _int8_add(zero_point))
    with pytest.raises(ModelError) as e:
        load(path)
    assert str(path) in str(e.value) and "'a'" in str(e.value) and str(zero_point) in str(e.value)


def test_a_quantized_dimension_the_tensor_lacks_is_refused(tmp_path):
    data = bytearray(tflite("kws_ref_model").read_bytes())
    q = _quant(bytes(data), DW_WEIGHTS)
    assert q.QuantizedDimension() == 3
    struct.pack_into("<i", data, q._tab.Pos + q._tab.Offset(4 + 2 * QUANTIZED_DIMENSION), 7)
    path = write(tmp_path, "axis.tflite", bytes(data))
    with pytest.raises(ModelError, match="quantized along axis 7") as e:
        load(path)
    name = _schema_model(bytes(data)).Subgraphs(0).Tensors(DW_WEIGHTS).Name().decode()
    assert str(path) in str(e.value) and repr(name) in str(e.value)  # the file and the tensor, as the issue asks


def test_a_scale_count_that_is_not_the_channel_count_is_refused(tmp_path):
    """64 channels with 3 scales and 3 zero points: LiteRT's CONV_2D refuses it at prepare; on main our lowering
    raised an internal error (numpy broadcast in compilers/lowering/conv.py)."""
    data = bytearray(tflite("kws_ref_model").read_bytes())
    q = _quant(bytes(data), CONV_WEIGHTS)
    for slot in (SCALE, ZERO_POINT):
        start, n = _vector(q, slot)
        assert n == 64
        struct.pack_into("<I", data, start - 4, 3)
    path = write(tmp_path, "scales.tflite", bytes(data))
    with pytest.raises(ModelError) as e:
        load(path)
    assert str(path) in str(e.value) and "3 scales" in str(e.value) and "64 channels" in str(e.value)


def test_a_tflite_graph_with_no_outputs_is_refused(tmp_path):
    path = write(tmp_path, "none.tflite", with_outputs(tflite("kws_ref_model").read_bytes(), []))
    with pytest.raises(ModelError, match="no outputs"):
        load(path)


def test_options_of_another_type_read_as_defaults_as_in_litert(tmp_path):
    """A corrupted union tag: CONV_2D #4 with options of type 172. LiteRT reads no Conv2DOptions (all zero) and
    refuses stride 0 at prepare; on main we read the bytes as Conv2DOptions anyway and compiled the model."""
    data = bytearray(tflite("kws_ref_model").read_bytes())
    op = _schema_model(bytes(data)).Subgraphs(0).Operators(4)
    data[op._tab.Pos + op._tab.Offset(10)] = 172  # Operator.builtin_options_type (slot 3, a ubyte)
    path = write(tmp_path, "union.tflite", bytes(data))
    with pytest.raises(ModelError) as e:
        load(path)
    assert str(path) in str(e.value) and "operator #4 CONV_2D" in str(e.value) and "strides [0, 0]" in str(e.value)


def _onnx_file(path: Path, nodes, inputs, outputs, inits=(), opset: int = 13) -> Path:
    import onnx
    from onnx import helper

    model = helper.make_model(helper.make_graph(nodes, "g", inputs, outputs, list(inits)),
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def _float_value(name, shape):
    from onnx import TensorProto, helper

    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def test_an_onnx_graph_with_no_outputs_is_refused(tmp_path):
    from onnx import helper

    path = _onnx_file(tmp_path / "none.onnx", [helper.make_node("Relu", ["x"], ["y"])], [_float_value("x", [1, 4])], [])
    with pytest.raises(ModelError, match="no outputs"):
        load(path)


def test_an_opset_newer_than_onnx_knows_is_refused(tmp_path):
    import onnx
    from onnx import helper

    newer = onnx.defs.onnx_opset_version() + 1
    path = _onnx_file(tmp_path / "new.onnx", [helper.make_node("Relu", ["x"], ["y"])], [_float_value("x", [1, 4])],
                      [_float_value("y", [1, 4])], opset=newer)
    with pytest.raises(ModelError, match=f"opset {newer}"):
        load(path)


def test_dropout_in_training_mode_is_refused(tmp_path):
    """training_mode true drops values at random (onnxruntime does); on main it compiled as an identity."""
    from onnx import helper, numpy_helper

    inits = [numpy_helper.from_array(np.float32(0.5), "ratio"), numpy_helper.from_array(np.bool_(True), "training")]
    path = _onnx_file(tmp_path / "dropout.onnx", [helper.make_node("Dropout", ["x", "ratio", "training"], ["y"],
                                                                   name="drop")],
                      [_float_value("x", [1, 4])], [_float_value("y", [1, 4])], inits)
    with pytest.raises(UnsupportedOpError) as e:
        load(path)
    assert str(path) in str(e.value) and "'drop'" in str(e.value) and "training_mode" in str(e.value)


def test_dropout_for_inference_is_still_an_identity(tmp_path):
    from onnx import helper, numpy_helper

    inits = [numpy_helper.from_array(np.float32(0.5), "ratio"), numpy_helper.from_array(np.bool_(False), "training")]
    path = _onnx_file(tmp_path / "dropout.onnx", [helper.make_node("Dropout", ["x", "ratio", "training"], ["d"]),
                                                  helper.make_node("Relu", ["d"], ["y"])],
                      [_float_value("x", [1, 4])], [_float_value("y", [1, 4])], inits)
    assert [n.op for n in load(path).nodes] == ["relu"]


def verifier_rejects(data: bytes) -> bool:
    from ai_edge_litert.interpreter import Interpreter

    try:
        Interpreter(model_content=data)
    except ValueError as e:
        return "not a valid flatbuffer" in str(e).lower()
    return False


def test_files_litert_verifier_rejects_are_refused(tmp_path):
    """Single-byte XORs of kws_ref_model that LiteRT's flatbuffer verifier rejects: the tflite package's
    accessors read some of them as a model (3 of the first 19 such mutants of seed 0 compiled on main)."""
    data = tflite("kws_ref_model").read_bytes()
    rng = random.Random(0)
    rejected = 0
    path = tmp_path / "mutant.tflite"
    while rejected < 20:
        buf = bytearray(data)
        buf[rng.randrange(len(buf))] ^= rng.randrange(1, 256)
        if not verifier_rejects(bytes(buf)):
            continue
        rejected += 1
        path.write_bytes(buf)
        with pytest.raises(ModelError) as e:
            load(path)
        assert str(path) in str(e.value)


# -- item 7: sizes past int64, model properties deep in the compiler ----------------------------------------
def test_an_element_count_past_int64_is_refused_at_import(tmp_path):
    """A Pad to [1, 2**32, 2**32] (2**64 elements): on main analyze said "peak RAM 0 bytes, fits yes" (the int64
    product wrapped to 0) and compile died inside TVM."""
    from onnx import TensorProto, helper, numpy_helper

    pads = numpy_helper.from_array(np.array([0, 0, 0, 0, 2**32 - 1, 2**32 - 1], np.int64), "pads")
    path = _onnx_file(tmp_path / "pad.onnx", [helper.make_node("Pad", ["x", "pads"], ["y"], name="pad")],
                      [_float_value("x", [1, 1, 1])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2**32, 2**32])], [pads])
    with pytest.raises(ModelError) as e:
        load(path)
    assert str(path) in str(e.value) and "past what a 64-bit size can count" in str(e.value)


def _qdq_add(path: Path, in_scale: float, out_scale: float) -> Path:
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.float32(s), n) for s, n in [(in_scale, "s_in"), (out_scale, "s_out")]]
    inits.append(numpy_helper.from_array(np.int8(0), "zp"))
    nodes = [helper.make_node("DequantizeLinear", ["a", "s_in", "zp"], ["a_f"]),
             helper.make_node("DequantizeLinear", ["b", "s_in", "zp"], ["b_f"]),
             helper.make_node("Add", ["a_f", "b_f"], ["c_f"], name="the_add"),
             helper.make_node("QuantizeLinear", ["c_f", "s_out", "zp"], ["c"])]
    value = lambda n: helper.make_tensor_value_info(n, TensorProto.INT8, [1, 8])  # noqa: E731
    return _onnx_file(path, nodes, [value("a"), value("b")], [value("c")], inits)


@pytest.mark.parametrize("in_scale, out_scale", [(1e10, 1e-10), (1e-20, 1.0)])
def test_add_scales_that_cannot_be_requantized_name_the_node(in_scale, out_scale, tmp_path):
    """exact_add_multipliers: a ratio of 1e20 raised a bare ValueError on main ("a bug in edgeai"), one of 1e-20
    shifted an int64 by 88 in the C."""
    from edgeai.compile import compile_model

    path = _qdq_add(tmp_path / "add.onnx", in_scale, out_scale)
    with pytest.raises(ModelError) as e:
        compile_model(path, "host", out_dir=tmp_path / "lib")
    assert str(path) in str(e.value) and "'the_add'" in str(e.value)


def test_a_softmax_input_scale_too_small_names_the_node(tmp_path):
    """softmax_quant_params: TFLite's PreprocessSoftmaxScaling has no multiplier for input scale * beta < 2**-26;
    on main that was a bare ValueError."""
    from edgeai.compile import compile_model

    i8 = tw.INT8
    data = tw.write(tw.Model(
        tensors=[tw.T("logits", (1, 10), i8, scale=1e-12), tw.T("probs", (1, 10), i8, scale=1 / 256, zero_point=-128)],
        ops=[tw.Op(25, [0], [1], options_type=9, options=((0, "f32", 1.0),))], inputs=[0], outputs=[1]))
    path = write(tmp_path, "softmax.tflite", data)
    with pytest.raises(ModelError) as e:
        compile_model(path, "host", out_dir=tmp_path / "lib")
    assert str(path) in str(e.value) and "'probs'" in str(e.value) and "too small" in str(e.value)


def test_the_test_suite_verifies_the_graph_after_every_pass(monkeypatch, tmp_path):
    """conftest turns on run_passes' debug verification for every compile in the tests: a pass that breaks the
    graph is named at once instead of surfacing as some later failure."""
    import edgeai.passes as passes
    from edgeai.compile import compile_model
    from edgeai.passes.base import PassResult

    def break_graph(graph):
        node = graph.nodes[-1]
        return PassResult(graph.replace(nodes=graph.nodes[:-1] + (node.with_(inputs=("nowhere",)),)), True)

    monkeypatch.setattr(passes, "DEFAULT_PASSES", passes.DEFAULT_PASSES + (break_graph,))
    with pytest.raises(ModelError, match="after pass break_graph"):
        compile_model(tflite("kws_ref_model"), "host", out_dir=tmp_path / "lib")


@pytest.mark.slow  # a sanitized build of kws_ref_model: ~10 s
@pytest.mark.toolchain
@pytest.mark.parametrize("kind", ["tflite_weights_1e30", "tflite_output_1e-42", "onnx_weights_1e30",
                                  "onnx_output_1e-42"])
def test_extreme_scales_run_clean_under_ubsan(kind, tmp_path):
    """The generated C for multipliers of ~2**100 under UndefinedBehaviorSanitizer (and ASan): on main UBSan
    stopped it (shift exponent out of range)."""
    from edgeai.compile import compile_model
    from test_fuzz_sanitizers import build_sanitized, run

    if kind.startswith("tflite"):
        tensor, scale = (CONV_WEIGHTS, 1e30) if "weights" in kind else (CONV_OUT, 1e-42)
        path = write(tmp_path, "m.tflite",
                     with_outputs(with_scales(tflite("kws_ref_model").read_bytes(), tensor, scale), [CONV_OUT]))
    else:
        path = _qdq_conv(tmp_path / "m.onnx", *((1e30, 0.1) if "weights" in kind else (0.01, 1e-42)))
    lib = compile_model(path, "host", out_dir=tmp_path / "lib").path
    desc = build_sanitized(lib, tmp_path / "runner", extra=("-Wno-memset-transposed-args",))  # an empty arena
    spec = desc["inputs"][0]
    rng = np.random.default_rng(5)
    xs = [rng.integers(-128, 128, spec["shape"], dtype=np.int8) for _ in range(3)]
    proc = run(tmp_path / "runner", desc, xs, tmp_path)
    assert proc.returncode == 0 and "runtime error" not in proc.stderr, proc.stderr[-3000:]
