"""The Helium (MVE) conv / fully-connected kernels (compilers/c/kernels/mve/conv_s8_mve.c) on Cortex-M55 under QEMU
(mps3-an547): bit-exact with LiteRT's reference kernels on small layers that reach every path of the kernel (1x1,
3x3 padded and strided, a window gathered into one row, channel counts not multiples of 16 or 4, per-channel
scales with left shifts, a pruned channel, an odd pixel count) and on two MLPerf Tiny models; ONNX numerics
against the host library; the same lowering built with the host compiler (the portable C path). Performance lives
in benchmarks/cortex_m4 (--target cortex-m55), not here."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from conftest import tflite
from edgeai.compile import compile_model
from edgeai.runtime.reference import LiteRTSession
from fuzz import tflite_writer as tw

CONV_2D, FULLY_CONNECTED = 3, 9  # BuiltinOperator
CONV_OPTIONS, FC_OPTIONS = 1, 8  # BuiltinOptions
SAME, VALID, RELU = 0, 1, 1

needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                                reason="needs qemu-system-arm and arm-none-eabi-gcc")


def _conv(tensors, ops, x, o, k, stride, padding, w_scales, out_q, rng, activation=0, pruned=(), w_max=127,
          bias_max=3000):
    """Append a per-channel int8 CONV_2D after tensor index x; returns the output's index."""
    _, h, w, c = tensors[x].shape
    in_scale = tensors[x].scale
    weights = rng.integers(-w_max, w_max + 1, size=(o, k, k, c), dtype=np.int8)
    bias = rng.integers(-bias_max, bias_max, size=o).astype(np.int32)
    for ch in pruned:  # all-zero weights, a bias far out of range: a constant output
        weights[ch] = 0
        bias[ch] = 1 << 30
    oh, ow = ((h + stride - 1) // stride, (w + stride - 1) // stride) if padding == SAME else \
        ((h - k) // stride + 1, (w - k) // stride + 1)
    n = len(tensors)
    tensors += [tw.T(f"w{n}", weights.shape, tw.INT8, weights, tuple(w_scales), 0),
                tw.T(f"b{n}", (o,), tw.INT32, bias, tuple(in_scale * np.asarray(w_scales)), 0),
                tw.T(f"y{n}", (1, oh, ow, o), tw.INT8, scale=out_q[0], zero_point=out_q[1])]
    ops.append(tw.Op(CONV_2D, [x, n, n + 1], [n + 2], CONV_OPTIONS,
                     options=((0, "i8", padding), (1, "i32", stride), (2, "i32", stride), (3, "i8", activation),
                              (4, "i32", 1), (5, "i32", 1))))
    return n + 2


def _small_layers(tmp_path):
    """x [1, 10, 9, 3] → 3x3/2 SAME (C = 3: the gathered row; 5x5 = 25 pixels, odd; a pruned group) → 1x1 (C = 20, O = 19, left
    shifts) → 3x3/1 SAME (C = 19: rows of 57 bytes, a pruned channel) → 3x3/2 VALID → 1x1 (O = 7) → fully connected
    (K = 28)."""
    rng = np.random.default_rng(7)
    tensors = [tw.T("x", (1, 10, 9, 3), tw.INT8, scale=0.02, zero_point=-5)]
    ops = []
    y = _conv(tensors, ops, 0, 20, 3, 2, SAME, rng.uniform(0.002, 0.01, 20), (0.05, -20), rng, RELU,
              pruned=(4, 5, 6, 7))  # a whole group of 4 pruned: its sums are skipped
    # effective scales in_scale * w_scale / out_scale mostly < 0.5 (right shifts), one in [0.5, 1) (no shift),
    # three > 1 (left shifts)
    w_scales = np.r_[rng.uniform(0.0005, 0.2, 15), 4.0, 8.0, 20.0, 30.0]
    y = _conv(tensors, ops, y, 19, 1, 1, SAME, w_scales, (0.3, 3), rng)
    y = _conv(tensors, ops, y, 17, 3, 1, SAME, rng.uniform(0.0005, 0.003, 17), (0.4, 10), rng, RELU, pruned=(5,))
    y = _conv(tensors, ops, y, 16, 3, 2, VALID, rng.uniform(0.001, 0.004, 16), (0.5, -7), rng)
    # O = 7 (a part group); effective scales in [1/16, 1/8) (a right shift of 3) on sums small enough not to
    # saturate: an eighth of the outputs are ties, the negative ones rounded away from zero
    y = _conv(tensors, ops, y, 7, 1, 1, SAME, rng.uniform(2.5, 4.99, 7), (20.0, 4), rng, w_max=3, bias_max=200)
    fc_w = rng.integers(-127, 128, size=(6, 28), dtype=np.int8)
    n = len(tensors)
    tensors += [tw.T("fc_w", (6, 28), tw.INT8, fc_w, 0.01, 0),
                tw.T("fc_b", (6,), tw.INT32, rng.integers(-500, 500, size=6).astype(np.int32),
                     tensors[y].scale * 0.01, 0),
                tw.T("out", (1, 6), tw.INT8, scale=0.7, zero_point=2)]
    ops.append(tw.Op(FULLY_CONNECTED, [y, n, n + 1], [n + 2], FC_OPTIONS, options=((0, "i8", 0),)))
    path = tmp_path / "mve_layers.tflite"
    # the 1x1's output is a model output too: the fully connected layer's saturation would hide its ties
    path.write_bytes(tw.write(tw.Model(tensors, ops, inputs=[0], outputs=[y, n + 2])))
    return path


def _mve_symbols(compiled) -> list[str]:
    return [layer["symbol"] for layer in compiled.desc["layers"]]


def _inputs(spec, count, seed):
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, size=spec.shape).astype(spec.dtype) for _ in range(count)]


@pytest.fixture(scope="module")
def small_layers(tmp_path_factory):
    return _small_layers(tmp_path_factory.mktemp("mve"))


@pytest.mark.toolchain
def test_small_layers_take_the_mve_kernels_on_m55_only(small_layers, tmp_path, tmp_cache):
    m55 = _mve_symbols(compile_model(small_layers, "cortex-m55", tmp_path / "m55"))
    assert m55 == ["edgeai_conv_s8_mve"] * 5 + ["edgeai_conv_s8_mve_one_rounding"], m55
    m4 = _mve_symbols(compile_model(small_layers, "cortex-m4", tmp_path / "m4"))  # no "mve" in its isa
    assert any(s.startswith("edgeai_conv_s8") for s in m4) and not any(s.startswith("edgeai_conv_s8_mve") for s in m4), m4


@pytest.mark.toolchain
def test_portable_path_bit_exact_on_host(small_layers, tmp_path):
    """The cortex-m55 lowering built with the host compiler (no __ARM_FEATURE_MVE): the portable C path."""
    from compilers.c.emit import emit_library
    from compilers.lowering import lower_graph
    from edgeai.frontends import load
    from edgeai.memory import plan_memory
    from edgeai.passes import default_pipeline
    from edgeai.runtime.host import HostSession
    from edgeai.targets import load_target

    graph = default_pipeline(load(small_layers))
    lowered = lower_graph(graph, load_target("cortex-m55"), "model")
    assert sum(c.symbol.startswith("edgeai_conv_s8_mve") for c in lowered.calls) == 6
    out = tmp_path / "lib"
    out.mkdir()
    emit_library(graph, plan_memory(graph), lowered, "model", out, target="host", source=str(graph.source))
    ref, host = LiteRTSession(small_layers), HostSession(out)
    for x in _inputs(ref.inputs[0], 20, 8):
        for got, want in zip(host.run([x]), ref.run([x]), strict=True):
            np.testing.assert_array_equal(got, want)


@pytest.mark.slow
@pytest.mark.qemu
@needs_qemu
@pytest.mark.parametrize("model", [pytest.param(None, id="small_layers"), "kws_ref_model", "ad01_int8"])
@pytest.mark.usefixtures("tmp_cache")
def test_bit_exact_with_litert_on_m55_under_qemu(model, small_layers, tmp_path):
    from edgeai.runtime.device import QemuSession

    path = small_layers if model is None else tflite(model)
    compiled = compile_model(path, "cortex-m55", tmp_path / "lib")
    assert any(s.startswith("edgeai_conv_s8_mve") for s in _mve_symbols(compiled))
    ref = LiteRTSession(path)
    with QemuSession(compiled.path, "cortex-m55") as session:
        for x in _inputs(ref.inputs[0], 8 if model is None else 2, 9):
            for got, want in zip(session.run([x]), ref.run([x]), strict=True):
                np.testing.assert_array_equal(got, want)


@pytest.mark.slow
@pytest.mark.qemu
@needs_qemu
def test_onnx_numerics_match_the_host_library_on_m55(tmp_path, tmp_cache):
    """A QDQ ONNX model (one rounding, halves to even): the MVE kernel's one-rounding entry gives the host
    library's integers (TVM kernels rounding halves to even in 64 bits)."""
    from edgeai import models_root
    from edgeai.runtime.device import QemuSession
    from edgeai.runtime.host import HostSession
    from test_cortex_m_models import _input_range

    path = models_root() / "mlperf_tiny_onnx" / "kws_ref_model_float32_dequant_qdq.onnx"
    device = compile_model(path, "cortex-m55", tmp_path / "m55")
    assert "edgeai_conv_s8_mve_one_rounding" in _mve_symbols(device)
    host = HostSession(compile_model(path, "host", tmp_path / "host").path)
    rng = np.random.default_rng(3)
    lo, hi = _input_range(path)
    with QemuSession(device.path, "cortex-m55") as session:
        for _ in range(2):
            x = rng.uniform(lo, hi, size=host.inputs[0].shape).astype(np.float32)
            np.testing.assert_array_equal(session.run([x])[0], host.run([x])[0])
