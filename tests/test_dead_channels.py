"""Dead channels (edgeai.passes.dead_channels) and int8 weight storage of the Cortex-M DSP kernels, bit-exact with
LiteRT on a small TFLite model built for it:

    x (1, 6, 6, 7) ─ convA 1x1 (24 out: 8 all-zero with a negative bias → constant zero point,
                    │           8 all-zero with a positive bias → a constant above it)
                    │    ├─ depthwise 3x3 SAME ─ convC 1x1 (13 out) → y1
                    │    └─ convF 1x1 (13 out) → y3
                    ├─ convB 1x1 (16 out, 8 all-zero) ─┐
                    └─ convE 1x1 (16 out) ──────────────┴─ ADD → y2

The pass removes convA's 8 zero-point channels (the padded depthwise reads the zero point at the border, which
only those match; convF takes any constant into its bias) and the depthwise's channels they feed; convB's
channels feed an ADD, which is not linear in them, and stay. Every conv's weights span -128..127, and the
channel counts (7 in, 13 out) are not multiples of 4."""

from __future__ import annotations

import numpy as np
import pytest

from fuzz import tflite_writer as tw

ADD, CONV_2D, DEPTHWISE_CONV_2D = 0, 3, 4
CONV_OPTIONS, DW_OPTIONS, ADD_OPTIONS = 1, 2, 11
SAME, VALID, RELU = 0, 1, 1
S_X, S_W, S_A, S_OUT = 0.05, 0.02, 0.1, 0.4


def _weights(rng, shape, dead=()):
    w = rng.integers(-128, 128, shape, dtype=np.int8)
    w.flat[0], w.flat[1] = -128, 127  # the whole int8 range
    for c in dead:
        w[c] = 0
    return w


def _model(path):
    rng = np.random.default_rng(7)
    a_bias = rng.integers(-2000, 2000, 24, dtype=np.int32)
    a_bias[:8], a_bias[8:16] = -5000, 3000  # dead 0-7: relu gives the zero point; dead 8-15: a constant above it
    b_bias = rng.integers(-2000, 2000, 16, dtype=np.int32)
    b_bias[:8] = 2500
    t = [tw.T("x", (1, 6, 6, 7), tw.INT8, scale=S_X, zero_point=-3),                                         # 0
         tw.T("A/w", (24, 1, 1, 7), tw.INT8, _weights(rng, (24, 1, 1, 7), range(16)), S_W, 0),                # 1
         tw.T("A/b", (24,), tw.INT32, a_bias, S_X * S_W, 0),                                                   # 2
         tw.T("a", (1, 6, 6, 24), tw.INT8, scale=S_A, zero_point=-128),                                        # 3
         tw.T("D/w", (1, 3, 3, 24), tw.INT8, _weights(rng, (1, 3, 3, 24)), S_W, 0),                            # 4
         tw.T("D/b", (24,), tw.INT32, rng.integers(-3000, 3000, 24, dtype=np.int32), S_A * S_W, 0),            # 5
         tw.T("d", (1, 6, 6, 24), tw.INT8, scale=S_A, zero_point=-128),                                        # 6
         tw.T("C/w", (13, 1, 1, 24), tw.INT8, _weights(rng, (13, 1, 1, 24)), S_W, 0),                          # 7
         tw.T("C/b", (13,), tw.INT32, rng.integers(-3000, 3000, 13, dtype=np.int32), S_A * S_W, 0),            # 8
         tw.T("y1", (1, 6, 6, 13), tw.INT8, scale=S_OUT, zero_point=4),                                        # 9
         tw.T("F/w", (13, 1, 1, 24), tw.INT8, _weights(rng, (13, 1, 1, 24)), S_W, 0),                          # 10
         tw.T("F/b", (13,), tw.INT32, rng.integers(-3000, 3000, 13, dtype=np.int32), S_A * S_W, 0),            # 11
         tw.T("y3", (1, 6, 6, 13), tw.INT8, scale=S_OUT, zero_point=-7),                                       # 12
         tw.T("B/w", (16, 1, 1, 7), tw.INT8, _weights(rng, (16, 1, 1, 7), range(8)), S_W, 0),                  # 13
         tw.T("B/b", (16,), tw.INT32, b_bias, S_X * S_W, 0),                                                   # 14
         tw.T("b", (1, 6, 6, 16), tw.INT8, scale=S_A, zero_point=-128),                                        # 15
         tw.T("E/w", (16, 1, 1, 7), tw.INT8, _weights(rng, (16, 1, 1, 7)), S_W, 0),                            # 16
         tw.T("E/b", (16,), tw.INT32, rng.integers(-2000, 2000, 16, dtype=np.int32), S_X * S_W, 0),            # 17
         tw.T("e", (1, 6, 6, 16), tw.INT8, scale=S_A, zero_point=-128),                                        # 18
         tw.T("y2", (1, 6, 6, 16), tw.INT8, scale=S_OUT, zero_point=2)]                                        # 19
    conv = ((0, "u8", VALID), (1, "i32", 1), (2, "i32", 1), (3, "i8", RELU))
    conv_linear = ((0, "u8", VALID), (1, "i32", 1), (2, "i32", 1))
    dw = ((0, "u8", SAME), (1, "i32", 1), (2, "i32", 1), (3, "i32", 1), (4, "i8", RELU))
    ops = [tw.Op(CONV_2D, [0, 1, 2], [3], CONV_OPTIONS, options=conv),
           tw.Op(DEPTHWISE_CONV_2D, [3, 4, 5], [6], DW_OPTIONS, options=dw),
           tw.Op(CONV_2D, [6, 7, 8], [9], CONV_OPTIONS, options=conv_linear),
           tw.Op(CONV_2D, [3, 10, 11], [12], CONV_OPTIONS, options=conv_linear),
           tw.Op(CONV_2D, [0, 13, 14], [15], CONV_OPTIONS, options=conv),
           tw.Op(CONV_2D, [0, 16, 17], [18], CONV_OPTIONS, options=conv),
           tw.Op(ADD, [15, 18], [19], ADD_OPTIONS, options=((0, "i8", 0),))]
    path.write_bytes(tw.write(tw.Model(t, ops, [0], [9, 19, 12])))
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return _model(tmp_path_factory.mktemp("dead") / "dead_channels.tflite")


def _inputs(n=3):
    rng = np.random.default_rng(11)
    return [rng.integers(-128, 128, (1, 6, 6, 7)).astype(np.int8) for _ in range(n)]


def _channels(graph):
    return {n.op + ":" + n.outputs[0]: graph.tensor(n.outputs[0]).shape[-1] for n in graph.nodes}


def test_pass_removes_the_channels_linear_readers_can_take_and_keeps_the_rest(model):
    from edgeai.frontends import load
    from edgeai.passes import DEFAULT_PASSES, remove_dead_channels, run_passes

    without = run_passes(load(model), [p for p in DEFAULT_PASSES if p is not remove_dead_channels])
    graph = remove_dead_channels(without).graph
    got = {k.split(":")[1]: v for k, v in _channels(graph).items()}
    assert got == {"a": 16, "d": 16, "y1": 13, "y3": 13, "b": 16, "e": 16, "y2": 16}
    by_out = {n.outputs[0]: n for n in graph.nodes}
    assert graph.tensor(by_out["y1"].inputs[1]).shape == (13, 1, 1, 16)  # readers trimmed
    assert graph.tensor(by_out["y3"].inputs[1]).shape == (13, 1, 1, 16)
    assert graph.tensor(by_out["b"].inputs[1]).shape == (16, 1, 1, 7)  # feeds ADD: kept
    assert remove_dead_channels(graph).modified is False


def test_kept_channels_name_the_model_channels_each_tensor_keeps(model):
    """What validate --per-layer selects of LiteRT's tensors: convA and the depthwise it feeds keep channels
    8-23 (0-7 were the zero-point constants); nothing else shrinks."""
    from edgeai.frontends import load
    from edgeai.passes import DEFAULT_PASSES, remove_dead_channels, run_passes
    from edgeai.passes.dead_channels import kept_channels

    without = run_passes(load(model), [p for p in DEFAULT_PASSES if p is not remove_dead_channels])
    kept = kept_channels(without)
    assert sorted(kept) == ["a", "d"]
    assert all(kept[name].tolist() == list(range(8, 24)) for name in kept)


@pytest.mark.toolchain
def test_host_library_after_the_pass_is_bit_exact_with_litert(model, tmp_path):
    from edgeai.compile import compile_model
    from edgeai.runtime.host import HostSession
    from edgeai.runtime.reference import LiteRTSession

    ref, session = LiteRTSession(model), HostSession(compile_model(model, "host", tmp_path / "lib").path)
    for x in _inputs():
        for got, want in zip(session.run([x]), ref.run([x])):
            np.testing.assert_array_equal(got, want)


@pytest.mark.toolchain
def test_dsp_kernels_portable_path_bit_exact_with_int8_weights(model, tmp_path):
    """The Cortex-M4 lowering (DSP kernels) built for the host: their portable C computes LiteRT's integers with
    int8 weights (int16: tests/test_cortex_m_models.py), and each layer says which storage it got."""
    weights = "int8"
    from compilers.c.emit import emit_library
    from compilers.lowering import lower_graph
    from edgeai.frontends import load
    from edgeai.memory import plan_memory
    from edgeai.passes import default_pipeline
    from edgeai.runtime.host import HostSession
    from edgeai.runtime.reference import LiteRTSession
    from edgeai.targets import load_target

    graph = default_pipeline(load(model))
    lowered = lower_graph(graph, load_target("cortex-m4"), "model", weights)
    convs = [c for c in lowered.calls if c.op in ("conv2d", "depthwise_conv2d")]
    # the 1x1 layers over 8 or 16 channels take the few-channel pointwise kernel, whose records are int16 in either
    # storage; the others the general kernels, their int8 variants named _w8_*
    pointwise = [c for c in convs if c.symbol.startswith("edgeai_pointwise_s8")]
    assert len(convs) == 6 and all(("_w8" in c.symbol) == (weights == "int8") for c in convs if c not in pointwise)
    assert set(lowered.storage.values()) - {"int16 (pointwise records)"} == {weights}
    emit_library(graph, plan_memory(graph), lowered, "model", tmp_path, target="host", source=str(model))
    ref, session = LiteRTSession(model), HostSession(tmp_path)
    for x in _inputs():
        for got, want in zip(session.run([x]), ref.run([x])):
            np.testing.assert_array_equal(got, want)


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.toolchain
def test_cortex_m4_firmware_int8_weights_bit_exact_with_litert(model, tmp_path):
    from edgeai.compile import compile_model
    from edgeai.runtime.device import QemuSession
    from edgeai.runtime.reference import LiteRTSession

    compiled = compile_model(model, "cortex-m4", tmp_path / "lib")
    assert {layer.get("weights") for layer in compiled.desc["layers"] if layer["op"] != "add"} - \
        {"int16 (pointwise records)"} == {"int8"}
    ref = LiteRTSession(model)
    with QemuSession(compiled.path, "cortex-m4") as session:
        for x in _inputs(2):
            for got, want in zip(session.run([x]), ref.run([x])):
                np.testing.assert_array_equal(got, want)
