"""TFLite's 16x8 quantization (int16 activations, symmetric; int8 weights; int64 biases) against LiteRT's reference
kernels: bit-exact on the host, on a Cortex-M4 under QEMU and on rpi4 under qemu-aarch64.

field_models/int16x8_tf2.21/dscnn_16x8.tflite is what TensorFlow 2.21's converter writes for a small DS-CNN block
(field_models/make_int16x8_models.py): QUANTIZE, CONV_2D, DEPTHWISE_CONV_2D, CONV_2D, ADD, MAX_POOL_2D,
AVERAGE_POOL_2D, RESHAPE, FULLY_CONNECTED, SOFTMAX, DEQUANTIZE; both outputs are float32, so equal outputs are
equal int16 tensors. Hand-written models (fuzz/tflite_writer.py) add an int16 SOFTMAX over its whole table range
and the 16x8 layers edgeai refuses, each by name.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from edgeai import load
from edgeai.compile import compile_model
from edgeai.errors import UnsupportedOpError
from edgeai.runtime.host import HostSession
from edgeai.runtime.reference import LiteRTSession
from fuzz import tflite_writer as tw

MODEL = Path(__file__).parent / "field_models" / "int16x8_tf2.21" / "dscnn_16x8.tflite"
LAYERS_16X8 = {"conv2d", "depthwise_conv2d", "add", "max_pool2d", "average_pool2d", "fully_connected", "softmax"}
ADD, CONV_2D, FULLY_CONNECTED, MUL, SOFTMAX, QUANTIZE = 0, 3, 9, 18, 25, 114  # BuiltinOperator
CONV_OPTIONS, FC_OPTIONS, SOFTMAX_OPTIONS, MUL_OPTIONS = 1, 8, 9, 21  # BuiltinOptions


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
@pytest.mark.qemu
@pytest.mark.toolchain
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="needs qemu-system-arm and arm-none-eabi-gcc")
def test_dscnn_16x8_bit_exact_on_cortex_m4_under_qemu(tmp_path, tmp_cache):
    from edgeai.runtime.device import QemuSession

    compiled = compile_model(MODEL, "cortex-m4", tmp_path / "m4")
    _assert_generic_and_named(compiled.desc)  # the DSP kernels decline every 16x8 layer, by name
    with QemuSession(compiled.path, "cortex-m4") as session:
        _assert_bit_exact(session, _inputs(2, seed=1), "cortex-m4")


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


def _softmax_rows(scale, shape, rng) -> np.ndarray:
    """Rows whose differences to their maximum run from 0 past -10 (the exp table's end, where LiteRT saturates),
    rows of one value (the largest sum of exps), rows with one value far above the rest, random rows."""
    x = rng.integers(-32768, 32768, shape).astype(np.int16)
    x[:8] = rng.integers(-int(12 / scale), 1, (8, shape[1])) + 1000  # within [-12, 0] of a maximum near 1000
    x[8] = x[9] = 77
    x[10:12] = -32768
    x[10:12, 5] = 32767
    return x


def _ties(rng, size: int) -> np.ndarray:
    """float32 values exactly halfway between two steps of each QUANTIZE_CASES scale (alternately), negative and
    positive, a few past the integer range."""
    steps = rng.integers(-40000, 40000, (1, size)) + 0.5
    scales = np.resize([float(np.float32(scale)) for _, scale, _ in QUANTIZE_CASES], size)
    return (steps * scales).astype(np.float32)


@pytest.mark.toolchain
def test_int16_softmax_and_quantize_ties_match_litert(tmp_path, tmp_cache):
    """One hand-written model, one compile: two int16 SOFTMAX (SOFTMAX_CASES) over their whole table range, and
    QUANTIZE float32 -> int16 and -> int8 of ties (_ties): x / scale in float32, halves away from zero
    (TfLiteRound; TVM's round prints as nearbyintf, halves to even, which the int8 QUANTIZE used before too)."""
    shape, tensors, ops = (24, 33), [], []
    for k, (scale, beta) in enumerate(SOFTMAX_CASES):
        tensors += [_int16(f"logits{k}", shape, scale), _int16(f"probabilities{k}", shape, 1 / 32768)]
        ops.append(tw.Op(SOFTMAX, [2 * k], [2 * k + 1], SOFTMAX_OPTIONS, options=((0, "f32", beta),)))
    tensors.append(tw.T("x", (1, 512)))
    for k, (dtype, scale, zero_point) in enumerate(QUANTIZE_CASES):
        tensors.append(tw.T(f"q{k}", (1, 512), dtype, scale=scale, zero_point=zero_point))
        ops.append(tw.Op(QUANTIZE, [4], [5 + k]))
    path = tmp_path / "softmax_quantize.tflite"
    path.write_bytes(tw.write(tw.Model(tensors, ops, inputs=[0, 2, 4], outputs=[1, 3, 5, 6])))
    rng = np.random.default_rng(3)
    inputs = [_softmax_rows(scale, shape, rng) for scale, _ in SOFTMAX_CASES] + [_ties(rng, 512)]
    compiled = compile_model(path, "host", tmp_path / "lib")
    names = [f"softmax {c}" for c in SOFTMAX_CASES] + [f"quantize {c}" for c in QUANTIZE_CASES]
    for name, got, want in zip(names, HostSession(compiled.path).run(inputs), LiteRTSession(path).run(inputs)):
        assert np.array_equal(got, want), f"{name}: {np.count_nonzero(got != want)}/{got.size} differ, max " \
                                          f"{np.abs(got.astype(int) - want.astype(int)).max()} LSB"


@pytest.mark.toolchain
def test_a_long_16x8_fully_connected_saturates_as_litert(tmp_path, tmp_cache):
    """2048 inputs at full scale: the accumulator (up to 127 * 32768 * 2048) times the whole Q31 multiplier passes
    int64; LiteRT saturates those outputs, and so must the kernel. Random inputs check the rounding too."""
    k = 2048
    rng = np.random.default_rng(6)
    w = rng.integers(-127, 128, (4, k)).astype(np.int8)
    w[0], w[1], w[2, ::2], w[2, 1::2] = 127, -127, 127, -127
    scales, out_scale = (0.01, 0.012, 0.009, 0.011), 1e-6 * 32767 * 127 * k / 1e5
    path = tmp_path / "fc16.tflite"
    path.write_bytes(tw.write(tw.Model(
        [_int16("x", (1, k), 1e-4), tw.T("w", w.shape, tw.INT8, w, scale=scales),
         tw.T("b", (4,), tw.INT64, np.array([3, -5, 7, -1000], np.int64), scale=tuple(1e-4 * s for s in scales)),
         _int16("y", (1, 4), out_scale)],
        [tw.Op(FULLY_CONNECTED, [0, 1, 2], [3], FC_OPTIONS)], inputs=[0], outputs=[3])))
    inputs = [np.full((1, k), v, np.int16) for v in (32767, -32768)]
    inputs += [rng.integers(-32768, 32768, (1, k)).astype(np.int16) for _ in range(4)]
    compiled = compile_model(path, "host", tmp_path / "lib")
    session, reference = HostSession(compiled.path), LiteRTSession(path)
    for x in inputs:
        np.testing.assert_array_equal(session.run([x])[0], reference.run([x])[0])


def test_an_int16_op_edgeai_lacks_is_refused_naming_the_node_and_the_16x8_ops(tmp_path):
    path = tmp_path / "mul16.tflite"
    path.write_bytes(tw.write(tw.Model([_int16("a", (1, 8), 1e-3), _int16("b", (1, 8), 2e-3),
                                        _int16("product", (1, 8), 3e-3)],
                                       [tw.Op(MUL, [0, 1], [2], MUL_OPTIONS)], inputs=[0, 1], outputs=[2])))
    with pytest.raises(UnsupportedOpError, match=r"node 'product': mul on int16 tensors is not supported .*16x8 "
                                                 r"quantization .* edgeai lowers add, average_pool2d, conv2d"):
        compile_model(path, "host", tmp_path / "lib")


def test_the_power_of_two_int16_add_is_refused_naming_the_operator(tmp_path):
    """AddOptions.pot_scale_int16 (true by default) with power-of-two scales: LiteRT's shift-only path."""
    path = tmp_path / "add16.tflite"
    path.write_bytes(tw.write(tw.Model([_int16("a", (1, 8), 2.0 ** -12), _int16("b", (1, 8), 2.0 ** -11),
                                        _int16("sum", (1, 8), 2.0 ** -10)],
                                       [tw.Op(ADD, [0, 1], [2])], inputs=[0, 1], outputs=[2])))
    with pytest.raises(UnsupportedOpError, match=r"ADD \('sum'\).*power-of-two scales and pot_scale_int16"):
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
