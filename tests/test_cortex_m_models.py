"""The four MLPerf Tiny int8 models on Cortex-M4 under QEMU: the DSP kernels (compilers/c/kernels/dsp/nn_s8.c)
stay bit-exact with LiteRT. Performance lives in benchmarks/cortex_m4, not here."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgeai import models_root  # noqa: E402

MODELS_DIR = models_root() / "mlperf_tiny"
MODELS = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.qemu,
    pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                       reason="needs qemu-system-arm and arm-none-eabi-gcc"),
]


@pytest.mark.parametrize("model", MODELS)
def test_mlperf_tiny_bit_exact_on_cortex_m4(model, tmp_path):
    from edgeai.compile import compile_model
    from edgeai.runtime.device import QemuSession
    from edgeai.runtime.reference import LiteRTSession

    path = MODELS_DIR / f"{model}.tflite"
    compiled = compile_model(path, "cortex-m4", tmp_path / "lib")
    assert any(layer["symbol"].startswith("edgeai_conv_s8") for layer in compiled.desc["layers"])  # the DSP path
    ref = LiteRTSession(path)
    spec = ref.inputs[0]
    rng = np.random.default_rng(1)
    with QemuSession(compiled.path, "cortex-m4") as session:
        for _ in range(2):
            x = rng.integers(-128, 128, size=spec.shape).astype(spec.dtype)
            np.testing.assert_array_equal(session.run([x])[0], ref.run([x])[0])
        assert session.stats.instructions > 0


@pytest.mark.parametrize("model, symbol, weights", [("kws_ref_model", "edgeai_dwconv_s8_3x3s1", "int16"),
                                                    ("pretrainedResnet_quant", "edgeai_conv_s8_w8_2x2", "int8")])
def test_dsp_kernels_portable_fallback_bit_exact_on_host(model, symbol, weights, tmp_path):
    """The same library lowered for Cortex-M4, built with the host compiler (no __ARM_FEATURE_DSP):
    the portable C path of nn_s8.c computes the same integers, with int16 and with int8 weight storage."""
    from compilers.lowering import lower_graph
    from edgeai.frontends import load
    from edgeai.targets import load_target

    graph = load(MODELS_DIR / f"{model}.tflite")
    lowered = lower_graph(graph, load_target("cortex-m4"), "model", weights)
    assert any(c.symbol == symbol for c in lowered.calls)
    from compilers.c.emit import emit_library
    from edgeai.memory import plan_memory
    from edgeai.runtime.host import HostSession

    out = tmp_path / "lib"
    out.mkdir()
    emit_library(graph, plan_memory(graph), lowered, "model", out, target="host", source=str(graph.source))
    from edgeai.runtime.reference import LiteRTSession

    ref = LiteRTSession(MODELS_DIR / f"{model}.tflite")
    x = np.random.default_rng(2).integers(-128, 128, size=ref.inputs[0].shape).astype(np.int8)
    np.testing.assert_array_equal(HostSession(out).run([x])[0], ref.run([x])[0])


ONNX_DIR = MODELS_DIR.parent / "mlperf_tiny_onnx"
QDQ_MODELS = ["kws_ref_model_float32_dequant_qdq", "pretrainedResnet_qdq", "vww_96_float_qdq"]


@pytest.mark.parametrize("model", QDQ_MODELS)
def test_onnx_numerics_dsp_kernels_match_the_host_library(model, tmp_path):
    """QDQ ONNX files (ONNX numerics: one rounding, halves to even) on Cortex-M4 under QEMU: the DSP kernels,
    which round halves up where no accumulator can reach a half, give the host library's integers (TVM kernels
    rounding halves to even in 64 bits), output and logits."""
    from edgeai.compile import compile_model
    from edgeai.runtime.device import QemuSession
    from edgeai.runtime.host import HostSession

    path = ONNX_DIR / f"{model}.onnx"
    device = compile_model(path, "cortex-m4", tmp_path / "m4")
    symbols = {layer["symbol"] for layer in device.desc["layers"]}
    assert {s for s in symbols if s.startswith("edgeai_conv_s8_w8_") and s.endswith("_one_rounding")}, symbols
    assert any(s.startswith("edgeai_dwconv_s8_w8") and s.endswith("_one_rounding")
               or s in ("edgeai_add_s8_one_rounding", "edgeai_add_s8_sum16") for s in symbols), symbols
    host = HostSession(compile_model(path, "host", tmp_path / "host").path)
    spec = host.inputs[0]
    rng = np.random.default_rng(3)
    lo, hi = _input_range(path)
    with QemuSession(device.path, "cortex-m4") as session:
        for _ in range(2):
            x = rng.uniform(lo, hi, size=spec.shape).astype(spec.dtype)
            np.testing.assert_array_equal(session.run([x])[0], host.run([x])[0])


def _input_range(path) -> tuple[float, float]:
    """The real range the float input's quantize maps onto all 256 int8 values."""
    from edgeai.frontends import load
    from edgeai.passes import default_pipeline

    graph = default_pipeline(load(path))
    q = graph.tensor(next(n for n in graph.nodes if n.op == "quantize").outputs[0]).quant
    return q.scale[0] * (-128 - q.zero_point[0]), q.scale[0] * (127 - q.zero_point[0])


@pytest.mark.parametrize("model", ["kws_ref_model_float32_dequant_qdq", "pretrainedResnet_qdq"])
def test_onnx_numerics_portable_fallback_matches_the_host_library(model, tmp_path):
    """The Cortex-M4 lowering built with the host compiler (portable C path of nn_s8.c, ONNX numerics) against
    the host lowering (TVM kernels), on many inputs."""
    from compilers.c.emit import emit_library
    from compilers.lowering import lower_graph
    from edgeai.compile import compile_model
    from edgeai.frontends import load
    from edgeai.memory import plan_memory
    from edgeai.passes import default_pipeline
    from edgeai.runtime.host import HostSession
    from edgeai.targets import load_target

    graph = default_pipeline(load(ONNX_DIR / f"{model}.onnx"))
    lowered = lower_graph(graph, load_target("cortex-m4"), "model")
    assert any(c.symbol.startswith("edgeai_dwconv_s8_w8") and c.symbol.endswith("_one_rounding") or
               c.symbol in ("edgeai_add_s8_one_rounding", "edgeai_add_s8_sum16") for c in lowered.calls)
    out = tmp_path / "lib"
    out.mkdir()
    emit_library(graph, plan_memory(graph), lowered, "model", out, target="host", source=str(graph.source))
    portable, host = HostSession(out), HostSession(compile_model(graph, "host", tmp_path / "host").path)
    rng = np.random.default_rng(4)
    lo, hi = _input_range(ONNX_DIR / f"{model}.onnx")
    for _ in range(20):
        x = rng.uniform(lo, hi, size=host.inputs[0].shape).astype(np.float32)
        np.testing.assert_array_equal(portable.run([x])[0], host.run([x])[0])


def _dwconv(tensors, ops, x, stride, padding, out_q, rng):
    """Append a per-channel int8 3x3 DEPTHWISE_CONV_2D (depth multiplier 1) after tensor x; returns the output's
    index."""
    from fuzz import tflite_writer as tw

    _, h, w, c = tensors[x].shape
    w_scales = rng.uniform(0.002, 0.01, c)
    weights = rng.integers(-127, 128, size=(1, 3, 3, c), dtype=np.int8)
    oh, ow = ((h + stride - 1) // stride, (w + stride - 1) // stride) if padding == 0 else \
        ((h - 3) // stride + 1, (w - 3) // stride + 1)
    n = len(tensors)
    tensors += [tw.T(f"w{n}", weights.shape, tw.INT8, weights, tuple(w_scales), 0, quantized_dimension=3),
                tw.T(f"b{n}", (c,), tw.INT32, rng.integers(-3000, 3000, size=c).astype(np.int32),
                     tuple(tensors[x].scale * w_scales), 0),
                tw.T(f"y{n}", (1, oh, ow, c), tw.INT8, scale=out_q[0], zero_point=out_q[1])]
    ops.append(tw.Op(4, [x, n, n + 1], [n + 2], 2,  # DEPTHWISE_CONV_2D, DepthwiseConv2DOptions
                     options=((0, "i8", padding), (1, "i32", stride), (2, "i32", stride), (3, "i32", 1),
                              (4, "i8", 0), (5, "i32", 1), (6, "i32", 1))))
    return n + 2


def _int8_weight_layers(tmp_path):
    """Layers that reach every path of the int8-weight DSP kernels: x [1, 6, 5, 96] → 3x3/1 SAME conv, O = 8 (a
    window of 864 bytes: past the two-pixel buffer, the one-pixel loop) → 3x3/1 depthwise (the two-row kernel per
    group of 4 channels, border rows one pixel at a time) → 3x3/2 depthwise (one pixel at a time) → 3x3/1 SAME conv,
    O = 6 (9 pixels: an odd last pixel; channel pairs past O; border windows gathered) → 3x3 VALID conv, O = 5,
    C = 6 (one output pixel, rows of 18 bytes: the one-pixel tile over a gathered window); from that O = 6 layer
    also a 3x3 SAME conv, O = 4 (an odd number of 4-byte chunks per window, 15: the asm tile's odd-chunk loop);
    from x also a 3x3/1 depthwise (C = 96: a batch of 64 widened channels, then one of 32) → 1x1 conv, O = 4 (24
    chunks: the asm tile's 4-chunk loop); a fully connected layer over the 3x3 SAME O = 4 conv (K = 36: 9 chunks,
    O = 8: the asm 1x4 tile's odd-chunk loop)."""
    from fuzz import tflite_writer as tw
    from test_mve_kernels import FC_OPTIONS, FULLY_CONNECTED, SAME, VALID, _conv

    rng = np.random.default_rng(11)
    tensors = [tw.T("x", (1, 6, 5, 96), tw.INT8, scale=0.02, zero_point=-5)]
    ops = []
    y = _conv(tensors, ops, 0, 8, 3, 1, SAME, rng.uniform(0.002, 0.01, 8), (0.3, -3), rng)
    y = _dwconv(tensors, ops, y, 1, SAME, (0.2, 4), rng)
    y = _dwconv(tensors, ops, y, 2, SAME, (0.1, -6), rng)
    y4 = _conv(tensors, ops, y, 6, 3, 1, SAME, rng.uniform(0.002, 0.01, 6), (0.5, 2), rng)
    y5 = _conv(tensors, ops, y4, 5, 3, 1, VALID, rng.uniform(0.002, 0.01, 5), (1.0, 1), rng)
    y6 = _conv(tensors, ops, y4, 4, 3, 1, SAME, rng.uniform(0.002, 0.01, 4), (0.8, -1), rng)
    y7 = _dwconv(tensors, ops, 0, 1, SAME, (0.15, 3), rng)
    y8 = _conv(tensors, ops, y7, 4, 1, 1, VALID, rng.uniform(0.002, 0.01, 4), (0.4, 0), rng)
    n = len(tensors)  # fully connected over the 36 values of y6: 9 chunks, the asm 1x4 tile's odd-chunk loop
    tensors += [tw.T("fc_w", (8, 36), tw.INT8, rng.integers(-127, 128, size=(8, 36), dtype=np.int8), 0.01, 0),
                tw.T("fc_b", (8,), tw.INT32, rng.integers(-500, 500, size=8).astype(np.int32),
                     tensors[y6].scale * 0.01, 0),
                tw.T("fc_y", (1, 8), tw.INT8, scale=3.0, zero_point=-2)]
    ops.append(tw.Op(FULLY_CONNECTED, [y6, n, n + 1], [n + 2], FC_OPTIONS, options=((0, "i8", 0),)))
    path = tmp_path / "int8_weight_layers.tflite"
    path.write_bytes(tw.write(tw.Model(tensors, ops, inputs=[0], outputs=[y4, y5, y6, y8, n + 2])))
    return path


@pytest.mark.usefixtures("tmp_cache")
def test_int8_weight_kernels_bit_exact_on_their_edge_paths(tmp_path):
    """The int8-weight kernels (_w8) on layers built to reach their one-pixel, long-window, odd-pixel, channel-tail
    and per-group depthwise paths: bit-exact with LiteRT on Cortex-M4 under QEMU and in the portable C path on the
    host."""
    from compilers.c.emit import emit_library
    from compilers.lowering import lower_graph
    from edgeai.compile import compile_model
    from edgeai.frontends import load
    from edgeai.memory import plan_memory
    from edgeai.passes import default_pipeline
    from edgeai.runtime.device import QemuSession
    from edgeai.runtime.host import HostSession
    from edgeai.runtime.reference import LiteRTSession
    from edgeai.targets import load_target

    path = _int8_weight_layers(tmp_path)
    compiled = compile_model(path, "cortex-m4", tmp_path / "m4")
    symbols = [layer["symbol"] for layer in compiled.desc["layers"]]
    # the lowering names the exact variant each layer runs (its own symbol: a firmware links only those); the
    # two-pixel layers take the widened-weight tile where it pays (cortex_m.widened_pays)
    assert sorted(s.removesuffix("_widened") for s in symbols) == \
        ["edgeai_conv_s8_w8_1x4", "edgeai_conv_s8_w8_1x4_one_rounding"] + ["edgeai_conv_s8_w8_2x2"] * 3 + \
        ["edgeai_conv_s8_w8_2x2_tiled"] + ["edgeai_dwconv_s8_w8_3x3"] + ["edgeai_dwconv_s8_w8_3x3s1"] * 2, symbols
    graph = default_pipeline(load(path))
    out = tmp_path / "host"
    out.mkdir()
    emit_library(graph, plan_memory(graph), lower_graph(graph, load_target("cortex-m4"), "model"), "model", out,
                 target="host", source=str(graph.source))
    ref, host = LiteRTSession(path), HostSession(out)
    rng = np.random.default_rng(12)
    xs = [rng.integers(-128, 128, size=ref.inputs[0].shape).astype(np.int8) for _ in range(3)]
    with QemuSession(compiled.path, "cortex-m4") as session:
        for x in xs:
            want = ref.run([x])
            assert all(np.mean(np.abs(w.astype(np.int32)) >= 127) < 0.3 for w in want)  # mostly not saturated
            for got_m4, got_host, w in zip(session.run([x]), host.run([x]), want, strict=True):
                np.testing.assert_array_equal(got_m4, w)
                np.testing.assert_array_equal(got_host, w)


def _widened_weight_layers(tmp_path):
    """Layers for the int8-weight 2x2 tile over weights widened per block of channel pairs
    (edgeai_conv_s8_w8_2x2_widened): x [1, 7, 7, 16] → 3x3/1 SAME conv, O = 26 (K = 144: 13 channel pairs in two
    blocks of 7 and 6; 49 pixels: an odd last pixel; border windows gathered; channels 4 and 5 pruned: the skip
    path, 36 chunks: the 4-chunk loop) → 1x1 conv, O = 32 (C = 26: rows not a multiple of 4, 7 chunks: the
    odd-chunk loop) → 1x1 conv, O = 6 (C = 32: the 8-chunk loop)."""
    from fuzz import tflite_writer as tw
    from test_mve_kernels import SAME, VALID, _conv

    rng = np.random.default_rng(21)
    tensors = [tw.T("x", (1, 7, 7, 16), tw.INT8, scale=0.02, zero_point=-3)]
    ops = []
    y1 = _conv(tensors, ops, 0, 26, 3, 1, SAME, rng.uniform(0.002, 0.01, 26), (0.4, 3), rng, pruned=(4, 5))
    y2 = _conv(tensors, ops, y1, 32, 1, 1, VALID, rng.uniform(0.002, 0.01, 32), (0.8, -2), rng)
    y3 = _conv(tensors, ops, y2, 6, 1, 1, VALID, rng.uniform(0.002, 0.01, 6), (1.5, 1), rng)
    path = tmp_path / "widened_weight_layers.tflite"
    path.write_bytes(tw.write(tw.Model(tensors, ops, inputs=[0], outputs=[y1, y2, y3])))
    return path


@pytest.mark.usefixtures("tmp_cache")
def test_widened_weight_tile_bit_exact_on_its_edge_paths(tmp_path):
    """The two-pixel tile over run-time widened weights on several blocks, a partial last block, an odd last pixel,
    gathered windows, pruned channel pairs and its 8-, 4- and odd-chunk loops: bit-exact with LiteRT on Cortex-M4
    under QEMU and in the portable C path on the host."""
    from compilers.c.emit import emit_library
    from compilers.lowering import lower_graph
    from edgeai.compile import compile_model
    from edgeai.frontends import load
    from edgeai.memory import plan_memory
    from edgeai.passes import default_pipeline
    from edgeai.runtime.device import QemuSession
    from edgeai.runtime.host import HostSession
    from edgeai.runtime.reference import LiteRTSession
    from edgeai.targets import load_target

    path = _widened_weight_layers(tmp_path)
    compiled = compile_model(path, "cortex-m4", tmp_path / "m4")
    symbols = [layer["symbol"] for layer in compiled.desc["layers"]]
    assert symbols == ["edgeai_conv_s8_w8_2x2_widened"] * 3, symbols
    graph = default_pipeline(load(path))
    out = tmp_path / "host"
    out.mkdir()
    emit_library(graph, plan_memory(graph), lower_graph(graph, load_target("cortex-m4"), "model"), "model", out,
                 target="host", source=str(graph.source))
    ref, host = LiteRTSession(path), HostSession(out)
    rng = np.random.default_rng(22)
    with QemuSession(compiled.path, "cortex-m4") as session:
        for _ in range(3):
            x = rng.integers(-128, 128, size=ref.inputs[0].shape).astype(np.int8)
            want = ref.run([x])
            assert all(np.mean(np.abs(w.astype(np.int32)) >= 127) < 0.3 for w in want)  # mostly not saturated
            for got_m4, got_host, w in zip(session.run([x]), host.run([x]), want, strict=True):
                np.testing.assert_array_equal(got_m4, w)
                np.testing.assert_array_equal(got_host, w)
