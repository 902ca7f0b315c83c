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
