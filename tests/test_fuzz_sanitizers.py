"""The generated C and the runtime shim under AddressSanitizer and UndefinedBehaviorSanitizer (and -Wall -Wextra
-Werror), on every MLPerf Tiny model: built on the host as a standalone executable (tests/fuzz/sanitize_runner.c;
ASan cannot be loaded through ctypes) and run on random inputs including the extremes. The int8 TFLite models
are compared bit for bit with LiteRT; the float TFLite models and the QDQ ONNX files (ONNX numerics) bit for bit
with the same library's ordinary -O2 host build, which validate and the other tests hold against the references.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from conftest import FLOAT_TFLITE, INT8_TFLITE, model_path, tflite
from edgeai.compile import compile_model
from edgeai.runtime.host import RUNTIME_DIR, WARNINGS, HostSession, library_sources
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
    cmd = ["gcc", "-std=c99", "-O1", "-g", *SANITIZE, *extra, *WARNINGS, *defines, f"-I{lib_dir}", f"-I{RUNTIME_DIR}",
           RUNNER, *map(str, library_sources(lib_dir, desc)), "-o", str(out), "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr[-4000:]}"
    return desc


def inputs_for(spec, count: int, rng, float_range=(-1.0, 1.0)) -> list[np.ndarray]:
    """Random inputs, plus the two extremes of the dtype (saturation paths), or of the float range."""
    if spec.dtype == "float32":
        lo, hi = float_range
        xs = [np.full(spec.shape, lo, np.float32), np.full(spec.shape, hi, np.float32)]
        return xs + [rng.uniform(lo, hi, size=spec.shape).astype(np.float32) for _ in range(count - 2)]
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


def sanitized_outputs(lib, xs, tmp_path) -> tuple[dict, list[np.ndarray]]:
    """Build the library with the sanitizers, run it on xs, and return its outputs (the first output tensor)."""
    exe = tmp_path / "runner"
    desc = build_sanitized(lib, exe)
    proc = run(exe, desc, xs, tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == str(len(xs)), proc.stderr[-6000:]
    assert "runtime error" not in proc.stderr, proc.stderr[-6000:]  # UBSan, should recovery ever be allowed
    out = desc["outputs"][0]
    raw = (tmp_path / "out.bin").read_bytes()
    assert len(raw) == len(xs) * desc["output_size"]
    return desc, [np.frombuffer(raw[i * desc["output_size"] + out["offset"]:][: out["nbytes"]], out["dtype"])
                  .reshape(out["shape"]) for i in range(len(xs))]


@pytest.mark.parametrize("name", INT8_TFLITE)
def test_sanitized_build_is_clean_and_bit_exact(name, tmp_cache, tmp_path):
    lib = compile_model(tflite(name), "host").path
    reference = LiteRTSession(tflite(name))
    assert len(reference.inputs) == 1 and len(reference.outputs) == 1
    xs = inputs_for(reference.inputs[0], 4, np.random.default_rng(8))
    _, got = sanitized_outputs(lib, xs, tmp_path)
    for i, (x, y) in enumerate(zip(xs, got)):
        assert np.array_equal(y, reference.run([x])[0]), f"{name}: input {i} differs from LiteRT under the sanitizers"


QDQ_ONNX = ["kws_ref_model_float32_dequant_qdq", "vww_96_float_qdq", "pretrainedResnet_qdq", "ad01_fp32_qdq"]


@pytest.mark.parametrize("path", [f"{n}.tflite" for n in FLOAT_TFLITE] + [f"{n}.onnx" for n in QDQ_ONNX])
def test_sanitized_float_and_qdq_builds_are_clean(path, tmp_cache, tmp_path):
    """Float kernels (expf, the float softmax tail) and the ONNX-numerics int8 kernels under the sanitizers."""
    from edgeai.frontends import load
    from edgeai.passes import default_pipeline
    from edgeai.validate import plan_for

    source = model_path(path)
    lib = compile_model(source, "host").path
    host = HostSession(lib)
    assert len(host.inputs) == 1 and len(host.outputs) == 1
    if path.endswith(".onnx"):
        graph = default_pipeline(load(source))
        assert {n.attrs.get("numerics") for n in graph.nodes if graph.tensor(n.outputs[0]).dtype == "int8"
                and n.op != "quantize"} == {"onnx"}, f"{path}: not compiled with ONNX numerics"
        float_range = plan_for(graph, "onnxruntime").input_ranges[0]  # what the input quantize spans
    else:
        float_range = (-1.0, 1.0)
    xs = inputs_for(host.inputs[0], 4, np.random.default_rng(8), float_range)
    _, got = sanitized_outputs(lib, xs, tmp_path)
    for i, (x, y) in enumerate(zip(xs, got)):
        want = host.run([x])[0]
        assert np.isfinite(y).all() and np.array_equal(y, want), \
            f"{path}: input {i} differs from the -O2 host build under the sanitizers (max {np.abs(y - want).max()})"
