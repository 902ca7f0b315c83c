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


@pytest.mark.parametrize("model, symbol, weights", [("kws_ref_model", "edgeai_dwconv_s8", "int16"),
                                                    ("pretrainedResnet_quant", "edgeai_conv_s8_w8", "int8")])
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
    assert "edgeai_conv_s8_w8_one_rounding" in symbols, symbols  # int8 weights, the default
    assert {"edgeai_dwconv_s8_w8_one_rounding", "edgeai_add_s8_one_rounding"} & symbols, symbols
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
    assert {"edgeai_dwconv_s8_w8_one_rounding", "edgeai_add_s8_one_rounding"} & {c.symbol for c in lowered.calls}
    out = tmp_path / "lib"
    out.mkdir()
    emit_library(graph, plan_memory(graph), lowered, "model", out, target="host", source=str(graph.source))
    portable, host = HostSession(out), HostSession(compile_model(graph, "host", tmp_path / "host").path)
    rng = np.random.default_rng(4)
    lo, hi = _input_range(ONNX_DIR / f"{model}.onnx")
    for _ in range(20):
        x = rng.uniform(lo, hi, size=host.inputs[0].shape).astype(np.float32)
        np.testing.assert_array_equal(portable.run([x])[0], host.run([x])[0])
