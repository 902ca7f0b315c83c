"""EDGEAI_HOST_ASAN=1 runs the host libraries the tests load in-process under ASan as well as UBSan (conftest.py
preloads the runtime into the pytest-xdist workers): a memory error in one must fail the run, naming the test."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

# A library folder as emit writes one, whose run writes input[0] bytes past the end of its 64-byte arena.
PROBE_C = """#include <stdint.h>
#include "edgeai_runtime.h"

int32_t probe_run(const void *input, void *output, void *arena) {
    const uint8_t *past = input;
    uint8_t *scratch = arena;
    for (int i = 0; i < 64 + past[0]; i++) scratch[i] = 1;
    *(uint8_t *)output = scratch[0];
    return 0;
}
"""
TENSOR = {"dtype": "int8", "shape": [1], "offset": 0, "nbytes": 1, "scale": 1.0, "zero_point": 0}
PROBE_JSON = {"prefix": "probe", "arena_size": 64, "arena_align": 16, "input_size": 1, "output_size": 1,
              "inputs": [dict(TENSOR, name="past")], "outputs": [dict(TENSOR, name="first")], "sources": ["probe.c"]}

PROBE_TESTS = """
import os
import subprocess

import numpy as np

from edgeai.runtime.host import HostSession, build_shared_library

LIB = {lib!r}


def test_the_worker_builds_host_libraries_with_asan():
    needed = subprocess.run(["readelf", "-d", str(build_shared_library(LIB))], capture_output=True, text=True).stdout
    assert "libasan" in needed and "libubsan" in needed, needed


def test_children_start_without_the_runtime():  # gcc, QEMU, the CLI: none of them is built for it
    env = subprocess.run(["env"], capture_output=True, text=True, check=True).stdout
    assert "libasan" not in env and "log_path=" not in os.environ.get("ASAN_OPTIONS", "")


def test_writes_within_its_arena():
    assert HostSession(LIB).run([np.array([0], np.int8)])[0][0] == 1


def test_writes_one_byte_past_its_arena():  # what a wrong offset in generated C does
    HostSession(LIB).run([np.array([1], np.int8)])
"""


@pytest.mark.toolchain
def test_out_of_bounds_write_in_process_fails_the_run(tmp_path):
    """A pytest of its own (this conftest, one xdist worker, EDGEAI_HOST_ASAN=1) runs, through HostSession, a
    library that writes one byte past its arena: the run fails, the test that did it is named, the report shown."""
    from edgeai import REPO_ROOT

    lib = tmp_path / "probe"
    lib.mkdir()
    (lib / "probe.c").write_text(PROBE_C)
    (lib / "model.json").write_text(json.dumps(PROBE_JSON))
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copy(REPO_ROOT / "tests" / "conftest.py", suite / "conftest.py")
    (suite / "test_probe.py").write_text(PROBE_TESTS.format(lib=str(lib)))
    env = dict(os.environ, EDGEAI_HOST_ASAN="1", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",  # xdist alone: starts faster
               PYTHONPATH=f"{REPO_ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "xdist", "-n", "1",
                           "-rf", str(suite)], cwd=suite, capture_output=True, text=True, env=env, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and re.search(r"^1 failed, 3 passed in ", proc.stdout, re.M), out[-3000:]
    assert re.search(r"crashed while running '\S*test_probe.py::test_writes_one_byte_past_its_arena'", out), \
        out[-3000:]
    assert re.search(r"ERROR: AddressSanitizer: heap-buffer-overflow .*\nWRITE of size 1 .*\n.* in probe_run ", out), \
        out[-3000:]
    assert "SUMMARY: AddressSanitizer: heap-buffer-overflow" in out, out[-3000:]


# A process that preloads the runtime into itself, as the `edgeai` CLI does (edgeai.cli.main), then runs the probe.
SELF_PRELOADING = """import subprocess
import sys

from edgeai.runtime import asan

if not asan.restore_environment():
    asan.reexec_preloaded(sys.argv)
import numpy as np

from edgeai.runtime.host import HostSession

child_env = subprocess.run(["env"], capture_output=True, text=True, check=True).stdout
print("child LD_PRELOAD:", "libasan" in child_env, flush=True)
HostSession(sys.argv[1]).run([np.array([int(sys.argv[2])], np.int8)])
print("ran", flush=True)
"""


def _probe_library(folder):
    folder.mkdir()
    (folder / "probe.c").write_text(PROBE_C)
    (folder / "model.json").write_text(json.dumps(PROBE_JSON))
    return folder


def _clean_env(**extra):
    from edgeai import REPO_ROOT

    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS", "EDGEAI_ASAN_OPTIONS", "EDGEAI_HOST_ASAN")}
    return dict(env, PYTHONPATH=f"{REPO_ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", **extra)


@pytest.mark.toolchain
def test_a_process_preloading_itself_runs_asan_libraries(tmp_path):
    """edgeai.runtime.asan.reexec_preloaded, which the CLI calls first: the process comes back with the runtime,
    builds an ASan library, and one byte past the arena ends it with the report; its own children start clean."""
    lib = _probe_library(tmp_path / "probe")
    script = tmp_path / "self_preloading.py"
    script.write_text(SELF_PRELOADING)
    env = _clean_env(EDGEAI_HOST_ASAN="1", EDGEAI_CACHE=str(tmp_path / "cache"))
    within = subprocess.run([sys.executable, str(script), str(lib), "0"], capture_output=True, text=True, env=env,
                            timeout=120)
    assert within.returncode == 0 and within.stdout.splitlines() == ["child LD_PRELOAD: False", "ran"], \
        within.stdout + within.stderr
    past = subprocess.run([sys.executable, str(script), str(lib), "1"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert past.returncode != 0 and "ran" not in past.stdout, past.stdout + past.stderr
    assert re.search(r"ERROR: AddressSanitizer: heap-buffer-overflow .*\nWRITE of size 1 .*\n.* in probe_run ",
                     past.stderr), past.stderr[-3000:]
    without = subprocess.run([sys.executable, str(script), str(lib), "1"], capture_output=True, text=True,
                             env=_clean_env(EDGEAI_CACHE=str(tmp_path / "cache")), timeout=120)
    assert without.returncode == 0 and "AddressSanitizer" not in without.stderr, without.stderr[-3000:]


@pytest.mark.toolchain
def test_the_cli_runs_asan_libraries(tmp_path):
    """`edgeai run --target host` under EDGEAI_HOST_ASAN=1 builds and runs an ASan+UBSan library, with the right
    result."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])])
    model = tmp_path / "relu.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), model)
    x = np.linspace(-2, 2, 8, dtype=np.float32).reshape(1, 8)
    np.save(tmp_path / "x.npy", x)
    cache = tmp_path / "cache"
    proc = subprocess.run([sys.executable, "-m", "edgeai.cli", "run", str(model), "--target", "host", "--input",
                           str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy")], capture_output=True,
                          text=True, env=_clean_env(EDGEAI_HOST_ASAN="1", EDGEAI_CACHE=str(cache)), timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert np.array_equal(np.load(tmp_path / "y.npy"), np.maximum(x, 0))
    libraries = sorted(cache.rglob("lib*.so"))
    assert libraries, sorted(map(str, cache.rglob("*")))
    for so in libraries:
        needed = subprocess.run(["readelf", "-d", str(so)], capture_output=True, text=True).stdout
        assert "libasan" in needed and "libubsan" in needed, (so, needed)
