"""Deployment: every MLPerf Tiny int8 model runs as firmware on every Cortex-M target under QEMU (over the
serial protocol, with exact instruction counts) and on aarch64 under qemu-aarch64-static, bit-exact with
LiteRT's reference kernels."""

import numpy as np
import pytest

from conftest import INT8_TFLITE, tflite
from edgeai.compile import compile_model
from edgeai.emulator import counting_emulator
from edgeai.runtime.device import QemuSession, build_firmware
from edgeai.runtime.reference import LiteRTSession
from edgeai.validate import random_inputs

pytestmark = [pytest.mark.slow, pytest.mark.qemu]

TARGETS = ["cortex-m4", "cortex-m7", "cortex-m55", "rpi4", "rpi5"]
SAMPLES = 3


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", INT8_TFLITE)
def test_model_runs_bit_exact_on_target(name, target, tmp_cache):
    path = tflite(name)
    compiled = compile_model(path, target)
    elf = build_firmware(compiled.path, target)
    reference = LiteRTSession(path)
    counts = []
    with QemuSession(compiled.path, target, elf=elf) as session:
        for x in random_inputs(reference.inputs, SAMPLES, seed=21):
            got, want = session.run(x)[0], reference.run(x)[0]
            assert np.array_equal(got, want), f"{name} on {target}: max diff " \
                f"{np.abs(got.astype(int) - want.astype(int)).max()} LSB"
            counts.append(session.stats.instructions)
        if target.startswith("cortex-m") or counting_emulator(session.target) is not None:
            # The same input twice gives the same count: the measurement is deterministic.
            session.run(x)
            assert session.stats.instructions == counts[-1]
            assert min(counts) > 0
        else:
            assert counts == [None] * SAMPLES  # only qemu-aarch64-static here: it runs no plugin
