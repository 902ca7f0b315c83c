"""The test suite runs every host library under UBSan (conftest.py): the switch must really instrument the build."""

from __future__ import annotations

import os
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
