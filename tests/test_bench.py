"""The benchmark harness: a real (small) suite run, its reports and the CI regression gate (Ray: test_ray_cluster)."""

import json

import numpy as np
import pytest

from edgeai.bench import load_suite, regressions, run_suite, write_reports
from edgeai.bench.gate import parse_percent
from edgeai.cli import main

pytestmark = [pytest.mark.toolchain, pytest.mark.qemu]


@pytest.fixture(scope="module")
def small_results(tmp_path_factory, tmp_cache):
    suite_file = tmp_path_factory.mktemp("suite") / "suite.json"
    suite_file.write_text(json.dumps({
        "name": "small", "samples": 2, "repeats": 3, "targets": ["host", "cortex-m4"],
        "models": [{"name": "ad", "tflite": "mlperf_tiny/ad01_int8.tflite", "onnx": "mlperf_tiny_onnx/ad01_int8.onnx"}],
    }))
    return run_suite(load_suite(suite_file), jobs=1, progress=False)


def _one(results, target, backend="edgeai"):
    return next(r for r in results["results"] if r["target"] == target and r["backend"] == backend)


def test_suite_measures_targets_and_host_side_by_side(small_results):
    m4 = _one(small_results, "cortex-m4")
    assert m4["status"] == "ok" and m4["instructions"] > 100_000 and m4["bit_exact"] == 2
    assert m4["flash_bytes"] > m4["model_weight_bytes"] > 260_000  # ad01's weights are in flash
    assert m4["estimate"]["estimate"] is True and m4["estimate"]["energy_mj"] > 0
    host = {r["backend"]: r for r in small_results["results"] if r["target"] == "host"}
    assert set(host) == {"edgeai", "litert", "onnxruntime"}
    assert all(r["wall_ms"] > 0 for r in host.values())
    assert host["litert"]["edgeai_speedup"] == pytest.approx(host["litert"]["wall_ms"] / host["edgeai"]["wall_ms"])


def test_reports_are_written_json_first(small_results, tmp_path):
    paths = write_reports(small_results, tmp_path)
    assert json.loads(paths["json"].read_text())["results"] == small_results["results"]
    md = paths["markdown"].read_text()
    assert "| ad | cortex-m4 |" in md and "| ad | litert |" in md
    page = paths["html"].read_text()
    assert page.count("<svg") == 5 and "Instructions per inference" in page


def test_gate_fails_on_a_deliberately_worse_result(small_results, tmp_path, capsys):
    worse = json.loads(json.dumps(small_results))
    _one(worse, "cortex-m4")["instructions"] = int(_one(worse, "cortex-m4")["instructions"] * 1.05)
    base, new = tmp_path / "base.json", tmp_path / "new.json"
    base.write_text(json.dumps(small_results))
    new.write_text(json.dumps(worse))
    assert main(["bench", "--results", str(new), "--baseline", str(base), "--max-regression", "2%"]) == 1
    assert "ad|cortex-m4|edgeai: instructions" in capsys.readouterr().err
    assert main(["bench", "--results", str(new), "--baseline", str(base), "--max-regression", "10%"]) == 0
    assert main(["bench", "--results", str(base), "--baseline", str(base)]) == 0


def test_gate_catches_memory_accuracy_and_missing_jobs(small_results):
    worse = json.loads(json.dumps(small_results))
    m4 = _one(worse, "cortex-m4")
    m4["arena_bytes"] += 1000
    m4["bit_exact"] -= 1
    problems = regressions(small_results, worse, 0.02)
    assert any("arena_bytes" in p for p in problems) and any("bit-exact 2/2 -> 1/2" in p for p in problems)
    worse["results"] = [r for r in worse["results"] if r["target"] != "host"]
    assert any("not measured now" in p for p in regressions(small_results, worse, 0.02))
    with pytest.raises(ValueError):
        parse_percent("-3%")


def test_per_layer_counts_add_up_to_the_inference(tmp_cache):
    from conftest import tflite
    from edgeai.bench.per_layer import per_layer_instructions
    from edgeai.compile import compile_model
    from edgeai.runtime.device import QemuSession

    lib = compile_model(tflite("ad01_int8"), "cortex-m4").path
    x = np.random.default_rng(4).integers(-128, 128, size=(1, 640), dtype=np.int8)
    rows = per_layer_instructions(lib, "cortex-m4", [x])
    assert [r["op"] for r in rows] == ["fully_connected"] * 10
    assert all(r["instructions"] > 0 and r["macs"] > 0 for r in rows)
    with QemuSession(lib, "cortex-m4") as session:
        session.run([x])
        whole = session.stats.instructions
    layers = sum(r["instructions"] for r in rows)
    # Each layer's region also counts its marker calls; the whole run adds its prologue and checks.
    assert abs(whole - layers) <= 10 * len(rows) + 200
