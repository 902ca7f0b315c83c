"""The x86-64 float32 kernels (compilers/c/kernels/x86/conv_f32_x86.c, dwconv_f32_x86.c) in the host library,
within the float tests' tolerance of LiteRT's reference kernels (and of onnxruntime for the MLPerf models), on the
path this machine picks at run time (AVX2 + FMA) and on the portable C (-DEDGEAI_X86_PORTABLE):

- a small float model: 3x3 SAME convolutions at stride 1 (ReLU) and 2 (ReLU6), a 3x3 VALID one with 33 output
  channels (three blocks of 16, the last partial), 1x1 convolutions, odd channel counts (5, 13, 17, 7), depthwise
  3x3 stride 2 (ReLU6, 13 channels: a masked last vector) and 5x5, a fully connected layer of 70 outputs (the
  one-pixel tile over 4 blocks, then 1);
- two MLPerf Tiny float models: ad01_fp32 (fully connected) and vww_96_float (convolution, depthwise, fully
  connected). kws_ref_model_float32 is a hybrid model (LiteRT quantizes its activations at run time), so it is
  not a float32 reference.
Timings live in benchmarks/x86/host_wall.py, not here."""

from __future__ import annotations

import platform

import numpy as np
import pytest

from conftest import MODELS, tflite
from edgeai.compile import compile_model
from edgeai.runtime.host import HostSession
from edgeai.runtime.reference import LiteRTSession, OnnxRuntimeSession
from edgeai.validate import random_inputs
from fuzz import tflite_writer as tw

pytestmark = [pytest.mark.slow, pytest.mark.toolchain,
              pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="needs an x86-64 host")]

CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED = 3, 4, 9  # BuiltinOperator
CONV_OPTIONS, DW_OPTIONS, FC_OPTIONS = 1, 2, 8  # BuiltinOptions
SAME, VALID = 0, 1
NONE, RELU, RELU6 = 0, 1, 3
PATHS = {"dispatch": (), "portable": ("-DEDGEAI_X86_PORTABLE",)}
FLOAT_OPS = ("conv2d", "depthwise_conv2d", "fully_connected")


def _float_layers(path):
    rng = np.random.default_rng(11)
    tensors: list[tw.T] = []
    ops: list[tw.Op] = []

    def tensor(name, shape, data=None):
        tensors.append(tw.T(name, shape, tw.FLOAT32, None if data is None else data.astype(np.float32)))
        return len(tensors) - 1

    def conv(x, shape, o, k, stride, padding, act, depthwise=False):
        _, h, w, c = shape
        oh, ow = ((-(-h // stride), -(-w // stride)) if padding == SAME
                  else ((h - k) // stride + 1, (w - k) // stride + 1))
        n = len(ops)
        if depthwise:
            o = c
            wi = tensor(f"dw{n}/w", (1, k, k, c), rng.normal(0, 1 / k, (1, k, k, c)))
            opts = ((0, "u8", padding), (1, "i32", stride), (2, "i32", stride), (3, "i32", 1), (4, "u8", act))
            code, kind = DEPTHWISE_CONV_2D, DW_OPTIONS
        else:
            wi = tensor(f"conv{n}/w", (o, k, k, c), rng.normal(0, 1 / (k * np.sqrt(c)), (o, k, k, c)))
            opts = ((0, "u8", padding), (1, "i32", stride), (2, "i32", stride), (3, "u8", act))
            code, kind = CONV_2D, CONV_OPTIONS
        bi = tensor(f"op{n}/b", (o,), rng.normal(0, 0.5, o))
        y = tensor(f"op{n}/y", (1, oh, ow, o))
        ops.append(tw.Op(code, [x, wi, bi], [y], kind, options=opts))
        return y, (1, oh, ow, o)

    x = tensor("x", (1, 9, 7, 5))
    a, sa = conv(x, (1, 9, 7, 5), 13, 3, 1, SAME, RELU)
    b, sb = conv(a, sa, 0, 3, 2, SAME, RELU6, depthwise=True)
    c, _ = conv(b, sb, 20, 1, 1, SAME, NONE)
    d, sd = conv(a, sa, 17, 3, 2, SAME, RELU6)
    e, se = conv(d, sd, 7, 1, 1, VALID, NONE)
    f, _ = conv(a, sa, 0, 5, 1, SAME, NONE, depthwise=True)
    g, _ = conv(x, (1, 9, 7, 5), 33, 3, 1, VALID, RELU)
    k = int(np.prod(se))
    fw = tensor("fc/w", (70, k), rng.normal(0, 1 / np.sqrt(k), (70, k)))
    fb = tensor("fc/b", (70,), rng.normal(0, 0.5, 70))
    fc = tensor("fc/y", (1, 70))
    ops.append(tw.Op(FULLY_CONNECTED, [e, fw, fb], [fc], FC_OPTIONS, options=((0, "u8", RELU),)))
    path.write_bytes(tw.write(tw.Model(tensors, ops, inputs=[x], outputs=[fc, a, b, c, d, e, f, g])))
    return path


def _close(compiled, flags, references, samples=2):
    session = HostSession(compiled.path, extra_flags=flags)
    for inputs in random_inputs(references[0].inputs, samples, seed=5):
        got = session.run(inputs)
        for reference in references:
            for i, (a, want) in enumerate(zip(got, reference.run(inputs))):
                # the float tests' tolerance (tests/test_kernels.py): the sums differ in order only
                np.testing.assert_allclose(a, want, rtol=1e-5, atol=1e-5 * float(np.abs(want).max()),
                                           err_msg=f"{compiled.path.name} {flags} output {i}")


def _hand_written(compiled):
    layers = [layer for layer in compiled.desc["layers"] if layer["op"] in FLOAT_OPS]
    assert layers and all(layer["symbol"] in ("edgeai_conv_f32_x86", "edgeai_dwconv_f32_x86") for layer in layers), \
        {layer["name"]: layer["symbol"] for layer in layers}
    return {layer["op"] for layer in layers}


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    return _float_layers(tmp_path_factory.mktemp("x86f") / "x86_float_layers.tflite")


@pytest.mark.parametrize("path", list(PATHS))
def test_small_float_layers_close_to_litert(small_model, path, tmp_cache):
    compiled = compile_model(small_model, "host")
    assert _hand_written(compiled) == set(FLOAT_OPS)
    _close(compiled, PATHS[path], [LiteRTSession(small_model)], samples=3)


@pytest.mark.parametrize("name, path", [("ad01_fp32", "dispatch"), ("ad01_fp32", "portable"),
                                        ("vww_96_float", "dispatch"), ("vww_96_float", "portable")])
def test_mlperf_float_models_close_to_litert_and_onnxruntime(name, path, tmp_cache):
    compiled = compile_model(tflite(name), "host")
    _hand_written(compiled)
    onnx = MODELS / "mlperf_tiny_onnx" / f"{name}.onnx"
    _close(compiled, PATHS[path], [LiteRTSession(tflite(name)), OnnxRuntimeSession(onnx)])
