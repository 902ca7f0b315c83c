"""TFLite's 16x8 quantization (int16 activations, symmetric; int8 weights; int64 biases) against LiteRT's reference
kernels: bit-exact on the host, on a Cortex-M4 under QEMU and on rpi4 under qemu-aarch64.

field_models/int16x8_tf2.21/dscnn_16x8.tflite is what TensorFlow 2.21's converter writes for a small DS-CNN block
(field_models/make_int16x8_models.py): QUANTIZE, CONV_2D, DEPTHWISE_CONV_2D, CONV_2D, ADD, MAX_POOL_2D,
AVERAGE_POOL_2D, RESHAPE, FULLY_CONNECTED, SOFTMAX, DEQUANTIZE; both outputs are float32, so equal outputs are
equal int16 tensors. gate_16x8.tflite, from the same converter, has LOGISTIC, TANH, MUL and SUB. A hand-written
model (fuzz/tflite_writer.py) adds what the converter did not write there: an int16 SOFTMAX over its whole table
range, QUANTIZE of ties, a FULLY_CONNECTED long enough to pass int64, PAD, CONCATENATION, MEAN, TRANSPOSE, MUL, SUB,
LOGISTIC and TANH over every int16 input; other hand-written models the 16x8 layers edgeai refuses, each by name.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from edgeai import load
from edgeai.compile import compile_model
from edgeai.errors import ModelError, UnsupportedOpError
from edgeai.runtime.host import HostSession
from edgeai.runtime.reference import LiteRTSession
from fuzz import tflite_writer as tw

MODEL = Path(__file__).parent / "field_models" / "int16x8_tf2.21" / "dscnn_16x8.tflite"
GATE_MODEL = MODEL.with_name("gate_16x8.tflite")
LAYERS_16X8 = {"conv2d", "depthwise_conv2d", "add", "max_pool2d", "average_pool2d", "fully_connected", "softmax"}
ADD, CONCATENATION, CONV_2D, FULLY_CONNECTED, LOGISTIC, MUL, RELU, SOFTMAX, TANH, PAD, TRANSPOSE, MEAN, SUB, \
    QUANTIZE = 0, 2, 3, 9, 14, 18, 19, 25, 28, 34, 39, 40, 41, 114  # BuiltinOperator
CONV_OPTIONS, FC_OPTIONS, SOFTMAX_OPTIONS, CONCAT_OPTIONS, MUL_OPTIONS, PAD_OPTIONS, TRANSPOSE_OPTIONS, \
    REDUCER_OPTIONS, SUB_OPTIONS = 1, 8, 9, 10, 21, 22, 26, 27, 28  # BuiltinOptions


def _inputs(samples: int, seed: int = 0) -> list[np.ndarray]:
    """float32 inputs: uniform in [-4.5, 4.5] (past the calibration range, so QUANTIZE saturates), a third of the
    values exactly halfway between two int16 steps of the input scale (QUANTIZE's rounding of ties)."""
    graph = load(MODEL)
    quantize = next(n for n in graph.nodes if n.op == "quantize")
    scale = graph.tensor(quantize.outputs[0]).quant.scale[0]
    shape = graph.tensor(graph.inputs[0]).shape
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(samples):
        x = rng.uniform(-4.5, 4.5, shape)
        ties = (rng.integers(-32000, 32000, shape) + 0.5) * float(np.float32(scale))
        out.append(np.where(rng.random(shape) < 1 / 3, ties, x).astype(np.float32))
    return out


def _assert_bit_exact(session, inputs, what: str) -> None:
    reference = LiteRTSession(MODEL)
    for k, x in enumerate(inputs):
        for name, got, want in zip(("logits", "probabilities"), session.run([x]), reference.run([x])):
            assert np.array_equal(got, want), f"{what}, input {k}, {name}: {np.count_nonzero(got != want)}/" \
                                              f"{got.size} differ, max {np.abs(got - want).max()}"


def _assert_generic_and_named(desc) -> None:
    """Every 16x8 layer is in the library, and each one the target has hand-written kernels for is named as
    computed by the generic kernel, with the reason."""
    layers = {layer["op"]: layer for layer in desc["layers"]}
    assert LAYERS_16X8 <= set(layers)
    for op in ("conv2d", "depthwise_conv2d", "fully_connected", "add"):
        assert "16x8" in layers[op].get("generic_kernel", ""), layers[op]


@pytest.fixture(scope="module")
def host_library(tmp_path_factory, tmp_cache):
    return compile_model(MODEL, "host", tmp_path_factory.mktemp("int16x8") / "host")


@pytest.mark.toolchain
def test_dscnn_16x8_bit_exact_with_litert_on_the_host(host_library):
    _assert_generic_and_named(host_library.desc)  # the host's x86 kernels take int8 layers only
    _assert_bit_exact(HostSession(host_library.path), _inputs(20), "host")


@pytest.mark.slow
@pytest.mark.toolchain
def test_converter_written_16x8_gate_bit_exact_with_litert_on_the_host(tmp_path, tmp_cache):
    """gate_16x8: the LOGISTIC, TANH (at the input scales the converter chose), MUL and SUB TensorFlow 2.21 writes."""
    ops = {n.op for n in load(GATE_MODEL).nodes}
    assert {"sigmoid", "tanh", "mul", "sub"} <= ops, ops
    session = HostSession(compile_model(GATE_MODEL, "host", tmp_path / "gate").path)
    reference = LiteRTSession(GATE_MODEL)
    rng = np.random.default_rng(10)
    for k in range(20):
        x = rng.uniform(-4.5, 4.5, (1, 16, 10, 1)).astype(np.float32)
        for name, got, want in zip(("product", "output"), session.run([x]), reference.run([x])):
            assert np.array_equal(got, want), f"input {k}, {name}: {np.count_nonzero(got != want)}/{got.size} differ"


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.toolchain
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="needs qemu-system-arm and arm-none-eabi-gcc")
def test_16x8_bit_exact_on_cortex_m4_under_qemu(tmp_path, tmp_cache):
    from edgeai.runtime.device import QemuSession

    compiled = compile_model(MODEL, "cortex-m4", tmp_path / "m4")
    _assert_generic_and_named(compiled.desc)  # the DSP kernels decline every 16x8 layer, by name
    with QemuSession(compiled.path, "cortex-m4") as session:
        _assert_bit_exact(session, _inputs(2, seed=1), "cortex-m4")
    # the gate's LOGISTIC/TANH kernel (portable C), int16 MUL and SUB on the same firmware
    reference = LiteRTSession(GATE_MODEL)
    with QemuSession(compile_model(GATE_MODEL, "cortex-m4", tmp_path / "gate-m4").path, "cortex-m4") as session:
        for k, x in enumerate(np.random.default_rng(11).uniform(-4.5, 4.5, (2, 1, 16, 10, 1)).astype(np.float32)):
            for name, got, want in zip(("product", "output"), session.run([x]), reference.run([x])):
                assert np.array_equal(got, want), f"input {k}, {name}: {np.count_nonzero(got != want)} differ"


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.toolchain
@pytest.mark.skipif(not all(shutil.which(t) for t in ("aarch64-linux-gnu-gcc", "qemu-aarch64-static", "cmake")),
                    reason="needs aarch64-linux-gnu-gcc, qemu-aarch64-static and cmake")
def test_dscnn_16x8_bit_exact_on_rpi4_under_qemu(tmp_path, tmp_cache):
    from edgeai.runtime.device import QemuSession, build_firmware

    compiled = compile_model(MODEL, "rpi4", tmp_path / "rpi4")
    _assert_generic_and_named(compiled.desc)  # the NEON kernels decline every 16x8 layer, by name
    with QemuSession(compiled.path, "rpi4", elf=build_firmware(compiled.path, "rpi4")) as session:
        _assert_bit_exact(session, _inputs(2, seed=2), "rpi4")


def _int16(name, shape, scale, zero_point=0):
    return tw.T(name, shape, tw.INT16, scale=scale, zero_point=zero_point)


SOFTMAX_CASES = [(2.0 ** -10, 1.0), (3.1e-4, 1.7)]  # (input scale, beta): a power of two and not
QUANTIZE_CASES = [(tw.INT16, 1.22e-4, 0), (tw.INT8, 0.031, -3)]  # (dtype, scale, zero point)
SOFTMAX_SHAPE, FC_DEPTH = (24, 33), 2048
# int16 LOGISTIC/TANH input scales: powers of two on LiteRT's shift-only path (2**-12 for both, 2**-11 for TANH;
# LOGISTIC takes 2**-11 on the multiplier path), what the converter writes for a calibrated range of +-4, others
ACTIVATION_SCALES = (2.0 ** -12, 2.0 ** -11, 4.0 / 32767, 3.1e-4, 0.01)
MUL_SHAPE = (1, 64, 256)  # 16,384 products: LiteRT's two roundings differ from one on about 1 in 2,000-16,000
ALL_INT16 = np.arange(-32768, 32768).astype(np.int16).reshape(1, 65536)


class _Model:
    """A hand-written TFLite model built tensor by tensor: indices, and the graph inputs and outputs by name."""

    def __init__(self):
        self.tensors, self.ops, self.inputs, self.outputs = [], [], [], []

    def add(self, tensor, role: str = "") -> int:
        self.tensors.append(tensor)
        index = len(self.tensors) - 1
        {"in": self.inputs, "out": self.outputs}.get(role, []).append(index)
        return index

    def write(self, path: Path) -> Path:
        path.write_bytes(tw.write(tw.Model(self.tensors, self.ops, self.inputs, self.outputs)))
        return path


def _long_fc(m: _Model) -> None:
    """2048 inputs: at full scale the accumulator (up to 127 * 32768 * 2048) times the whole Q31 multiplier passes
    int64, and LiteRT saturates those outputs."""
    rng = np.random.default_rng(6)
    w = rng.integers(-127, 128, (4, FC_DEPTH)).astype(np.int8)
    w[0], w[1], w[2, ::2], w[2, 1::2] = 127, -127, 127, -127
    scales, out_scale = (0.01, 0.012, 0.009, 0.011), 1e-6 * 32767 * 127 * FC_DEPTH / 1e5
    ins = [m.add(_int16("fc_x", (1, FC_DEPTH), 1e-4), "in"), m.add(tw.T("fc_w", w.shape, tw.INT8, w, scale=scales)),
           m.add(tw.T("fc_b", (4,), tw.INT64, np.array([3, -5, 7, -1000], np.int64),
                      scale=tuple(1e-4 * s for s in scales)))]
    m.ops.append(tw.Op(FULLY_CONNECTED, ins, [m.add(_int16("fc_y", (1, 4), out_scale), "out")], FC_OPTIONS))


def _pad_concat_mean(m: _Model) -> None:
    """ZeroPadding2D's PAD, Concatenate's CONCATENATION, GlobalAveragePooling2D's MEAN (to another scale) and a
    TRANSPOSE."""
    pads = np.array([[0, 0], [1, 1], [2, 0], [0, 0]], np.int32)
    x, p = m.add(_int16("pad_x", (1, 5, 6, 4), 2e-4), "in"), m.add(tw.T("pads", (4, 2), tw.INT32, pads))
    padded = m.add(_int16("padded", (1, 7, 8, 4), 2e-4))
    m.ops.append(tw.Op(PAD, [x, p], [padded], PAD_OPTIONS))
    side, joined = m.add(_int16("side", (1, 7, 8, 3), 2e-4), "in"), m.add(_int16("joined", (1, 7, 8, 7), 2e-4), "out")
    m.ops.append(tw.Op(CONCATENATION, [padded, side], [joined], CONCAT_OPTIONS, options=((0, "i32", 3),)))
    axes = m.add(tw.T("axes", (2,), tw.INT32, np.array([1, 2], np.int32)))
    m.ops.append(tw.Op(MEAN, [joined, axes], [m.add(_int16("pooled", (1, 7), 1.3e-4), "out")], REDUCER_OPTIONS,
                       options=((0, "u8", 0),)))
    perm = m.add(tw.T("perm", (4,), tw.INT32, np.array([0, 2, 1, 3], np.int32)))
    m.ops.append(tw.Op(TRANSPOSE, [joined, perm], [m.add(_int16("transposed", (1, 8, 7, 7), 2e-4), "out")],
                       TRANSPOSE_OPTIONS))


def _mul_and_sub(m: _Model) -> None:
    """Two int16 MULs: equal shapes, output scale small enough that large products saturate; a broadcast one with
    a fused RELU. Two SUBs (pot_scale_int16 false, as the converter writes): the same operands, and broadcast."""
    a, b = m.add(_int16("mul_a", MUL_SHAPE, 1e-3), "in"), m.add(_int16("mul_b", MUL_SHAPE, 2.1e-3), "in")
    m.ops.append(tw.Op(MUL, [a, b], [m.add(_int16("product", MUL_SHAPE, 3e-2), "out")], MUL_OPTIONS))
    row = m.add(_int16("mul_row", MUL_SHAPE[-1:], 7.7e-4), "in")
    m.ops.append(tw.Op(MUL, [a, row], [m.add(_int16("product_relu", MUL_SHAPE, 1.1e-3), "out")], MUL_OPTIONS,
                       options=((0, "i8", 1),)))
    general = ((1, "u8", 0),)  # SubOptions.pot_scale_int16 false: LiteRT's general-scale path
    m.ops.append(tw.Op(SUB, [a, b], [m.add(_int16("difference", MUL_SHAPE, 2.3e-3), "out")], SUB_OPTIONS,
                       options=general))
    m.ops.append(tw.Op(SUB, [row, a], [m.add(_int16("difference_row", MUL_SHAPE, 1.7e-3), "out")], SUB_OPTIONS,
                       options=general))


@pytest.fixture(scope="module")
def hand_ops(tmp_path_factory, tmp_cache):
    """The 16x8 layers TensorFlow's converter did not write into dscnn_16x8, in one hand-written model compiled once
    for the host: two int16 SOFTMAX (SOFTMAX_CASES), QUANTIZE float32 -> int16 and -> int8 (QUANTIZE_CASES), a
    long FULLY_CONNECTED, PAD -> CONCATENATION -> MEAN, two MULs and SUBs, LOGISTIC and TANH at each
    ACTIVATION_SCALES. Returns run(inputs by name) -> (ours, LiteRT's) outputs by name; an input not given is
    zeros."""
    m = _Model()
    for k, (scale, beta) in enumerate(SOFTMAX_CASES):
        logits = m.add(_int16(f"logits{k}", SOFTMAX_SHAPE, scale), "in")
        m.ops.append(tw.Op(SOFTMAX, [logits], [m.add(_int16(f"probabilities{k}", SOFTMAX_SHAPE, 1 / 32768), "out")],
                           SOFTMAX_OPTIONS, options=((0, "f32", beta),)))
    x = m.add(tw.T("quantize_x", (1, 512)), "in")
    for k, (dtype, scale, zero_point) in enumerate(QUANTIZE_CASES):
        m.ops.append(tw.Op(QUANTIZE, [x], [m.add(tw.T(f"q{k}", (1, 512), dtype, scale=scale, zero_point=zero_point),
                                                "out")]))
    _long_fc(m)
    _pad_concat_mean(m)
    _mul_and_sub(m)
    for k, scale in enumerate(ACTIVATION_SCALES):
        for op, name in ((LOGISTIC, "sigmoid"), (TANH, "tanh")):
            x = m.add(_int16(f"{name}_x{k}", ALL_INT16.shape, scale), "in")
            m.ops.append(tw.Op(op, [x], [m.add(_int16(f"{name}{k}", ALL_INT16.shape, 1 / 32768), "out")]))
    folder = tmp_path_factory.mktemp("hand_ops16")
    path = m.write(folder / "hand_ops16.tflite")
    session, reference = HostSession(compile_model(path, "host", folder / "lib").path), LiteRTSession(path)

    def run(given: dict) -> tuple[dict, dict]:
        inputs = []
        for i in m.inputs:
            t = m.tensors[i]
            inputs.append(given.get(t.name, np.zeros(t.shape, np.float32 if t.type == tw.FLOAT32 else np.int16)))
        names = [m.tensors[i].name for i in m.outputs]
        return dict(zip(names, session.run(inputs))), dict(zip(names, reference.run(inputs)))

    return run


def _assert_equal(ours: dict, litert: dict, names) -> None:
    for name in names:
        got, want = ours[name], litert[name]
        assert np.array_equal(got, want), f"{name}: {np.count_nonzero(got != want)}/{got.size} differ, max " \
                                          f"{np.abs(got.astype(int) - want.astype(int)).max()} LSB"


def _softmax_rows(scale, rng) -> np.ndarray:
    """Rows whose differences to their maximum run from 0 past -10 (the exp table's end, where LiteRT saturates),
    rows of one value (the largest sum of exps), rows with one value far above the rest, random rows."""
    x = rng.integers(-32768, 32768, SOFTMAX_SHAPE).astype(np.int16)
    x[:8] = rng.integers(-int(12 / scale), 1, (8, SOFTMAX_SHAPE[1])) + 1000  # within [-12, 0] of a maximum near 1000
    x[8] = x[9] = 77
    x[10:12] = -32768
    x[10:12, 5] = 32767
    return x


@pytest.mark.toolchain
def test_int16_softmax_over_its_whole_table_range_matches_litert(hand_ops):
    rng = np.random.default_rng(3)
    given = {f"logits{k}": _softmax_rows(scale, rng) for k, (scale, _) in enumerate(SOFTMAX_CASES)}
    _assert_equal(*hand_ops(given), [f"probabilities{k}" for k in range(len(SOFTMAX_CASES))])


@pytest.mark.toolchain
def test_quantize_rounds_ties_away_from_zero_as_litert(hand_ops):
    """float32 values exactly halfway between two steps of each QUANTIZE_CASES scale (alternately), negative and
    positive, a few past the integer range: x / scale in float32, halves away from zero (TfLiteRound; TVM's round
    prints as nearbyintf, halves to even, which the int8 QUANTIZE used before too)."""
    rng = np.random.default_rng(4)
    steps = rng.integers(-40000, 40000, (1, 512)) + 0.5
    scales = np.resize([float(np.float32(scale)) for _, scale, _ in QUANTIZE_CASES], 512)
    _assert_equal(*hand_ops({"quantize_x": (steps * scales).astype(np.float32)}), ["q0", "q1"])


@pytest.mark.toolchain
def test_a_long_16x8_fully_connected_saturates_as_litert(hand_ops):
    """Full-scale inputs (the product passes int64: the kernel forms it in halves), and random ones (the rounding)."""
    rng = np.random.default_rng(6)
    inputs = [np.full((1, FC_DEPTH), v, np.int16) for v in (32767, -32768)]
    for x in inputs + [rng.integers(-32768, 32768, (1, FC_DEPTH)).astype(np.int16) for _ in range(4)]:
        _assert_equal(*hand_ops({"fc_x": x}), ["fc_y"])


@pytest.mark.toolchain
def test_int16_pad_concatenation_mean_and_transpose_match_litert(hand_ops):
    rng = np.random.default_rng(8)
    for _ in range(4):
        given = {"pad_x": rng.integers(-32768, 32768, (1, 5, 6, 4)).astype(np.int16),
                 "side": rng.integers(-32768, 32768, (1, 7, 8, 3)).astype(np.int16)}
        _assert_equal(*hand_ops(given), ["joined", "pooled", "transposed"])


@pytest.mark.toolchain
def test_int16_logistic_and_tanh_match_litert_on_every_input(hand_ops):
    """All 65,536 int16 inputs at each ACTIVATION_SCALES: the table's interpolation, its saturation past entry 254,
    the reflection of negative inputs and both input rescalings."""
    given = {f"{name}_x{k}": ALL_INT16 for k in range(len(ACTIVATION_SCALES)) for name in ("sigmoid", "tanh")}
    _assert_equal(*hand_ops(given), [f"{name}{k}" for k in range(len(ACTIVATION_SCALES))
                                     for name in ("sigmoid", "tanh")])


@pytest.mark.toolchain
def test_int16_mul_and_sub_match_litert(hand_ops):
    """Random int16 operands, full-scale ones (the largest product, 2**30, and saturation), broadcast with RELU."""
    rng = np.random.default_rng(9)
    extremes = np.resize(np.array([-32768, 32767, -32767, 0, 1, -1], np.int16), MUL_SHAPE)
    for k in range(6):
        given = {name: rng.integers(-32768, 32768, shape).astype(np.int16)
                 for name, shape in (("mul_a", MUL_SHAPE), ("mul_b", MUL_SHAPE), ("mul_row", MUL_SHAPE[-1:]))}
        if k == 0:
            given["mul_a"], given["mul_b"] = extremes, extremes[..., ::-1].copy()
        _assert_equal(*hand_ops(given), ["product", "product_relu", "difference", "difference_row"])


def test_an_int16_op_edgeai_lacks_is_refused_naming_the_node_and_the_16x8_ops(tmp_path):
    path = tmp_path / "relu16.tflite"
    path.write_bytes(tw.write(tw.Model([_int16("a", (1, 8), 1e-3), _int16("rectified", (1, 8), 1e-3)],
                                       [tw.Op(RELU, [0], [1])], inputs=[0], outputs=[1])))
    with pytest.raises(UnsupportedOpError, match=r"node 'rectified': relu on int16 tensors is not supported .*16x8 "
                                                 r"quantization .* edgeai lowers add, average_pool2d, concat, conv2d"):
        compile_model(path, "host", tmp_path / "lib")


@pytest.mark.parametrize("in_scale, out_scale, why", [(1e-3, 1 / 256, "output scale 1/32768"),
                                                      (6.0, 1 / 32768, "input scale 6 is too large")])
def test_an_int16_logistic_litert_would_not_prepare_is_refused_naming_the_node(tmp_path, in_scale, out_scale, why):
    """LiteRT's Prepare requires output scale 1/32768; an input scale past ~5.3 would overflow its int32 product."""
    path = tmp_path / "logistic16.tflite"
    path.write_bytes(tw.write(tw.Model([_int16("x", (1, 8), in_scale), _int16("p", (1, 8), out_scale)],
                                       [tw.Op(LOGISTIC, [0], [1])], inputs=[0], outputs=[1])))
    with pytest.raises(ModelError, match=rf"node 'p' \(sigmoid\): .*{why}"):
        compile_model(path, "host", tmp_path / "lib")


@pytest.mark.parametrize("op, kind", [(ADD, "ADD"), (SUB, "SUB")])
def test_the_power_of_two_int16_add_or_sub_is_refused_naming_the_operator(tmp_path, op, kind):
    """Add/SubOptions.pot_scale_int16 (true by default) with power-of-two scales: LiteRT's shift-only path."""
    path = tmp_path / "add16.tflite"
    path.write_bytes(tw.write(tw.Model([_int16("a", (1, 8), 2.0 ** -12), _int16("b", (1, 8), 2.0 ** -11),
                                        _int16("sum", (1, 8), 2.0 ** -10)],
                                       [tw.Op(op, [0, 1], [2])], inputs=[0, 1], outputs=[2])))
    with pytest.raises(UnsupportedOpError, match=rf"{kind} \('sum'\).*power-of-two scales and pot_scale_int16"):
        load(path)


def test_a_16x8_conv_with_an_int32_bias_is_refused_naming_the_node(tmp_path):
    w = np.array([[1, -2], [3, 4], [-5, 6]], np.int8).reshape(3, 1, 1, 2)
    path = tmp_path / "conv16.tflite"
    path.write_bytes(tw.write(tw.Model(
        [_int16("x", (1, 4, 4, 2), 1e-3), tw.T("w", w.shape, tw.INT8, w, scale=(0.01, 0.02, 0.03)),
         tw.T("b", (3,), tw.INT32, np.array([5, -6, 7], np.int32), scale=(1e-5, 2e-5, 3e-5)),
         _int16("y", (1, 4, 4, 3), 2e-3)],
        [tw.Op(CONV_2D, [0, 1, 2], [3], CONV_OPTIONS, options=((0, "i8", 1), (1, "i32", 1), (2, "i32", 1)))],
        inputs=[0], outputs=[3])))
    with pytest.raises(UnsupportedOpError, match=r"node 'y' \(conv2d\): 16x8 bias 'b' is int32; only int64"):
        compile_model(path, "host", tmp_path / "lib")
