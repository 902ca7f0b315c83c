"""The few-input-channel pointwise kernel (compilers/c/kernels/dsp/pointwise_s8.c, lowering
compilers/lowering/dsp_pointwise.py): 1x1 stride-1 convolutions with C = 8 or 16, bit-exact with LiteRT on
Cortex-M4 under QEMU and in its portable C fallback on the host, on VWW and on synthetic layers reaching every
entry (plain / signed rounding, with and without the clamp pass, O % 4 != 0 with its last pixel through the
stack, odd pixel counts, a pruned channel)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from edgeai import models_root  # noqa: E402

VWW = models_root() / "mlperf_tiny" / "vww_96_int8.tflite"
NONE, RELU, RELU6 = 0, 1, 3


def _layers(tmp_path) -> Path:
    """x [1, 7, 5, 8] (35 pixels) → 1x1 O = 13 ReLU6 ending below 127 (plain, clamp) and 1x1 O = 6 without
    activation (signed); x → 1x1 O = 16 ReLU with zero point -100 (plain, clamp: lo > -128; a pruned channel) → 1x1
    C = 16, O = 7 without activation (signed), → 1x1 C = 16, O = 12 ReLU6 over the whole int8 range (plain);
    effective scales ~2^-6..2^-10, the right shifts the kernel's one shift serves."""
    from fuzz import tflite_writer as tw
    from test_mve_kernels import VALID, _conv

    rng = np.random.default_rng(21)
    tensors = [tw.T("x", (1, 7, 5, 8), tw.INT8, scale=0.05, zero_point=-7)]
    ops = []
    ya = _conv(tensors, ops, 0, 13, 1, 1, VALID, rng.uniform(0.002, 0.01, 13), (0.04, -128), rng, RELU6)
    yb = _conv(tensors, ops, 0, 6, 1, 1, VALID, rng.uniform(0.002, 0.01, 6), (0.06, 5), rng, NONE)
    y16 = _conv(tensors, ops, 0, 16, 1, 1, VALID, rng.uniform(0.002, 0.01, 16), (0.05, -100), rng, RELU, pruned=(5,))
    yc = _conv(tensors, ops, y16, 7, 1, 1, VALID, rng.uniform(0.002, 0.01, 7), (0.1, 3), rng, NONE)
    yd = _conv(tensors, ops, y16, 12, 1, 1, VALID, rng.uniform(0.002, 0.01, 12), (6 / 255, -128), rng, RELU6)
    path = tmp_path / "pointwise_small.tflite"
    path.write_bytes(tw.write(tw.Model(tensors, ops, inputs=[0], outputs=[ya, yb, yc, yd])))
    return path


LAYER_SYMBOLS = ["edgeai_pointwise_s8_c16", "edgeai_pointwise_s8_c16_signed", "edgeai_pointwise_s8_c8_clamp",
                 "edgeai_pointwise_s8_c8_clamp", "edgeai_pointwise_s8_c8_signed"]


def _host_library(path, tmp_path) -> tuple[Path, list[str]]:
    """The library lowered for Cortex-M4, built with the host compiler: the kernels' portable C path."""
    from compilers.c.emit import emit_library
    from compilers.lowering import lower_graph
    from edgeai.frontends import load
    from edgeai.memory import plan_memory
    from edgeai.passes import default_pipeline
    from edgeai.targets import load_target

    graph = default_pipeline(load(path))
    out = tmp_path / "host"
    out.mkdir()
    lowered = lower_graph(graph, load_target("cortex-m4"), "model")
    emit_library(graph, plan_memory(graph), lowered, "model", out, target="host", source=str(graph.source))
    return out, [c.symbol for c in lowered.calls]


def _inputs(ref, n, seed):
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, size=ref.inputs[0].shape).astype(np.int8) for _ in range(n)]


def test_records_decline_shifts_one_immediate_cannot_serve():
    """A channel whose right shift is past the kernel's one shift (d = E - e < 1) or too far below it (the weights
    would not fit int16 once scaled) is not taken: None, and the general kernel gets the layer."""
    from compilers.lowering import dsp_pointwise

    w = np.ones((4, 8), np.int8)
    ok = dsp_pointwise.records(w, None, 0, 0, -128, 127, [1 << 30] * 4, [-8] * 4, False)
    assert ok is not None and ok.size == 4 * 7
    assert dsp_pointwise.records(w, None, 0, 0, -128, 127, [1 << 30] * 4, [-8, -8, -12, -8], False) is None
    assert dsp_pointwise.records(w, None, 0, 0, -128, 127, [1 << 30] * 4, [-8, -4, -8, -8], False) is None


@pytest.mark.usefixtures("tmp_cache")
def test_pointwise_layers_portable_fallback_bit_exact_on_host(tmp_path):
    from edgeai.runtime.host import HostSession
    from edgeai.runtime.reference import LiteRTSession

    path = _layers(tmp_path)
    out, symbols = _host_library(path, tmp_path)
    assert sorted(s for s in symbols if "pointwise" in s) == LAYER_SYMBOLS, symbols
    ref, host = LiteRTSession(path), HostSession(out)
    for x in _inputs(ref, 5, 22):
        for got, want in zip(host.run([x]), ref.run([x]), strict=True):
            np.testing.assert_array_equal(got, want)


def test_vww_portable_fallback_bit_exact_on_host(tmp_path):
    from edgeai.runtime.host import HostSession
    from edgeai.runtime.reference import LiteRTSession

    out, symbols = _host_library(VWW, tmp_path)
    assert symbols.count("edgeai_pointwise_s8_c8") == 1 and symbols.count("edgeai_pointwise_s8_c16") == 1, symbols
    ref, host = LiteRTSession(VWW), HostSession(out)
    for x in _inputs(ref, 2, 23):
        np.testing.assert_array_equal(host.run([x])[0], ref.run([x])[0])


@pytest.mark.usefixtures("tmp_cache")
@pytest.mark.parametrize("which", ["layers", "vww"])
@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="needs qemu-system-arm and arm-none-eabi-gcc")
def test_pointwise_bit_exact_on_cortex_m4(which, tmp_path):
    from edgeai.compile import compile_model
    from edgeai.runtime.device import QemuSession
    from edgeai.runtime.reference import LiteRTSession

    path = _layers(tmp_path) if which == "layers" else VWW
    compiled = compile_model(path, "cortex-m4", tmp_path / "m4")
    symbols = [layer["symbol"] for layer in compiled.desc["layers"]]
    if which == "layers":
        assert sorted(symbols) == LAYER_SYMBOLS, symbols
    else:
        assert symbols[2] == "edgeai_pointwise_s8_c8" and symbols[4] == "edgeai_pointwise_s8_c16", symbols
    ref = LiteRTSession(path)
    with QemuSession(compiled.path, "cortex-m4") as session:
        for x in _inputs(ref, 3 if which == "layers" else 2, 24):
            want = ref.run([x])
            if which == "layers":  # the requantization is exercised, not only saturation and the clamps
                assert all(len(np.unique(w)) >= 50 for w in want)
            for got, w in zip(session.run([x]), want, strict=True):
                np.testing.assert_array_equal(got, w)


def _kernel_outputs(rec: np.ndarray, acc_unscaled: np.ndarray, s: int, c: int, signed: bool) -> np.ndarray:
    """pointwise_s8.c's arithmetic on one channel's record for every accumulator (TFLite's, unscaled): SMMLA of
    the scaled accumulator, K less q when negative (signed), >> EDGEAI_PW_SHIFT, saturated."""
    from compilers.lowering import dsp_pointwise

    a = acc_unscaled.astype(np.int64) << s
    m, k = int(rec[1 + c // 2]), int(rec[2 + c // 2])
    kk = np.full(a.shape, k, np.int64)
    if signed:
        kk -= np.where(a < 0, int(rec[3 + c // 2]), 0)
    v = ((a * m) >> 32) + kk
    return np.clip(v >> dsp_pointwise.SHIFT, -128, 127)


@pytest.mark.parametrize("signed", [False, True])
def test_records_arithmetic_matches_tflite_for_every_accumulator(signed):
    """Every accumulator in [-2^14, 2^14] through one channel's record gives TFLite's output (zp + the two
    roundings, saturated, clamped): the signed records everywhere, the plain ones wherever the clamp's lo is at
    or above the zero point; and the plain ones without that clamp do differ (the sign-dependent rounding)."""
    from compilers.lowering import cortex_m, dsp_pointwise

    rng = np.random.default_rng(31)
    acc = np.arange(-(1 << 14), (1 << 14) + 1)
    w = np.zeros((1, 8), np.int8)
    w[0, 0] = 1  # the record's start is bias; the kernel's sum is acc - bias
    plain_differs = False
    for _ in range(12):
        m, e, zp = int(rng.integers(1 << 30, 1 << 31)), int(rng.integers(5, 12)), int(rng.integers(-128, 20))
        lo = zp if not signed else -128
        rec = dsp_pointwise.records(w, None, 0, zp, lo, 127, [m], [-e], signed)
        s = 1 + dsp_pointwise.SHIFT - e
        assert int(rec[0]) == 0 and (int(rec[1]) & 0xFFFF) == 1 << s
        want = np.array([min(max(zp + cortex_m._requantize(int(a), m, -e, "double"), lo), 127) for a in acc])
        got = np.maximum(_kernel_outputs(rec, acc, s, 8, signed), lo)
        np.testing.assert_array_equal(got, want)
        if not signed:  # the same record without the clamp: wrong at some negative tie
            free = np.array([min(max(zp + cortex_m._requantize(int(a), m, -e, "double"), -128), 127) for a in acc])
            plain_differs |= bool(np.any(_kernel_outputs(rec, acc, s, 8, False) != free))
    assert signed or plain_differs
