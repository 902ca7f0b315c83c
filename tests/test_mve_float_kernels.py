"""The Helium float kernels (MVE-F: compilers/c/kernels/mve/conv_f32_mve.c, dwconv_f32_mve.c) on Cortex-M55 under
QEMU (mps3-an547), within the float tests' tolerance of LiteRT's reference kernels, on the x86 float tests' small
model (tests/test_x86_float_kernels.py: SAME and VALID padding, strides 1 and 2, ReLU/ReLU6, channel counts not
multiples of 8 (5, 13, 17, 7, 33), depthwise 3x3/2 and 5x5, a fully connected layer of 70 outputs); and the same
lowering built with the host compiler (the portable C path). Instruction counts live in benchmarks/cortex_m4
(README, float models), not here."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from edgeai.compile import compile_model
from edgeai.runtime.reference import LiteRTSession
from edgeai.validate import random_inputs
from test_x86_float_kernels import FLOAT_OPS, _float_layers

MVE_FLOAT = {"conv2d": "edgeai_conv_f32_mve", "depthwise_conv2d": "edgeai_dwconv_f32_mve",
             "fully_connected": "edgeai_conv_f32_mve"}


def _close(got, want, what):
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        # the float tests' tolerance (tests/test_kernels.py): the sums differ in order only
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * float(np.abs(b).max()), err_msg=f"{what} output {i}")


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    return _float_layers(tmp_path_factory.mktemp("mvef") / "mve_float_layers.tflite")


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.toolchain
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="needs qemu-system-arm and arm-none-eabi-gcc")
def test_small_float_layers_on_m55_close_to_litert(small_model, tmp_cache):
    from edgeai.runtime.device import QemuSession

    compiled = compile_model(small_model, "cortex-m55")
    layers = [layer for layer in compiled.desc["layers"] if layer["op"] in FLOAT_OPS]
    assert len(layers) == 8 and all(layer["symbol"] == MVE_FLOAT[layer["op"]] for layer in layers), \
        {layer["name"]: layer["symbol"] for layer in layers}
    ref = LiteRTSession(small_model)
    with QemuSession(compiled.path, "cortex-m55") as session:
        for inputs in random_inputs(ref.inputs, 2, seed=5):
            _close(session.run(inputs), ref.run(inputs), "cortex-m55")


@pytest.mark.slow
@pytest.mark.toolchain
def test_portable_path_close_to_litert_on_host(small_model, tmp_path):
    """The cortex-m55 lowering built with the host compiler (no __ARM_FEATURE_MVE): the portable C path."""
    from compilers.c.emit import emit_library
    from compilers.lowering import lower_graph
    from edgeai.frontends import load
    from edgeai.memory import plan_memory
    from edgeai.passes import default_pipeline
    from edgeai.runtime.host import HostSession
    from edgeai.targets import load_target

    graph = default_pipeline(load(small_model))
    lowered = lower_graph(graph, load_target("cortex-m55"), "model")
    assert sum(c.symbol in MVE_FLOAT.values() for c in lowered.calls) == 8
    out = tmp_path / "lib"
    out.mkdir()
    emit_library(graph, plan_memory(graph), lowered, "model", out, target="host", source=str(graph.source))
    ref, host = LiteRTSession(small_model), HostSession(out)
    for inputs in random_inputs(ref.inputs, 2, seed=5):
        _close(host.run(inputs), ref.run(inputs), "host")
