"""The x86-64 int8 kernels (compilers/c/kernels/x86/) in the host library, bit-exact with LiteRT's reference
kernels on every path the kernels pick at run time: the one this machine takes (AVX-VNNI or AVX512-VNNI where
present), AVX2 alone (-DEDGEAI_X86_NO_VNNI) and the portable C (-DEDGEAI_X86_PORTABLE), each forced by a compile
flag of the host build:

- the aarch64 kernels' small model (tests/test_neon_kernels.py): 3x3 SAME convolutions at stride 1 and 2, 1x1 read
  in place and through the patch, odd channel counts (13, 7), depthwise 3x3 stride 2 and 5x5, per-channel scales,
  fully connected (one rounding), add, power-of-two multipliers meeting RoundingDivideByPOT's negative ties, a
  channel shifting left and one not shifting right; once more with weights of -128 (which x86 takes);
- two MLPerf Tiny int8 models (ad01: fully connected; kws: convolution, depthwise, fully connected).
Timings live in benchmarks (edgeai bench), not here."""

from __future__ import annotations

import platform

import numpy as np
import pytest

from conftest import tflite
from edgeai.compile import compile_model
from edgeai.runtime.host import HostSession
from edgeai.runtime.reference import LiteRTSession
from edgeai.targets import native_isa
from edgeai.validate import random_inputs
from test_neon_kernels import _layers_model

pytestmark = [pytest.mark.slow, pytest.mark.toolchain,
              pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="needs an x86-64 host")]

PATHS = {"dispatch": (), "avx2": ("-DEDGEAI_X86_NO_VNNI",), "portable": ("-DEDGEAI_X86_PORTABLE",)}


def _bit_exact(compiled, model, flags, samples=3):
    reference = LiteRTSession(model)
    session = HostSession(compiled.path, extra_flags=flags)
    for inputs in random_inputs(reference.inputs, samples, seed=5):
        for got, want in zip(session.run(inputs), reference.run(inputs)):
            diff = np.abs(got.astype(int) - want.astype(int))
            assert diff.max() == 0, f"{model.name} {flags}: {np.count_nonzero(diff)}/{diff.size} differ"


def _x86_symbols(compiled):
    return {layer["op"]: {l["symbol"] for l in compiled.desc["layers"] if l["op"] == layer["op"]}
            for layer in compiled.desc["layers"]}


@pytest.fixture(scope="module")
def small_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("x86")
    return {"plain": _layers_model(folder / "x86_layers.tflite"),
            "minus_128": _layers_model(folder / "x86_minus_128.tflite", minus_128=True)}


def test_the_host_target_lists_x86_on_x86_64_only():
    assert native_isa("x86_64") == ("x86",) and native_isa("AMD64") == ("x86",)
    assert native_isa("aarch64") == () and native_isa("riscv64") == ()


@pytest.mark.parametrize("which, path", [("plain", "dispatch"), ("plain", "avx2"), ("plain", "portable"),
                                         ("minus_128", "dispatch")])
def test_small_layers_bit_exact_with_litert(small_models, which, path, tmp_cache):
    model = small_models[which]
    compiled = compile_model(model, "host")
    symbols = _x86_symbols(compiled)
    assert symbols["conv2d"] == symbols["fully_connected"] == {"edgeai_conv_s8_x86"}, symbols
    assert symbols["depthwise_conv2d"] == {"edgeai_dwconv_s8_x86"} and symbols["add"] == {"edgeai_add_s8_x86"}
    assert not [layer for layer in compiled.desc["layers"] if "generic_kernel" in layer]
    _bit_exact(compiled, model, PATHS[path])


@pytest.mark.parametrize("name, path", [("ad01_int8", "dispatch"), ("ad01_int8", "portable"),
                                        ("kws_ref_model", "dispatch")])
def test_mlperf_models_bit_exact_with_litert(name, path, tmp_cache):
    compiled = compile_model(tflite(name), "host")
    hand_written = [l for l in compiled.desc["layers"] if l["op"] in ("conv2d", "depthwise_conv2d", "fully_connected")]
    assert hand_written and all(l["symbol"].startswith("edgeai_") and l["symbol"].endswith("_s8_x86")
                                for l in hand_written)
    _bit_exact(compiled, tflite(name), PATHS[path], samples=2)
