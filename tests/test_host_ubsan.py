"""The test suite runs every host library under UBSan (conftest.py): the switch must really instrument the build."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from conftest import tflite


@pytest.mark.toolchain
def test_host_libraries_in_the_suite_are_built_with_ubsan(tmp_cache):
    from edgeai.compile import compile_model
    from edgeai.runtime.host import build_shared_library

    assert os.environ.get("EDGEAI_HOST_UBSAN") == "1" and "log_path=" in os.environ.get("UBSAN_OPTIONS", "")
    so = build_shared_library(compile_model(tflite("ad01_int8"), "host").path)
    needed = subprocess.run(["readelf", "-d", str(so)], capture_output=True, text=True, check=True).stdout
    assert "libubsan" in needed, needed  # instrumented: a UB report would land in the session's log folder


UB_PROBE = """
import ctypes

def test_shifts_past_the_width(capsys):  # a test reading its own output: the report is on fd 2 all the same
    ctypes.CDLL({so!r}).shift(1, 40)
    capsys.readouterr()

def test_shifts_within_the_width():
    assert ctypes.CDLL({so!r}).shift(1, 3) == 8
"""


@pytest.mark.toolchain
def test_undefined_behaviour_in_process_fails_the_test(tmp_path):
    """In a pytest started without UBSAN_OPTIONS (one process, EDGEAI_TEST_JOBS=0 or by hand), a library loaded
    through ctypes reports on fd 2 whatever conftest sets (libubsan reads the environment the process started
    with): the test that ran it must fail all the same. A pytest of its own, so started, with this conftest."""
    import shutil
    import sys

    from edgeai import REPO_ROOT

    (tmp_path / "shift.c").write_text("int shift(int x, int n) { return x << n; }\n")
    so = tmp_path / "libshift.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-fsanitize=undefined", str(tmp_path / "shift.c"), "-o", str(so)],
                   check=True)
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copy(REPO_ROOT / "tests" / "conftest.py", suite / "conftest.py")
    (suite / "test_probe.py").write_text(UB_PROBE.format(so=str(so)))
    env = {k: v for k, v in os.environ.items() if k not in ("UBSAN_OPTIONS", "EDGEAI_HOST_UBSAN")}
    env["PYTHONPATH"] = f"{REPO_ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", str(suite)],
                          cwd=suite, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1 and re.search(r"^1 failed, 1 passed in ", proc.stdout, re.M), proc.stdout[-3000:]
    assert "FAILED test_probe.py::test_shifts_past_the_width" in proc.stdout, proc.stdout[-3000:]
    assert "shift exponent 40 is too large" in proc.stdout, proc.stdout[-3000:]
