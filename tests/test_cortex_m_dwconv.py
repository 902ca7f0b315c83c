"""The int8 DSP depthwise kernels (compilers/c/kernels/dsp/nn_s8.c, EDGEAI_DW_ENTRY) on small layers that reach
each of their entry points (cortex_m.dwconv_variant: 3x3 stride 1 two rows at a time, 3x3 one pixel at a time,
any window, each with and without the activation clamp) and their borders: widths 1, 2 and odd, stride 2 over odd
sizes, SAME and VALID, relu6, C = 4, 8, 12, 68 (68: a batch of 64 widened channels, then one of 4), a row wider
than the two-row kernel takes (W * C > MAX_DW_CHANNELS). Bit-exact with LiteRT on Cortex-M4 under QEMU and in the
portable C path on the host, with int8 weights (the default) and int16."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.qemu,
    pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                       reason="needs qemu-system-arm and arm-none-eabi-gcc"),
]

SAME, VALID = 0, 1
NONE, RELU6 = 0, 3  # ActivationFunctionType


def _dw(tensors, ops, x, k, stride, padding, activation, out_q, rng):
    """Append a per-channel int8 KxK DEPTHWISE_CONV_2D (depth multiplier 1) after tensor x; its output's index."""
    from fuzz import tflite_writer as tw

    _, h, w, c = tensors[x].shape
    w_scales = rng.uniform(0.002, 0.01, c)
    weights = rng.integers(-127, 128, size=(1, k, k, c), dtype=np.int8)
    oh, ow = ((h + stride - 1) // stride, (w + stride - 1) // stride) if padding == SAME else \
        ((h - k) // stride + 1, (w - k) // stride + 1)
    n = len(tensors)
    tensors += [tw.T(f"w{n}", weights.shape, tw.INT8, weights, tuple(w_scales), 0, quantized_dimension=3),
                tw.T(f"b{n}", (c,), tw.INT32, rng.integers(-3000, 3000, size=c).astype(np.int32),
                     tuple(tensors[x].scale * w_scales), 0),
                tw.T(f"y{n}", (1, oh, ow, c), tw.INT8, scale=out_q[0], zero_point=out_q[1])]
    ops.append(tw.Op(4, [x, n, n + 1], [n + 2], 2,  # DEPTHWISE_CONV_2D, DepthwiseConv2DOptions
                     options=((0, "i8", padding), (1, "i32", stride), (2, "i32", stride), (3, "i32", 1),
                              (4, "i8", activation), (5, "i32", 1), (6, "i32", 1))))
    return n + 2


# (H, W, C): widths 1, 2, odd; C = 4, 8, 12, 68; the last row is wider than the two-row kernel's 1024 bytes
SHAPES = [(5, 1, 4), (4, 2, 8), (7, 5, 12), (6, 3, 68), (5, 7, 4), (4, 16, 68)]


def _layers(tmp_path, h, w, c):
    """x [1, h, w, c] → 3x3 depthwise branches: stride 1 SAME, stride 1 SAME relu6, stride 2 SAME relu6, stride 2
    SAME, and where the image allows stride 1 VALID relu6, stride 2 VALID; a 5x5 stride 1 SAME (any window)."""
    from fuzz import tflite_writer as tw

    rng = np.random.default_rng(h * 1000 + w * 100 + c)
    tensors = [tw.T("x", (1, h, w, c), tw.INT8, scale=0.02, zero_point=-5)]
    ops = []
    branches = [(3, 1, SAME, NONE), (3, 1, SAME, RELU6), (3, 2, SAME, RELU6), (3, 2, SAME, NONE), (5, 1, SAME, NONE)]
    if h >= 3 and w >= 3:
        branches += [(3, 1, VALID, RELU6), (3, 2, VALID, NONE)]
    outs = [_dw(tensors, ops, 0, k, s, p, a, (0.05 if a == RELU6 else 0.1, -3 if a == RELU6 else 4), rng)
            for k, s, p, a in branches]
    path = tmp_path / f"dw_{h}x{w}x{c}.tflite"
    path.write_bytes(tw.write(tw.Model(tensors, ops, inputs=[0], outputs=outs)))
    return path


@pytest.mark.usefixtures("tmp_cache")
@pytest.mark.parametrize("weights", ["int8", "int16"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_dsp_dwconv_entry_points_bit_exact(shape, weights, tmp_path):
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

    h, w, c = shape
    path = _layers(tmp_path, h, w, c)
    graph = default_pipeline(load(path))
    lowered = lower_graph(graph, load_target("cortex-m4"), "model", weights)
    symbols = {call.symbol for call in lowered.calls}
    base = "edgeai_dwconv_s8_w8" if weights == "int8" else "edgeai_dwconv_s8"
    s1 = "_3x3s1" if w * c <= 1024 else "_3x3"
    assert {base + s1, base + s1 + "_clamp", base + "_3x3", base + "_3x3_clamp", base} <= symbols, symbols
    ref = LiteRTSession(path)
    rng = np.random.default_rng(5)
    xs = [rng.integers(-128, 128, size=ref.inputs[0].shape).astype(np.int8) for _ in range(2)]
    wants = [ref.run([x]) for x in xs]
    for want in wants:
        assert all(np.mean(np.abs(v.astype(np.int32)) >= 127) < 0.3 for v in want)  # mostly not saturated
    compiled = compile_model(path, "cortex-m4", tmp_path / "m4", weights=weights)
    assert symbols == {layer["symbol"] for layer in compiled.desc["layers"]}
    out = tmp_path / "host"
    out.mkdir()
    emit_library(graph, plan_memory(graph), lowered, "model", out, target="host", source=str(graph.source))
    host = HostSession(out)
    with QemuSession(compiled.path, "cortex-m4") as session:
        for x, want in zip(xs, wants, strict=True):
            for got_m4, got_host, v in zip(session.run([x]), host.run([x]), want, strict=True):
                np.testing.assert_array_equal(got_m4, v)
                np.testing.assert_array_equal(got_host, v)
