"""Model importers. Only this package imports model-format libraries."""

from __future__ import annotations

from pathlib import Path

from edgeai.errors import ModelError
from edgeai.ir import Graph


def load(path: str | Path) -> Graph:
    """Read an ONNX or TFLite model into a verified Graph, choosing the frontend by content, not name."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    with open(path, "rb") as f:
        head = f.read(8)
    if head[4:8] == b"TFL3":
        from edgeai.frontends.tflite import load_tflite

        return load_tflite(path)
    if path.suffix.lower() == ".onnx" or head[:1] == b"\x08":
        from edgeai.frontends.onnx import load_onnx

        return load_onnx(path)
    raise ModelError(f"{path}: neither a TFLite file (no 'TFL3' at byte 4) nor an ONNX file")
