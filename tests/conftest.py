"""Shared test fixtures: where the MLPerf Tiny reference models are."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from edgeai import models_root
from edgeai.errors import ToolchainError
from edgeai.runtime import asan

# Every compile in the tests verifies the graph after each pass (run_passes' debug mode), naming the pass that
# breaks it.
os.environ["EDGEAI_VERIFY_PASSES"] = "1"
# The labgrid tests leave a coordinator session (gRPC) in their worker; a later fork with preexec_fn (the
# disk-full tests) then aborted in gRPC's fork handler. edgeai.farm.coordinator sets this too, for its own users.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

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

# EDGEAI_HOST_ASAN=1 adds AddressSanitizer to that build (edgeai.runtime.asan). ASan's runtime must be the first
# library of the process, so pytest_xdist_setupnodes starts the workers with it preloaded; each worker then takes
# it out of its environment again, so no child (gcc, QEMU, ray) runs with a runtime it was not built for. An
# `edgeai` CLI child preloads it into itself the same way (edgeai.cli.main), so the libraries it runs are ASan
# libraries too. Every preloaded process logs its reports into ASAN_LOG_DIR (EDGEAI_ASAN_OPTIONS, which children
# keep). An ASan report ends the process: pytest-xdist fails the test a worker was running ("worker 'gw0' crashed
# while running ...") and pytest_sessionfinish prints the report. A one-process pytest (EDGEAI_TEST_JOBS=0) builds
# UBSan-only libraries (edgeai.runtime.host.sanitizer_flags), since an ASan library would not load there.
ASAN_LOG_DIR = Path(tempfile.mkdtemp(prefix="edgeai-asan-"))
if os.environ.get("PYTEST_XDIST_WORKER"):
    asan.restore_environment()


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


def pytest_report_header(config):
    if not os.environ.get("EDGEAI_HOST_ASAN"):
        return "host libraries: UBSan (EDGEAI_HOST_ASAN=1 adds ASan in pytest-xdist workers)"
    if getattr(config.option, "numprocesses", None):
        return "host libraries: ASan+UBSan in the pytest-xdist workers and their edgeai CLI children"
    return "host libraries: UBSan only: EDGEAI_HOST_ASAN needs pytest-xdist workers (-n), this run has none"


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: the workers are about to start
def pytest_xdist_setupnodes(config, specs):
    if not asan.requested() or asan.ENV_BEFORE in os.environ:
        return
    os.environ[asan.OPTIONS] = f"{asan.DEFAULT_OPTIONS}:log_path={ASAN_LOG_DIR}/report"
    try:
        os.environ.update(asan.preloaded_environment(dict(os.environ)))
    except ToolchainError as e:
        raise pytest.UsageError(str(e)) from None


def _head_and_summary(report: str) -> str:
    """A sanitizer report cut to its first 4000 characters, and ASan's one-line summary from its end."""
    summary = [line for line in report.splitlines() if line.startswith("SUMMARY: ")]
    return report[:4000] + ("\n...\n" + summary[-1] if summary and len(report) > 4000 else "")


def pytest_sessionfinish(session, exitstatus):
    """Any UBSan report from a host library the tests ran fails the run, with the reports printed."""
    for folder, what in ((UBSAN_LOG_DIR, "Undefined behaviour"), (ASAN_LOG_DIR, "A memory error")):
        reports = sorted(folder.glob("report*"))
        if reports:
            text = "\n".join(f"{p.name}:\n{_head_and_summary(p.read_text(errors='replace'))}" for p in reports[:5])
            print(f"\n{what} in a host library ({len(reports)} sanitizer report(s), {folder}):\n{text}")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        else:
            folder.rmdir()
