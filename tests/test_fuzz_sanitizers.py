"""The generated C and the runtime shim under AddressSanitizer and UndefinedBehaviorSanitizer, on every int8
MLPerf Tiny model: built on the host as a standalone executable (tests/fuzz/sanitize_runner.c; ASan cannot be
loaded through ctypes), run on random inputs including the extremes, and compared bit for bit with LiteRT.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from conftest import INT8_TFLITE, tflite
from edgeai.compile import compile_model
from edgeai.runtime.host import RUNTIME_DIR, WARNINGS, library_sources
from edgeai.runtime.reference import LiteRTSession

pytestmark = [pytest.mark.slow, pytest.mark.toolchain,
              pytest.mark.skipif(not shutil.which("gcc"), reason="needs gcc")]

RUNNER = os.path.join(os.path.dirname(__file__), "fuzz", "sanitize_runner.c")
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]


def build_sanitized(lib_dir, out, extra=()):
    desc = json.loads((lib_dir / "model.json").read_text())
    defines = [f"-DRUN={desc['prefix']}_run", f"-DINPUT_SIZE={desc['input_size']}u",
               f"-DOUTPUT_SIZE={desc['output_size']}u", f"-DARENA_SIZE={desc['arena_size']}u",
               f"-DARENA_ALIGN={desc['arena_align']}u",
               f"-DOUTPUT_USED={max(t['offset'] + t['nbytes'] for t in desc['outputs'])}u"]
    cmd = ["gcc", "-std=c99", "-O1", "-g", *WARNINGS, *SANITIZE, *extra, *defines, f"-I{lib_dir}", f"-I{RUNTIME_DIR}",
           RUNNER, *map(str, library_sources(lib_dir, desc)), "-o", str(out), "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr[-4000:]}"
    return desc


def inputs_for(spec, count: int, rng) -> list[np.ndarray]:
    """Random inputs, plus the two extremes of the dtype (saturation paths)."""
    info = np.iinfo(spec.dtype)
    xs = [np.full(spec.shape, info.min, spec.dtype), np.full(spec.shape, info.max, spec.dtype)]
    xs += [rng.integers(info.min, info.max + 1, size=spec.shape, dtype=spec.dtype) for _ in range(count - 2)]
    return xs


def blob(desc, x: np.ndarray) -> bytes:
    """The input blob the C library takes: the tensor at its offset, padding to the blob's size."""
    data = bytearray(desc["input_size"])
    t = desc["inputs"][0]
    data[t["offset"]: t["offset"] + t["nbytes"]] = x.tobytes()
    return bytes(data)


def run(exe, desc, xs, folder) -> subprocess.CompletedProcess:
    (folder / "in.bin").write_bytes(b"".join(blob(desc, x) for x in xs))
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1",
               UBSAN_OPTIONS="print_stacktrace=1")
    return subprocess.run([str(exe), str(folder / "in.bin"), str(folder / "out.bin")], capture_output=True,
                          text=True, env=env, timeout=300)


@pytest.mark.parametrize("name", INT8_TFLITE)
def test_sanitized_build_is_clean_and_bit_exact(name, tmp_cache, tmp_path):
    lib = compile_model(tflite(name), "host").path
    exe = tmp_path / "runner"
    desc = build_sanitized(lib, exe)
    reference = LiteRTSession(tflite(name))
    assert len(reference.inputs) == 1 and len(reference.outputs) == 1
    xs = inputs_for(reference.inputs[0], 4, np.random.default_rng(8))
    proc = run(exe, desc, xs, tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == str(len(xs)), proc.stderr[-6000:]
    assert "runtime error" not in proc.stderr, proc.stderr[-6000:]  # UBSan, should recovery ever be allowed
    out = desc["outputs"][0]
    raw = (tmp_path / "out.bin").read_bytes()
    assert len(raw) == len(xs) * desc["output_size"]
    for i, x in enumerate(xs):
        start = i * desc["output_size"] + out["offset"]
        got = np.frombuffer(raw[start: start + out["nbytes"]], out["dtype"]).reshape(out["shape"])
        assert np.array_equal(got, reference.run([x])[0]), f"{name}: input {i} differs from LiteRT under the sanitizers"

