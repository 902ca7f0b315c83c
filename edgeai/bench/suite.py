"""A benchmark suite: models × targets, read from a JSON file. Model paths are relative to the models root."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from edgeai import models_root
from edgeai.errors import EdgeAIError




@dataclass(frozen=True)
class BenchModel:
    name: str
    tflite: Path | None
    onnx: Path | None  # the same network as ONNX, for onnxruntime side by side on the host


@dataclass(frozen=True)
class Suite:
    name: str
    models: tuple[BenchModel, ...]
    targets: tuple[str, ...]
    samples: int = 5  # inputs compared with the reference per job
    repeats: int = 30  # timed runs per host backend (the median is reported)
    host_backends: tuple[str, ...] = ("edgeai", "litert", "onnxruntime")
    # Boards: {"port" (PORT[@BAUD]), "target", "library"?, "baudrate"?, "timeout"?, "power"?, "repeat"?} or
    # {"labgrid": place}
    boards: tuple[dict, ...] = ()
    peers: bool = True  # count LiteRT and onnxruntime next to edgeai on aarch64 targets (edgeai.bench.peers)
    source: Path | None = field(default=None, compare=False)


def load_suite(path: str | Path) -> Suite:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise EdgeAIError(f"{path}: cannot read suite: {e}") from None
    root = models_root()

    def model_file(entry, key):
        if key not in entry:
            return None
        file = (root / entry[key]) if not Path(entry[key]).is_absolute() else Path(entry[key])
        if not file.is_file():
            raise EdgeAIError(f"{path}: model {entry.get('name')!r}: {key} file {file} not found (models root {root}, "
                              f"set EDGEAI_MODELS)")
        return file

    try:
        models = tuple(BenchModel(m["name"], model_file(m, "tflite"), model_file(m, "onnx")) for m in data["models"])
        boards = tuple(data.get("boards", ()))
        for b in boards:
            if "labgrid" not in b and ("port" not in b or "target" not in b):
                raise EdgeAIError(f"{path}: each board needs a port and the target its firmware was built for, "
                                  f"or a labgrid place (\"labgrid\": \"ENV.yaml[:ROLE]\")")
        return Suite(data.get("name", path.stem), models, tuple(data.get("targets", ())), int(data.get("samples", 5)),
                     int(data.get("repeats", 30)), tuple(data.get("host_backends", Suite.host_backends)), boards,
                     bool(data.get("peers", True)), path)
    except KeyError as e:
        raise EdgeAIError(f"{path}: suite lacks field {e}") from None
