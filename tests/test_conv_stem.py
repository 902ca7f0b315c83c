"""The few-channel conv kernel (compilers/c/kernels/dsp/conv_stem_s8.c, lowered by compilers/lowering/dsp_stem.py):
bit-exact with LiteRT on Cortex-M4 under QEMU and, built with the host compiler, in its portable C path, on
synthetic layers that reach its paths (C = 1..4, odd widths, strides 1 and 2, VALID and SAME padding, relu and
relu6 clamps, output channels not a multiple of 4, windows of odd pair counts, a layer whose stream takes two
batches; C = 4 with whole-word rows stays on the general kernel) and on the first layers of the MLPerf Tiny models
(the whole models, compared output for output)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from edgeai import models_root
from fuzz import tflite_writer as tw

needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                                reason="needs qemu-system-arm and arm-none-eabi-gcc")
MODELS_DIR = models_root() / "mlperf_tiny"
RELU, RELU6 = 1, 3  # ActivationFunctionType


def test_pack_weights_follows_the_widened_window():
    """Each weight lands on the pair and half where widen_window puts its input value: a dot product of the
    widened stream against the widened window equals the plain one (3x3x3 with a tail, 10x4x1 without, 3x3x2)."""
    from compilers.lowering import dsp_stem

    rng = np.random.default_rng(0)
    for kh, kw, c in ((3, 3, 3), (10, 4, 1), (3, 3, 2), (3, 3, 1), (2, 3, 4)):
        w = rng.integers(-127, 128, size=(2, kh, kw, c), dtype=np.int8)
        x = rng.integers(-128, 128, size=(kh, kw, c), dtype=np.int8)
        words, steps = dsp_stem.pack_weights(w)
        b = words.view(np.uint32).astype(np.int64)
        byte = [((b >> s) & 0xFF).astype(np.int64) for s in (0, 8, 16, 24)]
        byte = [np.where(v >= 128, v - 256, v) for v in byte]
        # each word: (pair j lo, pair j+1 lo, pair j hi, pair j+1 hi); per step c0's word then c1's
        wp = np.stack([np.stack([byte[0], byte[2]], -1), np.stack([byte[1], byte[3]], -1)], 1)  # [word, 2, half]
        wp = wp.reshape(steps, 2, 2, 2).transpose(1, 0, 2, 3).reshape(2, 2 * steps, 2)  # [ch, pair, half]
        pair, half, _ = dsp_stem._pair_of(kh, kw, c)
        xp = np.zeros((2 * steps, 2), np.int64)
        xp[pair.reshape(-1), half.reshape(-1)] = x.reshape(-1)
        got = (wp * xp[None]).sum(axis=(1, 2))
        np.testing.assert_array_equal(got, w.reshape(2, -1).astype(np.int64) @ x.reshape(-1).astype(np.int64))


def _layers(tmp_path):
    """Four inputs, few-channel convs:
    x0 [1, 13, 11, 3] → 3x3/2 SAME, O = 6, relu6 (VWW's shape class: a tail byte per row, odd width, an odd pixel
    count, 42 = 2 x 21: the _clamp entry), 3x3/1 VALID, O = 10 (an odd pixel count, 99, no clamp) and 3x3/1 SAME,
    O = 66 (33 channel pairs: the stream in two batches);
    x1 [1, 9, 7, 1] → 3x3/1 SAME, O = 4, relu (C = 1: all bytes are tail, 5 pairs, an odd count);
    x2 [1, 8, 9, 2] → 3x3/2 VALID, O = 2 (C = 2: one word and two tail bytes per row);
    x3 [1, 7, 5, 4] → 3x3/1 SAME, O = 8 (C = 4: whole-word rows, declined: the general kernel takes it)."""
    from test_mve_kernels import SAME, VALID, _conv

    rng = np.random.default_rng(21)
    tensors = [tw.T("x0", (1, 13, 11, 3), tw.INT8, scale=0.02, zero_point=-5),
               tw.T("x1", (1, 9, 7, 1), tw.INT8, scale=0.03, zero_point=7),
               tw.T("x2", (1, 8, 9, 2), tw.INT8, scale=0.01, zero_point=-128),
               tw.T("x3", (1, 7, 5, 4), tw.INT8, scale=0.02, zero_point=3)]
    ops = []
    outs = [_conv(tensors, ops, 0, 6, 3, 2, SAME, rng.uniform(0.002, 0.01, 6), (0.03, -20), rng, RELU6),
            _conv(tensors, ops, 0, 10, 3, 1, VALID, rng.uniform(0.002, 0.01, 10), (0.3, 4), rng),
            _conv(tensors, ops, 0, 66, 3, 1, SAME, rng.uniform(0.002, 0.01, 66), (0.4, -1), rng),
            _conv(tensors, ops, 1, 4, 3, 1, SAME, rng.uniform(0.002, 0.01, 4), (0.2, -3), rng, RELU),
            _conv(tensors, ops, 2, 2, 3, 2, VALID, rng.uniform(0.002, 0.01, 2), (0.1, 0), rng),
            _conv(tensors, ops, 3, 8, 3, 1, SAME, rng.uniform(0.002, 0.01, 8), (0.4, -1), rng)]
    path = tmp_path / "stem_layers.tflite"
    path.write_bytes(tw.write(tw.Model(tensors, ops, inputs=[0, 1, 2, 3], outputs=outs)))
    return path


# the C = 4 layer (whole-word rows) goes to the general int8-weight kernel: whichever of its variants it runs
GENERAL = "edgeai_conv_s8_w8_"
SYMBOLS = [GENERAL] + ["edgeai_conv_stem_s8"] * 3 + ["edgeai_conv_stem_s8_clamp"] * 2


def _named(symbols):
    return [GENERAL if s.startswith(GENERAL) else s for s in sorted(symbols)]


def _host_library(path, tmp_path):
    """The Cortex-M4 lowering built with the host compiler: the portable C path of conv_stem_s8.c."""
    from compilers.c.emit import emit_library
    from compilers.lowering import lower_graph
    from edgeai.frontends import load
    from edgeai.memory import plan_memory
    from edgeai.passes import default_pipeline
    from edgeai.runtime.host import HostSession
    from edgeai.targets import load_target

    graph = default_pipeline(load(path))
    lowered = lower_graph(graph, load_target("cortex-m4"), "model")
    out = tmp_path / "host"
    out.mkdir()
    emit_library(graph, plan_memory(graph), lowered, "model", out, target="host", source=str(graph.source))
    return HostSession(out), [c.symbol for c in lowered.calls]


@pytest.mark.usefixtures("tmp_cache")
def test_stem_kernel_portable_fallback_bit_exact_on_host(tmp_path):
    from edgeai.runtime.reference import LiteRTSession

    path = _layers(tmp_path)
    host, symbols = _host_library(path, tmp_path)
    assert _named(symbols) == SYMBOLS, symbols
    ref = LiteRTSession(path)
    rng = np.random.default_rng(22)
    for _ in range(3):
        xs = [rng.integers(-128, 128, size=s.shape).astype(np.int8) for s in ref.inputs]
        for got, want in zip(host.run(xs), ref.run(xs), strict=True):
            assert np.mean(np.abs(want.astype(np.int32)) >= 127) < 0.5  # mostly not saturated
            np.testing.assert_array_equal(got, want)


@pytest.mark.slow
@pytest.mark.qemu
@needs_qemu
@pytest.mark.usefixtures("tmp_cache")
def test_stem_kernel_bit_exact_on_cortex_m4(tmp_path):
    from edgeai.compile import compile_model
    from edgeai.runtime.device import QemuSession
    from edgeai.runtime.reference import LiteRTSession

    path = _layers(tmp_path)
    compiled = compile_model(path, "cortex-m4", tmp_path / "m4")
    symbols = [layer["symbol"] for layer in compiled.desc["layers"]]
    assert _named(symbols) == SYMBOLS, symbols
    ref = LiteRTSession(path)
    rng = np.random.default_rng(23)
    with QemuSession(compiled.path, "cortex-m4") as session:
        for _ in range(3):
            xs = [rng.integers(-128, 128, size=s.shape).astype(np.int8) for s in ref.inputs]
            for got, want in zip(session.run(xs), ref.run(xs), strict=True):
                np.testing.assert_array_equal(got, want)


@pytest.mark.slow
@pytest.mark.qemu
@needs_qemu
@pytest.mark.parametrize("model", ["vww_96_int8", "pretrainedResnet_quant"])
def test_stem_kernel_takes_the_first_layer_bit_exact(model, tmp_path):
    """VWW's 96x96x3 → 48x48x8 3x3/2 and IC's 32x32x3 → 32x32x16 3x3/1 first layers take the kernel; the whole
    model stays bit-exact with LiteRT on Cortex-M4 (QEMU) and in the portable path on the host."""
    from edgeai.compile import compile_model
    from edgeai.runtime.device import QemuSession
    from edgeai.runtime.reference import LiteRTSession

    path = MODELS_DIR / f"{model}.tflite"
    compiled = compile_model(path, "cortex-m4", tmp_path / "lib")
    assert compiled.desc["layers"][0]["symbol"] == "edgeai_conv_stem_s8"
    host, _ = _host_library(path, tmp_path)
    ref = LiteRTSession(path)
    rng = np.random.default_rng(24)
    with QemuSession(compiled.path, "cortex-m4") as session:
        for _ in range(2):
            x = rng.integers(-128, 128, size=ref.inputs[0].shape).astype(np.int8)
            want = ref.run([x])[0]
            np.testing.assert_array_equal(session.run([x])[0], want)
            np.testing.assert_array_equal(host.run([x])[0], want)
