"""The DSP ADD kernel edgeai_add_s8_sum16 (compilers/c/kernels/dsp/nn_s8.c; its tables are solved at compile time,
compilers/lowering/cortex_m.py: add_sum_tables) on synthetic int8 layers: bit-exact with LiteRT on Cortex-M4 under
QEMU and in the portable C path on the host. Element counts that are not a multiple of 4 (nor 8), a block of 4
before the blocks of 8, a tail of 1-3, ReLU (lo > -128) and ReLU6 (hi < 127) clamps, one tensor added to itself.
Performance lives in benchmarks/cortex_m4, not here."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz import tflite_writer as tw  # noqa: E402

ADD, ADD_OPTIONS = 0, 11  # BuiltinOperator, BuiltinOptions
NONE, RELU, RELU6 = 0, 1, 3
QEMU = pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                          reason="needs qemu-system-arm and arm-none-eabi-gcc")


def add_layers_model(path: Path) -> Path:
    """Inputs x, y [1, 7, 9, 3] (189 elements: one block of 4, 23 of 8, a tail of 1) and u, v [1, 2, 3, 5] (30: 3 of
    8 after one of 4, a tail of 2) with different scales and zero points; every ADD is an output:
    x + y (no activation, saturating both ways), x + y ReLU with zero point 9 (lo = 9), u + v ReLU6 (hi < 127),
    x + x, u + v (its input 2 spans about 6 times the output's range)."""
    tensors = [tw.T("x", (1, 7, 9, 3), tw.INT8, scale=0.05, zero_point=-3),
               tw.T("y", (1, 7, 9, 3), tw.INT8, scale=0.11, zero_point=7),
               tw.T("u", (1, 2, 3, 5), tw.INT8, scale=0.02, zero_point=-128),
               tw.T("v", (1, 2, 3, 5), tw.INT8, scale=0.3, zero_point=20)]
    ops, outputs = [], []

    def add(a, b, name, activation, scale, zp):
        tensors.append(tw.T(name, tensors[a].shape, tw.INT8, scale=scale, zero_point=zp))
        ops.append(tw.Op(ADD, [a, b], [len(tensors) - 1], ADD_OPTIONS, options=((0, "u8", activation),)))
        outputs.append(len(tensors) - 1)

    add(0, 1, "sum", NONE, 0.06, 2)
    add(0, 1, "sum_relu", RELU, 0.07, 9)
    add(2, 3, "sum_relu6", RELU6, 0.04, -100)
    add(0, 0, "twice", NONE, 0.09, -5)
    add(2, 3, "sum_wide", NONE, 0.013, 30)
    path.write_bytes(tw.write(tw.Model(tensors, ops, [0, 1, 2, 3], outputs)))
    return path


def _inputs(reference, count, seed):
    rng = np.random.default_rng(seed)
    return [[rng.integers(-128, 128, size=spec.shape).astype(np.int8) for spec in reference.inputs]
            for _ in range(count)]


def _check(got, want):
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


def test_add_sum_tables_reproduce_every_input_pair():
    """The solved tables give edgeai_add_s8's output on all 65,536 byte pairs (add_sum_tables checks it, so a
    solved table is exact), for TFLite and ONNX numerics and clamps; tables that cannot exist are refused (ONNX
    halves-to-even ties; an output that is no function of a sum)."""
    from compilers.lowering.cortex_m import add_constants, add_outputs, add_sum_tables
    from compilers.tvm.kernels.add import exact_add_multipliers
    from compilers.tvm.requant import add_quant_params

    for s1, s2, so, z1, z2, zo, lo, hi in [(0.0394, 0.1042, 0.0509, -128, 4, -128, -128, 127),
                                           (0.05, 0.11, 0.07, -3, 7, 9, 9, 127),
                                           (0.02, 0.3, 0.04, -128, 20, -100, -100, 50)]:
        for onnx in (False, True):
            q = None if onnx else add_quant_params(s1, s2, so)
            exact = exact_add_multipliers(s1, s2, so, "test") if onnx else None
            t, p = add_constants(10, z1, z2, zo, lo, hi, q, exact)
            want = add_outputs(t, p, onnx)
            tables = add_sum_tables(want, lo, hi)
            if onnx and so == 0.04:
                # halves to even on reachable ties: out(a, b) + out(a', b') and out(a, b') + out(a', b) differ by
                # 2 for some bytes, which no floor of a sum of table entries can do: edgeai_add_s8 keeps the layer
                assert tables is None
                continue
            assert tables is not None and np.abs(tables).max() < 1 << 30
            t1, t2 = tables[:256].astype(np.int64), tables[256:].astype(np.int64)
            got = np.minimum(np.clip((t1[:, None] + t2[None, :]) >> 16, 0, 255), hi - lo) + lo
            np.testing.assert_array_equal(got, want)
    # not a function of a sum of per-input values: out = 1 only where exactly one input byte is 0
    xor = np.zeros((256, 256), np.int64)
    xor[0, 1:] = xor[1:, 0] = 1
    assert add_sum_tables(xor - 128, -128, 127) is None


@pytest.mark.toolchain
def test_add_sum16_portable_path_bit_exact_with_litert(tmp_path):
    """The Cortex-M4 lowering built with the host compiler (no __ARM_FEATURE_DSP: the C path of the kernel)."""
    from compilers.c.emit import emit_library
    from compilers.lowering import lower_graph
    from edgeai.frontends import load
    from edgeai.memory import plan_memory
    from edgeai.passes import default_pipeline
    from edgeai.runtime.host import HostSession
    from edgeai.runtime.reference import LiteRTSession
    from edgeai.targets import load_target

    path = add_layers_model(tmp_path / "add_layers.tflite")
    graph = default_pipeline(load(path))
    lowered = lower_graph(graph, load_target("cortex-m4"), "model")
    assert [c.symbol for c in lowered.calls] == ["edgeai_add_s8_sum16"] * 5
    out = tmp_path / "lib"
    out.mkdir()
    emit_library(graph, plan_memory(graph), lowered, "model", out, target="host", source=str(path))
    reference, session = LiteRTSession(path), HostSession(out)
    for xs in _inputs(reference, 3, 21):
        _check(session.run(xs), reference.run(xs))


@pytest.mark.slow
@pytest.mark.qemu
@QEMU
@pytest.mark.usefixtures("tmp_cache")
@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m7"])
def test_add_sum16_bit_exact_with_litert_under_qemu(target, tmp_path):
    from edgeai.compile import compile_model
    from edgeai.runtime.device import QemuSession
    from edgeai.runtime.reference import LiteRTSession

    path = add_layers_model(tmp_path / "add_layers.tflite")
    compiled = compile_model(path, target, tmp_path / "lib")
    assert [layer["symbol"] for layer in compiled.desc["layers"]] == ["edgeai_add_s8_sum16"] * 5
    reference = LiteRTSession(path)
    xs_all = _inputs(reference, 3, 22)
    with QemuSession(compiled.path, target) as session:
        for xs in xs_all:
            want = reference.run(xs)
            assert all(0.02 < np.mean(np.abs(w.astype(np.int32)) >= 127) < 0.9 for w in want[:1])  # saturates
            _check(session.run(xs), want)


POOL, POOL_OPTIONS = 1, 5  # AVERAGE_POOL_2D, Pool2DOptions
SAME, VALID = 0, 1


def pool_layers_model(path: Path) -> Path:
    """Global average pools (edgeai_global_avgpool_s8): x [1, 5, 7, 16] 5x7 VALID (35 points, two groups of 8
    channels), y [1, 16, 16, 8] 16x16 (256 points, the most the int16 lanes hold: all -128 sums to -32768); and
    pools the kernel declines (TVM's): the first with ReLU (zero point -3: lo = -3, a clamp), 2x2/2 SAME on x
    (windows cut by padding), a global pool over C = 12."""
    tensors = [tw.T("x", (1, 5, 7, 16), tw.INT8, scale=0.05, zero_point=-3),
               tw.T("y", (1, 16, 16, 8), tw.INT8, scale=0.02, zero_point=5),
               tw.T("z", (1, 3, 4, 12), tw.INT8, scale=0.1, zero_point=0)]
    ops, outputs = [], []

    def pool(x, name, k, stride, padding, activation=NONE, zp=None):
        h, w, c = tensors[x].shape[1:]
        oh, ow = ((-(-h // stride), -(-w // stride)) if padding == SAME else
                  ((h - k[0]) // stride + 1, (w - k[1]) // stride + 1))
        q = tensors[x]
        tensors.append(tw.T(name, (1, oh, ow, c), tw.INT8, scale=q.scale, zero_point=q.zero_point if zp is None
                            else zp))
        options = ((0, "u8", padding), (1, "i32", stride), (2, "i32", stride), (3, "i32", k[1]), (4, "i32", k[0]),
                   (5, "u8", activation))
        ops.append(tw.Op(POOL, [x], [len(tensors) - 1], POOL_OPTIONS, options=options))
        outputs.append(len(tensors) - 1)

    pool(0, "global_x", (5, 7), 1, VALID)
    pool(1, "global_y", (16, 16), 1, VALID)
    pool(0, "global_x_relu", (5, 7), 1, VALID, RELU)
    pool(0, "pool_2x2", (2, 2), 2, SAME)
    pool(2, "global_c12", (3, 4), 1, VALID)
    path.write_bytes(tw.write(tw.Model(tensors, ops, [0, 1, 2], outputs)))
    return path


POOL_SYMBOLS = ["edgeai_global_avgpool_s8"] * 2


def _pool_inputs(reference):
    """Random inputs, then all -128 and all 127 (the int16 lanes' extremes over 256 points)."""
    xs = _inputs(reference, 2, 23)
    for v in (-128, 127):
        xs.append([np.full(spec.shape, v, np.int8) for spec in reference.inputs])
    return xs


@pytest.mark.toolchain
def test_global_avgpool_portable_path_bit_exact_with_litert(tmp_path):
    from compilers.c.emit import emit_library
    from compilers.lowering import lower_graph
    from edgeai.frontends import load
    from edgeai.memory import plan_memory
    from edgeai.passes import default_pipeline
    from edgeai.runtime.host import HostSession
    from edgeai.runtime.reference import LiteRTSession
    from edgeai.targets import load_target

    path = pool_layers_model(tmp_path / "pool_layers.tflite")
    graph = default_pipeline(load(path))
    lowered = lower_graph(graph, load_target("cortex-m4"), "model")
    assert [c.symbol for c in lowered.calls][:2] == POOL_SYMBOLS
    assert not any(c.symbol == POOL_SYMBOLS[0] for c in lowered.calls[2:])
    out = tmp_path / "lib"
    out.mkdir()
    emit_library(graph, plan_memory(graph), lowered, "model", out, target="host", source=str(path))
    reference, session = LiteRTSession(path), HostSession(out)
    for xs in _pool_inputs(reference):
        _check(session.run(xs), reference.run(xs))


@pytest.mark.slow
@pytest.mark.qemu
@QEMU
@pytest.mark.usefixtures("tmp_cache")
@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m7"])
def test_global_avgpool_bit_exact_with_litert_under_qemu(target, tmp_path):
    from edgeai.compile import compile_model
    from edgeai.runtime.device import QemuSession
    from edgeai.runtime.reference import LiteRTSession

    path = pool_layers_model(tmp_path / "pool_layers.tflite")
    compiled = compile_model(path, target, tmp_path / "lib")
    symbols = [layer["symbol"] for layer in compiled.desc["layers"]]
    assert symbols[:2] == POOL_SYMBOLS and POOL_SYMBOLS[0] not in symbols[2:], symbols
    reference = LiteRTSession(path)
    with QemuSession(compiled.path, target) as session:
        for xs in _pool_inputs(reference):
            _check(session.run(xs), reference.run(xs))
