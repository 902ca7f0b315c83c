"""Shared test fixtures: where the MLPerf Tiny reference models are."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from edgeai import models_root

# Every compile in the tests verifies the graph after each pass (run_passes' debug mode), naming the pass that
# breaks it.
os.environ["EDGEAI_VERIFY_PASSES"] = "1"

# Every host library the tests run is built with UBSan: undefined behaviour in generated C is a failure, not a log.
# A subprocess (the CLI, a runner, a pytest-xdist worker) starts with UBSAN_OPTIONS and writes each report into
# UBSAN_LOG_DIR, which pytest_sessionfinish checks. A pytest that started without it (one process:
# EDGEAI_TEST_JOBS=0, or pytest run by hand) cannot give it to libubsan, which reads the environment the process
# started with (/proc/self/environ), not os.environ: a library loaded there through ctypes reports on fd 2, which
# pytest captures with the test's stderr, and pytest_runtest_makereport fails the test whose stderr holds one.
UBSAN_LOG_DIR = Path(tempfile.mkdtemp(prefix="edgeai-ubsan-"))
UBSAN_REPORT = ": runtime error: "  # how every UBSan report line reads
os.environ["EDGEAI_HOST_UBSAN"] = "1"
os.environ["UBSAN_OPTIONS"] = f"log_path={UBSAN_LOG_DIR}/report:print_stacktrace=1"

MODELS = models_root()  # models/ in the repository, or $EDGEAI_MODELS
INT8_TFLITE = ["kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8"]
FLOAT_TFLITE = ["kws_ref_model_float32", "vww_96_float", "pretrainedResnet", "ad01_fp32"]


def model_path(name: str) -> Path:
    """A reference model by file name; a missing model is a failure, never a skip."""
    for folder in ("mlperf_tiny", "mlperf_tiny_onnx"):
        path = MODELS / folder / name
        if path.is_file():
            return path
    raise FileNotFoundError(f"reference model {name} not found under {MODELS} (set EDGEAI_MODELS)")


def tflite(name: str) -> Path:
    return model_path(f"{name}.tflite")


@pytest.fixture(scope="session")
def tmp_cache(tmp_path_factory):
    """A private library cache for the session, so tests compile with the code under test. Under pytest-xdist
    the workers share one (the folder beside their own temporary folders): a model several test files compile
    is compiled once, and the cache publishes each entry by rename, so two workers racing for one entry are safe
    (tests/test_cache_integrity.py tests that race)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        path = tmp_path_factory.getbasetemp().parent / "edgeai-cache"
        path.mkdir(exist_ok=True)
    else:
        path = tmp_path_factory.mktemp("edgeai-cache")
    os.environ["EDGEAI_CACHE"] = str(path)
    return path


TOOLS = ("gcc", "cmake", "arm-none-eabi-gcc", "qemu-system-arm", "aarch64-linux-gnu-gcc", "qemu-aarch64-static")


def pytest_sessionstart(session):
    """In CI every toolchain must be there: a test skipped for a missing tool would hide a broken set-up."""
    import shutil

    if os.environ.get("CI"):
        missing = [t for t in TOOLS if shutil.which(t) is None]
        if missing:
            pytest.exit(f"CI machine lacks {', '.join(missing)}: scripts/setup.sh should have installed them",
                        returncode=3)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test that passed while a library in this process reported undefined behaviour (on the test's captured
    stderr) fails, with the report."""
    report = (yield).get_result()
    stderr = "".join(text for name, text in report.sections if name == f"Captured stderr {report.when}")
    if report.passed and UBSAN_REPORT in stderr:  # this phase's own stderr: a report fails one phase, once
        lines = [line for line in stderr.splitlines() if UBSAN_REPORT in line]
        report.outcome = "failed"
        report.longrepr = (f"Undefined behaviour in a library this test ran in-process ({len(lines)} UBSan "
                           f"report(s)):\n" + "\n".join(lines[:10]))


def pytest_sessionfinish(session, exitstatus):
    """Any UBSan report from a host library the tests ran fails the run, with the reports printed."""
    reports = sorted(UBSAN_LOG_DIR.glob("report*"))
    if reports:
        text = "\n".join(f"{p.name}:\n{p.read_text(errors='replace')[:4000]}" for p in reports[:5])
        print(f"\nUndefined behaviour in a host library ({len(reports)} UBSan report(s), {UBSAN_LOG_DIR}):\n{text}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        UBSAN_LOG_DIR.rmdir()
