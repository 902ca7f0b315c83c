"""The reference models ship in the repository (models/), so a clone anywhere runs the tests, benchmarks and
demo; EDGEAI_MODELS has one meaning everywhere (a folder holding mlperf_tiny/ and mlperf_tiny_onnx/)."""

from __future__ import annotations

import hashlib
import re

from edgeai import REPO_ROOT, models_root
from edgeai.bench import load_suite
from edgeai.demo import DEMO_MODEL


def test_default_models_folder_is_the_repositorys(monkeypatch):
    monkeypatch.delenv("EDGEAI_MODELS", raising=False)
    assert models_root() == REPO_ROOT / "models"
    suite = load_suite(REPO_ROOT / "benchmarks" / "mlperf_tiny" / "suite.json")
    files = [f for m in suite.models for f in (m.tflite, m.onnx) if f is not None]
    assert files and all(f.is_relative_to(REPO_ROOT / "models") and f.is_file() for f in files)
    assert DEMO_MODEL.is_relative_to(REPO_ROOT / "models") and DEMO_MODEL.is_file()


def test_override_has_the_same_layout(monkeypatch, tmp_path):
    (tmp_path / "mlperf_tiny").mkdir()
    (tmp_path / "mlperf_tiny" / "ad01_int8.tflite").write_bytes((REPO_ROOT / "models/mlperf_tiny/ad01_int8.tflite")
                                                                .read_bytes())
    monkeypatch.setenv("EDGEAI_MODELS", str(tmp_path))
    assert models_root() == tmp_path
    import json

    suite_file = tmp_path / "suite.json"
    suite = {"name": "s", "models": [{"name": "ad", "tflite": "mlperf_tiny/ad01_int8.tflite"}]}
    suite_file.write_text(json.dumps(suite))
    assert load_suite(suite_file).models[0].tflite == tmp_path / "mlperf_tiny" / "ad01_int8.tflite"


def test_shipped_models_match_their_documented_provenance():
    readme = (REPO_ROOT / "models" / "README.md").read_text()
    assert "Apache-2.0" in readme and "1afd2c9820f795965a6134facd0b4dfae41ef23f" in readme
    assert (REPO_ROOT / "models" / "LICENSE").read_text().lstrip().startswith("Apache License")
    listed = dict((name, digest) for digest, name in re.findall(r"([0-9a-f]{64})  (mlperf_tiny/\S+)", readme))
    shipped = sorted(p.relative_to(REPO_ROOT / "models").as_posix()
                     for p in (REPO_ROOT / "models" / "mlperf_tiny").glob("*.tflite"))
    assert sorted(listed) == shipped
    for name, digest in listed.items():
        assert hashlib.sha256((REPO_ROOT / "models" / name).read_bytes()).hexdigest() == digest, name


def test_no_machine_paths_in_code_or_tests():
    offenders = []
    for folder in ("edgeai", "compilers", "tests", "benchmarks", "examples"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            if path.name == "test_models_folder.py":
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if "/work/" in line or "shared/models" in line or '"shared"' in line:
                    offenders.append(f"{path.relative_to(REPO_ROOT)}:{n}: {line.strip()}")
    assert offenders == []


def test_no_machine_paths_in_the_documentation():
    """A newcomer's clone has no folder beside it: the READMEs point only into the repository."""
    offenders = []
    for path in sorted(REPO_ROOT.rglob("*.md")):
        if ".venv" in path.parts or "node_modules" in path.parts:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if "/work/" in line or "shared/ANCHORS" in line:
                offenders.append(f"{path.relative_to(REPO_ROOT)}:{n}: {line.strip()}")
    assert offenders == []
