"""The tiled conv kernels (nn_s8.c: conv_s8_tiled and conv_w8_2x2_tiled, the edgeai_conv_s8[_w8][_2x2]_tiled entry
points): layers whose window is longer than the Cortex-M kernels' patch (kh*kw*C > MAX_PATCH 1152 bytes) take them
instead of TVM's generic kernel, bit-exact with LiteRT on Cortex-M4 (and M55) under QEMU and, built with the host
compiler, in their portable C path, with int8 and int16 weights. The layers reach their paths: border pixels gathered
tile by tile in whole rows (3x3 over 160 channels, SAME; 5x5 over 50, rows not a multiple of 4) and in pieces of one
row (3x3 over 200 with int8 weights: rows of 600 bytes; fully connected over 1300 and 1283 features: rows longer than
the patch, one not a multiple of 4), interior pixels read in place, strides 1 and 2, an odd pixel count, more output
channels than one block of sums (300 > 256) and a part group (O = 10, 21), a pruned group, relu; and dilated convs,
which take the same kernels whatever their window (rows and columns apart, SAME and VALID, C = 3 and 16)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from compilers.lowering.cortex_m import MAX_PATCH, TILE_CHANNELS
from fuzz import tflite_writer as tw

needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                                reason="needs qemu-system-arm and arm-none-eabi-gcc")
CONV_2D, CONV_OPTIONS, FULLY_CONNECTED, FC_OPTIONS, RELU = 3, 1, 9, 8, 1


def _dilated(tensors, ops, x, o, k, dilation, padding, rng, out_q):
    """Append a per-channel int8 CONV_2D of a k x k window dilated by (dh, dw), stride 1; returns its output."""
    from test_mve_kernels import SAME

    _, h, w, c = tensors[x].shape
    dh, dw = dilation
    oh, ow = (h, w) if padding == SAME else (h - dh * (k - 1), w - dw * (k - 1))
    w_scales = rng.uniform(0.002, 0.006, o)
    n = len(tensors)
    tensors += [tw.T(f"w{n}", (o, k, k, c), tw.INT8, rng.integers(-127, 128, (o, k, k, c), dtype=np.int8),
                     tuple(w_scales), 0),
                tw.T(f"b{n}", (o,), tw.INT32, rng.integers(-3000, 3000, o).astype(np.int32),
                     tuple(tensors[x].scale * w_scales), 0),
                tw.T(f"y{n}", (1, oh, ow, o), tw.INT8, scale=out_q[0], zero_point=out_q[1])]
    ops.append(tw.Op(CONV_2D, [x, n, n + 1], [n + 2], CONV_OPTIONS,
                     options=((0, "i8", padding), (1, "i32", 1), (2, "i32", 1), (3, "i8", 0), (4, "i32", dw),
                              (5, "i32", dh))))
    return n + 2


def _fc(tensors, ops, x, o, rng):
    """Append an int8 FULLY_CONNECTED after tensor index x ([1, K]); returns the output's index."""
    k = tensors[x].shape[-1]
    n = len(tensors)
    tensors += [tw.T(f"fc{n}/w", (o, k), tw.INT8, rng.integers(-127, 128, size=(o, k), dtype=np.int8), 0.002, 0),
                tw.T(f"fc{n}/b", (o,), tw.INT32, rng.integers(-3000, 3000, size=o).astype(np.int32),
                     tensors[x].scale * 0.002, 0),
                tw.T(f"fc{n}/y", (1, o), tw.INT8, scale=1.5, zero_point=-4)]
    ops.append(tw.Op(FULLY_CONNECTED, [x, n, n + 1], [n + 2], FC_OPTIONS, options=((0, "i8", 0),)))
    return n + 2


def _layers(tmp_path):
    """Five inputs, each into long-window layers:
    x0 [1, 6, 7, 160] → 3x3/1 SAME, O = 21, relu, a pruned group (seg4 480: tiles of 2 rows and 1) and 3x3/2 VALID,
    O = 16 (all pixels inside: read in place);
    x1 [1, 3, 3, 136] → 3x3/1 SAME, O = 300 (two blocks of sums, every pixel but one on the border);
    x2 [1, 7, 6, 50] → 5x5/1 SAME, O = 8 (rows of 250 bytes, padded to 252: always gathered, 4 rows a tile);
    x3 [1, 1300] → fully connected, O = 10 (one row in pieces of 1152 and 148 bytes, read in place);
    x4 [1, 1283] → fully connected, O = 12 (not a multiple of 4: gathered, its padding byte the zero point);
    x5 [1, 4, 3, 200] → 3x3/1 SAME, O = 12 (int8: two-pixel tiles of 576 + 24 bytes per row);
    x6 [1, 9, 7, 16] → 3x3 dilated (2, 2) SAME, O = 12 (63 pixels, interior ones read in place) and (1, 3) VALID,
    O = 8 (columns 3 apart: gathered);
    x7 [1, 8, 8, 3] → 3x3 dilated (2, 2) SAME, O = 6 (rows of 9 bytes: gathered)."""
    from test_mve_kernels import SAME, VALID, _conv

    rng = np.random.default_rng(31)
    tensors = [tw.T("x0", (1, 6, 7, 160), tw.INT8, scale=0.02, zero_point=-5),
               tw.T("x1", (1, 3, 3, 136), tw.INT8, scale=0.03, zero_point=7),
               tw.T("x2", (1, 7, 6, 50), tw.INT8, scale=0.01, zero_point=-128),
               tw.T("x3", (1, 1300), tw.INT8, scale=0.02, zero_point=3),
               tw.T("x4", (1, 1283), tw.INT8, scale=0.02, zero_point=-9),
               tw.T("x5", (1, 4, 3, 200), tw.INT8, scale=0.02, zero_point=11),
               tw.T("x6", (1, 9, 7, 16), tw.INT8, scale=0.02, zero_point=-7),
               tw.T("x7", (1, 8, 8, 3), tw.INT8, scale=0.02, zero_point=5)]
    ops = []
    outs = [_conv(tensors, ops, 0, 21, 3, 1, SAME, rng.uniform(0.0005, 0.002, 21), (0.6, -20), rng, RELU,
                  pruned=(4, 5, 6, 7)),
            _conv(tensors, ops, 0, 16, 3, 2, VALID, rng.uniform(0.0005, 0.002, 16), (0.8, 4), rng),
            _conv(tensors, ops, 1, 300, 3, 1, SAME, rng.uniform(0.0005, 0.002, 300), (0.9, -1), rng),
            _conv(tensors, ops, 2, 8, 5, 1, SAME, rng.uniform(0.001, 0.003, 8), (0.4, 2), rng),
            _fc(tensors, ops, 3, 10, rng),
            _fc(tensors, ops, 4, 12, rng),
            _conv(tensors, ops, 5, 12, 3, 1, SAME, rng.uniform(0.0005, 0.002, 12), (0.6, 3), rng),
            _dilated(tensors, ops, 6, 12, 3, (2, 2), SAME, rng, (0.3, 2)),
            _dilated(tensors, ops, 6, 8, 3, (1, 3), VALID, rng, (0.3, -6)),
            _dilated(tensors, ops, 7, 6, 3, (2, 2), SAME, rng, (0.1, 1))]
    path = tmp_path / "long_windows.tflite"
    path.write_bytes(tw.write(tw.Model(tensors, ops, inputs=list(range(8)), outputs=outs)))
    return path


def _symbols(storage: str) -> list[str]:
    """int8 weights: the convs (several pixels) on the two-pixel tiled kernel, the fully connected layers on the
    one-pixel one; int16: all on the one tiled kernel. LiteRT's fully connected: one rounding."""
    if storage == "int8":
        return ["edgeai_conv_s8_w8_2x2_tiled"] * 8 + ["edgeai_conv_s8_w8_tiled_one_rounding"] * 2
    return ["edgeai_conv_s8_tiled"] * 8 + ["edgeai_conv_s8_tiled_one_rounding"] * 2


def test_the_layers_have_windows_longer_than_the_patch():
    """The model is built to fall off the patch: every undilated layer's window (rows padded to 4) exceeds it, one has
    more output channels than one block of sums."""
    for kh, kw, c in ((3, 3, 160), (3, 3, 136), (5, 5, 50), (1, 1, 1300), (1, 1, 1283), (3, 3, 200)):
        assert kh * (-(-kw * c // 4) * 4) > MAX_PATCH
    assert 300 > TILE_CHANNELS


def _inputs(ref, rng):
    return [rng.integers(-128, 128, size=s.shape).astype(np.int8) for s in ref.inputs]


def _check(outs, wants):
    for got, want in zip(outs, wants, strict=True):
        assert np.mean(np.abs(want.astype(np.int32)) >= 127) < 0.5  # mostly not saturated
        np.testing.assert_array_equal(got, want)


@pytest.mark.toolchain
@pytest.mark.usefixtures("tmp_cache")
def test_tiled_kernel_portable_path_bit_exact_on_host(tmp_path):
    """The Cortex-M4 lowering built with the host compiler (no __ARM_FEATURE_DSP): the portable C path, int8 weights
    (both tiled kernels). int16 weights run conv_s8_tiled's same tiles through dot_1x4, whose portable path the
    int16 host tests of tests/test_cortex_m_models.py check; the int16 tiled kernel itself is checked under QEMU
    (a host build of nn_s8.c takes ~40 s with UBSan)."""
    storage = "int8"
    from compilers.c.emit import emit_library
    from compilers.lowering import lower_graph
    from edgeai.frontends import load
    from edgeai.memory import plan_memory
    from edgeai.passes import default_pipeline
    from edgeai.runtime.host import HostSession
    from edgeai.runtime.reference import LiteRTSession
    from edgeai.targets import load_target

    path = _layers(tmp_path)
    graph = default_pipeline(load(path))
    lowered = lower_graph(graph, load_target("cortex-m4"), "model", weights=storage)
    assert sorted(c.symbol for c in lowered.calls) == sorted(_symbols(storage))
    out = tmp_path / "host"
    out.mkdir()
    emit_library(graph, plan_memory(graph), lowered, "model", out, target="host", source=str(graph.source))
    host, ref = HostSession(out), LiteRTSession(path)
    rng = np.random.default_rng(32)
    for _ in range(3):
        xs = _inputs(ref, rng)
        _check(host.run(xs), ref.run(xs))


@pytest.mark.slow
@pytest.mark.qemu
@needs_qemu
@pytest.mark.parametrize("target, storage", [("cortex-m4", "int8"), ("cortex-m4", "int16"), ("cortex-m55", "int8")])
@pytest.mark.usefixtures("tmp_cache")
def test_tiled_kernel_bit_exact_under_qemu(target, storage, tmp_path):
    """Under QEMU, with no layer left on a generic kernel (compile reports none). On the Cortex-M55 the Helium conv
    kernel declines these windows (longer than its patch, or dilated); the DSP kernels take them there too."""
    from edgeai.compile import compile_model
    from edgeai.runtime.device import QemuSession
    from edgeai.runtime.reference import LiteRTSession

    path = _layers(tmp_path)
    compiled = compile_model(path, target, tmp_path / "lib", weights=storage)
    layers = compiled.desc["layers"]
    assert sorted(layer["symbol"] for layer in layers) == sorted(_symbols(storage))
    assert not any("generic_kernel" in layer for layer in layers)
    ref = LiteRTSession(path)
    rng = np.random.default_rng(33)
    with QemuSession(compiled.path, target) as session:
        for _ in range(3):
            xs = _inputs(ref, rng)
            _check(session.run(xs), ref.run(xs))
