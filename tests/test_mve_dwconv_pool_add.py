"""The Helium (MVE) kernels of compilers/c/kernels/mve (depthwise conv, average pool, add) on Cortex-M55 under
QEMU: bit-exact with LiteRT's reference kernels (TFLite numerics), and equal to the host library's TVM kernels
under ONNX numerics; the same lowering built for the host (the kernels' portable C path) too. Performance lives
in benchmarks/cortex_m4 (--target cortex-m55), not here."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from compilers.c.emit import emit_library
from compilers.lowering import lower_graph
from conftest import tflite
from edgeai.compile import compile_model
from edgeai.frontends import load
from edgeai.memory import plan_memory
from edgeai.passes import default_pipeline
from edgeai.runtime.host import HostSession
from edgeai.runtime.reference import LiteRTSession
from edgeai.targets import load_target
from fuzz import tflite_writer as tw

ADD, AVERAGE_POOL_2D, DEPTHWISE_CONV_2D = 0, 1, 4  # BuiltinOperator
DW_OPTIONS, POOL_OPTIONS, ADD_OPTIONS = 2, 5, 11  # BuiltinOptions
SAME, VALID = 0, 1
NONE, RELU, RELU6 = 0, 1, 3
C = 21  # not a multiple of 16 (nor of 4): a last block of 5 channels, one of its lanes predicated
C_ONNX = 24  # the ONNX case: a last block of 8 channels, which has code of its own



def _dw(rng, tensors, x, name, k, stride, padding, activation, out_q, in_scale, pruned=False):
    """Appends a depthwise layer's weights, bias and output; returns (op, output index)."""
    kh, kw = k
    c = tensors[x].shape[3]
    w = rng.integers(-127, 128, (1, kh, kw, c), dtype=np.int8)
    if pruned:
        w[..., 3] = 0  # a pruned channel: constant output from the bias
    scales = rng.uniform(0.002, 0.02, c).astype(np.float32)
    bias = rng.integers(-3000, 3000, c, dtype=np.int32)
    h, wd = tensors[x].shape[1:3]
    if padding == SAME:
        oh, ow = -(-h // stride), -(-wd // stride)
    else:
        oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
    base = len(tensors)
    tensors += [tw.T(f"{name}/w", w.shape, tw.INT8, w, scales, 0, quantized_dimension=3),
                tw.T(f"{name}/b", (c,), tw.INT32, bias, (scales * in_scale).astype(np.float32), 0),
                tw.T(name, (1, oh, ow, c), tw.INT8, scale=out_q[0], zero_point=out_q[1])]
    options = ((0, "u8", padding), (1, "i32", stride), (2, "i32", stride), (3, "i32", 1), (4, "u8", activation),
               (5, "i32", 1), (6, "i32", 1))
    return tw.Op(DEPTHWISE_CONV_2D, [x, base, base + 1], [base + 2], DW_OPTIONS, options=options), base + 2


def _pool(tensors, x, name, k, stride, padding):
    h, wd = tensors[x].shape[1:3]
    oh, ow = ((-(-h // stride), -(-wd // stride)) if padding == SAME else
              ((h - k[0]) // stride + 1, (wd - k[1]) // stride + 1))
    q = tensors[x]
    tensors.append(tw.T(name, (1, oh, ow, q.shape[3]), tw.INT8, scale=q.scale, zero_point=q.zero_point))
    options = ((0, "u8", padding), (1, "i32", stride), (2, "i32", stride), (3, "i32", k[1]), (4, "i32", k[0]),
               (5, "u8", NONE))
    return tw.Op(AVERAGE_POOL_2D, [x], [len(tensors) - 1], POOL_OPTIONS, options=options), len(tensors) - 1


def layers_model(path, c=C):
    """x → dw 3x3/1 SAME (ReLU6) → dw 3x3/2 SAME → dw 5x3/1 SAME (a pruned channel) → add with the
    stride-2 output → avg pool 2x2/2 SAME (windows cut by padding) → avg pool 3x3 VALID (global); every
    intermediate tensor is an output, so a wrong layer cannot hide behind a later one."""
    rng = np.random.default_rng(7)
    tensors = [tw.T("x", (1, 10, 9, c), tw.INT8, scale=0.05, zero_point=-3)]
    ops = []
    op, a = _dw(rng, tensors, 0, "dw_s1", (3, 3), 1, SAME, RELU6, (0.04, -128), 0.05)
    ops.append(op)
    op, b = _dw(rng, tensors, a, "dw_s2", (3, 3), 2, SAME, NONE, (0.06, 4), 0.04)
    ops.append(op)
    op, c = _dw(rng, tensors, b, "dw_5x3", (5, 3), 1, SAME, RELU, (0.05, -20), 0.06, pruned=True)
    ops.append(op)
    tensors.append(tw.T("sum", tensors[b].shape, tw.INT8, scale=0.08, zero_point=2))
    ops.append(tw.Op(ADD, [b, c], [len(tensors) - 1], ADD_OPTIONS, options=((0, "u8", NONE),)))
    s = len(tensors) - 1
    op, p1 = _pool(tensors, s, "pool_2x2", (2, 2), 2, SAME)
    ops.append(op)
    op, p2 = _pool(tensors, p1, "pool_global", (3, 3), 1, VALID)
    ops.append(op)
    path.write_bytes(tw.write(tw.Model(tensors, ops, [0], [a, b, c, s, p1, p2])))
    return path


MVE_SYMBOLS = {"edgeai_dwconv_s8_mve", "edgeai_add_s8_mve", "edgeai_avgpool_s8_mve"}


def _layers(folder, c):
    path = layers_model(folder / f"layers_{c}.tflite", c)
    reference = LiteRTSession(path)
    rng = np.random.default_rng(11)
    inputs = [rng.integers(-128, 128, size=reference.inputs[0].shape).astype(np.int8) for _ in range(2)]
    return path, reference, inputs


@pytest.fixture(scope="module")
def layers(tmp_path_factory):
    return _layers(tmp_path_factory.mktemp("mve"), C)


def _symbols(desc) -> set[str]:
    return {layer["symbol"] for layer in desc["layers"]}


def _assert_equal(got, want):
    for g, w in zip(got, want, strict=True):
        diff = np.abs(g.astype(int) - w.astype(int))
        assert diff.max() == 0, f"{np.count_nonzero(diff)}/{diff.size} values differ, max {diff.max()} LSB"


@pytest.mark.toolchain
def test_portable_path_of_the_mve_kernels_is_bit_exact_with_litert(layers, tmp_path, tmp_cache):
    """The cortex-m55 lowering built with the host compiler (no __ARM_FEATURE_MVE: mve_lanes.h's C lanes)."""
    path, reference, inputs = layers
    graph = default_pipeline(load(path))
    lowered = lower_graph(graph, load_target("cortex-m55"), "model")
    assert {c.symbol for c in lowered.calls} == MVE_SYMBOLS
    emit_library(graph, plan_memory(graph), lowered, "model", tmp_path, target="host", source=str(path))
    session = HostSession(tmp_path)
    for x in inputs:
        _assert_equal(session.run([x]), reference.run([x]))


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="needs qemu-system-arm and arm-none-eabi-gcc")
@pytest.mark.parametrize("numerics", ["tflite", "onnx"])
def test_mve_kernels_on_cortex_m55_under_qemu(layers, numerics, tmp_path, tmp_cache):
    """Depthwise 3x3 stride 1 and 2 and 5x3 with SAME padding, per-channel scales, a pruned channel, ReLU/ReLU6;
    ADD; average pools with cut windows and a global one; every layer's output compared. TFLite numerics against
    LiteRT, 21 channels (a last block of 5: one predicated lane); ONNX numerics (one rounding, halves to even)
    against the host library's TVM kernels, 24 channels (the last block of 8 has code of its own)."""
    from edgeai.runtime.device import QemuSession

    path, reference, inputs = layers if numerics == "tflite" else _layers(tmp_path, C_ONNX)
    device = compile_model(path, "cortex-m55", tmp_path / "m55", numerics=numerics)
    symbols = _symbols(device.desc)
    if numerics == "tflite":
        assert symbols == MVE_SYMBOLS
        want = [reference.run([x]) for x in inputs]
    else:  # the padded ONNX pool is a division per window: the TVM kernel keeps it
        assert {s + "_one_rounding" for s in MVE_SYMBOLS} <= symbols, symbols
        host = HostSession(compile_model(path, "host", tmp_path / "host", numerics="onnx").path)
        want = [host.run([x]) for x in inputs]
    with QemuSession(device.path, "cortex-m55") as session:
        for x, w in zip(inputs, want):
            _assert_equal(session.run([x]), w)


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="needs qemu-system-arm and arm-none-eabi-gcc")
def test_kws_on_cortex_m55_is_bit_exact_with_litert(tmp_path, tmp_cache):
    """MLPerf Tiny KWS (four 25x5x64 depthwise layers, a 25x5 average pool) on the MVE kernels."""
    from edgeai.runtime.device import QemuSession

    path = tflite("kws_ref_model")
    device = compile_model(path, "cortex-m55", tmp_path / "lib")
    symbols = [layer["symbol"] for layer in device.desc["layers"]]
    assert symbols.count("edgeai_dwconv_s8_mve") == 4 and "edgeai_avgpool_s8_mve" in symbols, symbols
    reference = LiteRTSession(path)
    rng = np.random.default_rng(5)
    with QemuSession(device.path, "cortex-m55") as session:
        for _ in range(2):
            x = rng.integers(-128, 128, size=reference.inputs[0].shape).astype(np.int8)
            _assert_equal(session.run([x]), reference.run([x]))
