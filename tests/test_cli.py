"""The CLI as a user types it: targets, analyze, compile, run and validate on QEMU, demo."""

import json

import numpy as np
import pytest

from conftest import tflite
from edgeai.cli import main


def test_targets_lists_all_six(capsys):
    assert main(["targets"]) == 0
    out = capsys.readouterr().out
    for name in ("cortex-m4", "cortex-m7", "cortex-m55", "rpi4", "rpi5", "host"):
        assert name in out
    assert "qemu-system-arm -M mps2-an386" in out
    assert main(["targets", "--json"]) == 0
    assert {t["name"] for t in json.loads(capsys.readouterr().out)} >= {"cortex-m4", "rpi5"}


def test_analyze_prints_costs_and_fit(capsys):
    assert main(["analyze", str(tflite("vww_96_int8"))]) == 0
    out = capsys.readouterr().out
    assert "MACs         7,491,970" in out and "model RAM    82,960 bytes" in out
    assert "cortex-m7" in out and "fits" in out
    assert main(["analyze", str(tflite("ad01_int8")), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ops"] == {"fully_connected": 10} and data["arena_bytes"] == 272


@pytest.mark.toolchain
def test_compile_writes_and_builds_a_library(tmp_path, capsys, tmp_cache):
    out = tmp_path / "lib"
    assert main(["compile", str(tflite("ad01_int8")), "--target", "host", "-o", str(out), "--prefix", "ad",
                 "--build", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["library"] == str(out) and result["arena_bytes"] == 272
    assert (out / "ad_model.h").is_file() and result["built"].endswith(".so")


@pytest.mark.toolchain
def test_compile_numerics_chooses_the_arithmetic(capsys, tmp_cache):
    """kws_ref_model.onnx (tf2onnx from the int8 TFLite file) in the cache twice: --numerics tflite computes what
    LiteRT computes on the TFLite original, the default (ONNX numerics) what onnxruntime computes on the file as
    ONNX defines it (ORT_DISABLE_ALL: with its optimisations onnxruntime fuses the QDQ pairs into int8 kernels
    whose results depend on the CPU: an AVX2-only host's u8s8 multiply-add saturates, 7 LSB off here)."""
    from conftest import MODELS
    from edgeai.runtime.host import HostSession
    from edgeai.runtime.reference import LiteRTSession, OnnxRuntimeSession

    onnx_file = MODELS / "mlperf_tiny_onnx" / "kws_ref_model.onnx"
    folders = {}
    for numerics in ("tflite", None):
        assert main(["compile", str(onnx_file), "--json", *(["--numerics", numerics] if numerics else [])]) == 0
        folders[numerics] = json.loads(capsys.readouterr().out)["library"]
    assert folders["tflite"] != folders[None]  # the numerics are part of the cache key
    libs = {k: HostSession(v) for k, v in folders.items()}
    litert, ort = LiteRTSession(tflite("kws_ref_model")), OnnxRuntimeSession(onnx_file, optimize=False)
    rng = np.random.default_rng(8)
    for _ in range(5):
        x = rng.integers(-128, 128, size=(1, 49, 10, 1), dtype=np.int8)
        assert np.array_equal(libs["tflite"].run([x])[0], litert.run([x])[0].reshape(1, 12))
        got, want = libs[None].run([x])[0], ort.run([x])[0].reshape(1, 12)
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    with pytest.raises(SystemExit):
        main(["compile", str(onnx_file), "--numerics", "float"])


@pytest.mark.qemu
def test_run_and_validate_on_qemu(tmp_path, capsys, tmp_cache):
    x = np.random.default_rng(3).integers(-128, 128, size=(1, 640), dtype=np.int8)
    np.save(tmp_path / "x.npy", x)
    assert main(["run", str(tflite("ad01_int8")), "--target", "qemu:cortex-m4", "--input", str(tmp_path / "x.npy"),
                 "--output", str(tmp_path / "y.npy"), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["instructions"] > 0 and stats["estimate"]["estimate"] is True
    assert stats["memory"]["arena_bytes"] == 272 and stats["memory"]["flash_bytes"] > 270_000
    from edgeai.runtime.reference import LiteRTSession

    assert np.array_equal(np.load(tmp_path / "y.npy"), LiteRTSession(tflite("ad01_int8")).run([x])[0])
    assert main(["validate", str(tflite("ad01_int8")), "--target", "qemu:cortex-m55", "--count", "3",
                 "--require-exact", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and report["outputs"][0]["bit_exact"] == 3


def test_errors_exit_non_zero_without_traceback(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "missing.tflite")]) != 0
    err = capsys.readouterr().err
    assert "missing.tflite" in err and "Traceback" not in err


def test_tables_fit_a_terminal_and_lose_nothing_in_a_pipe(monkeypatch):
    """A person's terminal gets a table cut to its width; a pipe or file gets every character, whatever COLUMNS
    says (pytest-xdist and CI runners set COLUMNS=80 for output that is not a terminal)."""
    import io
    import sys

    from edgeai.table import format_table

    long_name = "model/" + "block_" * 40 + "conv"
    monkeypatch.setenv("COLUMNS", "80")
    assert long_name in format_table(["node", "MACs"], [[long_name, 1_000]])  # captured stdout: not a terminal

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdout", Terminal())
    shown = format_table(["node", "MACs"], [[long_name, 1_000]])
    assert long_name not in shown and "…" in shown and max(map(len, shown.splitlines())) <= 80
