"""The aarch64 NEON / SDOT kernels (compilers/c/kernels/neon/) on rpi4 (Cortex-A72: "neon") and rpi5 (Cortex-A76:
"dotprod" then "neon"), run as firmware under qemu-aarch64-static and bit-exact with LiteRT's reference kernels:

- one small int8 model holding every layer shape the kernels distinguish: 3x3 SAME convolutions at stride 1 and 2
  (the border patches), 1x1 convolutions read in place (C % 16 == 0) and through the patch (C = 13), depthwise
  3x3 stride 2 with 13 channels (8 at a time, then one at a time) and 5x5 (the generic tap loop) with 32,
  per-channel scales, odd channel counts, a fully connected layer (LiteRT's one rounding), a same-shape add, and
  layers whose multipliers are powers of two, so RoundingDivideByPOT meets negative ties (where SRSHL alone
  rounds the other way), one of them with a channel shifting left and one not shifting right;
- two MLPerf Tiny int8 models (ad01: fully connected; kws: convolution, depthwise, fully connected).
Instruction counts live in benchmarks/neon, not here."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from conftest import tflite
from edgeai.compile import compile_model
from edgeai.runtime.device import QemuSession, build_firmware
from edgeai.runtime.reference import LiteRTSession
from edgeai.validate import random_inputs
from fuzz import tflite_writer as tw

pytestmark = [pytest.mark.slow, pytest.mark.qemu, pytest.mark.toolchain,
              pytest.mark.skipif(not all(shutil.which(t) for t in ("aarch64-linux-gnu-gcc", "qemu-aarch64-static",
                                                                   "cmake")),
                                 reason="needs aarch64-linux-gnu-gcc, qemu-aarch64-static and cmake")]

ADD, CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED = 0, 3, 4, 9  # BuiltinOperator
CONV_OPTIONS, DW_OPTIONS, FC_OPTIONS, ADD_OPTIONS = 1, 2, 8, 11  # BuiltinOptions
SAME, RELU = 0, 1
# What each target's layers must run on (the rest of a symbol is the requantization).
CONV_SYMBOL = {"rpi4": "edgeai_conv_s8_neon", "rpi5": "edgeai_conv_s8_dot"}
SAMPLES = 3


class _Builder:
    """Tensors and ops of a small int8 TFLite model, with scales chosen to keep outputs off the rails."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.tensors: list[tw.T] = []
        self.ops: list[tw.Op] = []

    def tensor(self, name, shape, scale, zp=0, dtype=tw.INT8, data=None, axis=0) -> int:
        self.tensors.append(tw.T(name, shape, dtype, data, scale, zp, axis))
        return len(self.tensors) - 1

    def activation(self, name, shape, scale, zp) -> int:
        return self.tensor(name, shape, scale, zp)

    def weights(self, name, shape, axis, channels, scales=None, limit=127):
        w = self.rng.integers(-limit, limit + 1, shape, dtype=np.int8)
        s = tuple(scales) if scales is not None else tuple(self.rng.uniform(0.004, 0.02, channels))
        return self.tensor(name, shape, s if len(s) > 1 else s[0], 0, data=w, axis=axis), np.asarray(s)

    def bias(self, name, s_in, s_w, n=None, limit=3000):
        n = n or s_w.size
        b = self.rng.integers(-limit, limit + 1, n, dtype=np.int32)
        s = tuple(s_in * s_w)
        return self.tensor(name, (n,), s if len(s) > 1 else s[0], 0, tw.INT32, b)

    def conv(self, x, s_in, shape_in, o, k, stride, out_scale, out_zp, relu=False, depthwise=False, scales=None,
             limit=127):
        """out_scale None: one that puts the accumulator's spread (about sqrt(taps) * 74 * 73 weight-input LSB for
        uniform int8) at some 50 output LSB."""
        _, h, w, c = shape_in
        oh, ow = -(-h // stride), -(-w // stride)  # SAME
        if depthwise:
            wi, sw = self.weights(f"dw{len(self.ops)}/w", (1, k, k, c), 3, c, scales, limit)
            opts = ((0, "u8", SAME), (1, "i32", stride), (2, "i32", stride), (3, "i32", 1), (4, "u8", RELU * relu))
            o, code, kind, taps = c, DEPTHWISE_CONV_2D, DW_OPTIONS, k * k
        else:
            wi, sw = self.weights(f"conv{len(self.ops)}/w", (o, k, k, c), 0, o, scales, limit)
            taps = k * k * c
            opts = ((0, "u8", SAME), (1, "i32", stride), (2, "i32", stride), (3, "u8", RELU * relu))
            code, kind = CONV_2D, CONV_OPTIONS
        bi = self.bias(f"op{len(self.ops)}/b", s_in, sw, limit=min(3000, 20 * limit))
        shape = (1, oh, ow, o)
        out_scale = out_scale or float(s_in * np.median(sw) * np.sqrt(taps) * 74 * 73 / 50)
        y = self.activation(f"op{len(self.ops)}/y", shape, out_scale, out_zp)
        self.ops.append(tw.Op(code, [x, wi, bi], [y], kind, options=opts))
        return y, shape


def _layers_model(path, minus_128: bool = False):
    """minus_128: the first weight of the first convolution and of the first depthwise layer is -128."""
    m = _Builder(seed=13)
    x = m.activation("x", (1, 9, 7, 5), 0.05, -3)
    a, sa = m.conv(x, 0.05, (1, 9, 7, 5), 13, 3, 1, None, -20, relu=True)  # 3x3 SAME s1, patch K = 45
    s_a = m.tensors[a].scale
    b, sb = m.conv(a, s_a, sa, 0, 3, 2, None, 4, depthwise=True)  # depthwise 3x3 s2, C = 13
    c, sc = m.conv(b, m.tensors[b].scale, sb, 32, 1, 1, None, 3)  # 1x1 through the patch (C = 13)
    d, sd = m.conv(a, s_a, sa, 32, 3, 2, None, -7)  # 3x3 SAME s2
    s_e = 1.5 * max(m.tensors[c].scale, m.tensors[d].scale)
    e = m.activation("sum", sd, s_e, 2)
    m.ops.append(tw.Op(ADD, [c, d], [e], ADD_OPTIONS, options=((0, "u8", 0),)))
    f, sf = m.conv(e, s_e, sd, 7, 1, 1, None, -1, relu=True)  # 1x1 read in place (C = 32), O = 7
    h, _ = m.conv(e, s_e, sd, 0, 5, 1, None, 0, depthwise=True)  # depthwise 5x5: the generic tap loop
    k_fc, s_f = int(np.prod(sf)), m.tensors[f].scale
    fw, fs = m.weights("fc/w", (10, k_fc), 0, 1)
    fb = m.bias("fc/b", s_f, fs, 10)
    g = m.activation("fc/y", (1, 10), float(s_f * fs[0] * np.sqrt(k_fc) * 40 * 73 / 50), 6)  # ReLU inputs: ~40
    m.ops.append(tw.Op(FULLY_CONNECTED, [f, fw, fb], [g], FC_OPTIONS, options=((0, "u8", 0),)))
    # Multipliers 1/4 and 1/8 (weight scales of powers of two): SaturatingRoundingDoublingHighMul is exact and
    # RoundingDivideByPOT rounds a half in two of every 2^e accumulators, half of them negative.
    t = m.activation("t", (1, 16, 16, 1), 0.5, 0)
    u, _ = m.conv(t, 0.5, (1, 16, 16, 1), 3, 1, 1, 1.0, 0, scales=(0.5, 0.5, 0.25), limit=3)
    # Multipliers 0.25, 1 (a left shift) and 0.75 (no right shift): the general two-rounding path with its
    # per-channel fix mask.
    v, _ = m.conv(t, 0.5, (1, 16, 16, 1), 3, 1, 1, 1.0, 0, scales=(0.5, 2.0, 1.5), limit=1)
    if minus_128:
        for t_ in m.tensors:
            if t_.name in ("conv0/w", "dw1/w"):
                t_.data.flat[0] = -128
    model = tw.Model(m.tensors, m.ops, inputs=[x, t], outputs=[g, h, u, v, a, b, c, d, e, f])
    path.write_bytes(tw.write(model))
    return path


def _bit_exact(path, target, samples=SAMPLES):
    """Compile for `target`, run under qemu-aarch64-static next to LiteRT; returns the library's layers."""
    compiled = compile_model(path, target)
    reference = LiteRTSession(path)
    with QemuSession(compiled.path, target, elf=build_firmware(compiled.path, target)) as session:
        for inputs in random_inputs(reference.inputs, samples, seed=5):
            for got, want in zip(session.run(inputs), reference.run(inputs)):
                diff = np.abs(got.astype(int) - want.astype(int))
                assert diff.max() == 0, f"{path.name} on {target}: {np.count_nonzero(diff)}/{diff.size} differ"
    return compiled.desc["layers"]


@pytest.fixture(scope="module")
def layers_model(tmp_path_factory):
    return _layers_model(tmp_path_factory.mktemp("neon") / "neon_layers.tflite")


@pytest.mark.parametrize("target", ["rpi4", "rpi5"])
def test_small_layers_bit_exact_with_litert(layers_model, target, tmp_cache):
    layers = _bit_exact(layers_model, target)
    symbols = {layer["op"]: set() for layer in layers}
    for layer in layers:
        symbols[layer["op"]].add(layer["symbol"])
    assert symbols["conv2d"] == {CONV_SYMBOL[target]}
    assert symbols["fully_connected"] == {CONV_SYMBOL[target]}
    assert symbols["depthwise_conv2d"] == {"edgeai_dwconv_s8_neon"}
    assert symbols["add"] == {"edgeai_add_s8_neon"}
    assert not [layer for layer in layers if "generic_kernel" in layer]


@pytest.mark.parametrize("target", ["rpi4", "rpi5"])
@pytest.mark.parametrize("name", ["ad01_int8", "kws_ref_model"])
def test_mlperf_models_bit_exact_with_litert(name, target, tmp_cache):
    layers = _bit_exact(tflite(name), target, samples=2)
    hand_written = [layer for layer in layers if layer["op"] in ("conv2d", "depthwise_conv2d", "fully_connected")]
    assert hand_written and all(layer["symbol"].startswith("edgeai_") for layer in hand_written)


def test_onnx_numerics_match_the_host_library_on_rpi5(tmp_cache):
    """A QDQ ONNX file (ONNX numerics: one rounding, halves to even): its convolutions and depthwise layers, where no
    accumulator can reach a half, run on the one-rounding kernels and give the host library's integers."""
    from edgeai import models_root
    from edgeai.runtime.host import HostSession

    path = models_root() / "mlperf_tiny_onnx" / "kws_ref_model_float32_dequant_qdq.onnx"
    device = compile_model(path, "rpi5")
    symbols = {layer["symbol"] for layer in device.desc["layers"]}
    assert {"edgeai_conv_s8_dot", "edgeai_dwconv_s8_neon"} <= symbols, symbols
    host = HostSession(compile_model(path, "host").path)
    spec = host.inputs[0]
    rng = np.random.default_rng(3)
    with QemuSession(device.path, "rpi5", elf=build_firmware(device.path, "rpi5")) as session:
        for _ in range(2):
            x = rng.uniform(-1, 1, size=spec.shape).astype(spec.dtype)
            np.testing.assert_array_equal(session.run([x])[0], host.run([x])[0])


def test_a_weight_of_minus_128_declines_neon_with_its_reason_and_sdot_takes_it(tmp_path):
    """Two int8 products of -128 overflow an int16 lane: the NEON convolution and depthwise kernels decline such a
    layer (it runs on TVM's kernel, the reason on record); SDOT accumulates in 32 bits and takes it."""
    from compilers.lowering import lower_graph
    from edgeai.frontends import load
    from edgeai.passes import default_pipeline
    from edgeai.targets import load_target

    graph = default_pipeline(load(_layers_model(tmp_path / "minus_128.tflite", minus_128=True)))
    conv = next(n for n in graph.nodes if n.op == "conv2d")
    dw = next(n for n in graph.nodes if n.op == "depthwise_conv2d")
    assert graph.tensor(conv.inputs[1]).data.min() == graph.tensor(dw.inputs[1]).data.min() == -128
    rpi4, rpi5 = lower_graph(graph, load_target("rpi4"), "model"), lower_graph(graph, load_target("rpi5"), "model")
    for node in (conv, dw):
        assert "a weight of -128" in rpi4.generic[node.name]
        assert not next(c for c in rpi4.calls if c.node == node.name).symbol.startswith("edgeai_")
    assert next(c for c in rpi5.calls if c.node == conv.name).symbol == "edgeai_conv_s8_dot"
    assert conv.name not in rpi5.generic and "a weight of -128" in rpi5.generic[dw.name]
