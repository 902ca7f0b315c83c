"""Model importers. Only this package imports model-format libraries."""

from __future__ import annotations

from pathlib import Path

from edgeai.errors import ModelError
from edgeai.ir import Graph


def load(path: str | Path) -> Graph:
    """Read an ONNX or TFLite model into a verified Graph, choosing the frontend by content, not name."""
    path = Path(path)
    head = read_model_bytes(path, 8)
    if head[4:8] == b"TFL3":
        from edgeai.frontends.tflite import load_tflite

        return load_tflite(path)
    if _is_onnx(path, head):
        from edgeai.frontends.onnx import load_onnx

        return load_onnx(path)
    raise ModelError(f"{path}: neither a TFLite file (no 'TFL3' at byte 4) nor an ONNX file")


def load_with_layouts(path: str | Path) -> tuple[Graph, dict[str, tuple[str, tuple[int, ...] | None]]]:
    """The graph, and where each activation of the model file is in it: {name in the file: (IR tensor, perm)},
    stored axis i of the IR tensor holding the file's axis perm[i] (None: the file's own order). TFLite tensors
    keep their names and layout; ONNX values are stored NHWC, and a Transpose only relabels (edgeai.frontends.onnx)."""
    path = Path(path)
    head = read_model_bytes(path, 8)
    if not _is_onnx(path, head):  # TFLite, or neither: load says which
        graph = load(path)
        return graph, {t.name: (t.name, None) for t in graph.activations()}
    from edgeai.frontends.onnx import load_onnx

    layouts: dict = {}
    graph = load_onnx(path, layouts)
    return graph, layouts


def read_model_bytes(path: Path, size: int = -1) -> bytes:
    """The model file's bytes (the first `size`); a missing file, or a folder, is a ModelError naming it."""
    if not path.is_file():
        raise ModelError(f"{path}: no such model file", file=str(path))
    try:
        with open(path, "rb") as f:
            return f.read(size)
    except OSError as e:
        raise ModelError(f"{path}: cannot read the model file ({e.strerror})", file=str(path)) from None


def _is_onnx(path: Path, head: bytes) -> bool:
    return head[4:8] != b"TFL3" and (path.suffix.lower() == ".onnx" or head[:1] == b"\x08")


def external_data_files(path: Path, data: bytes) -> list[tuple[str, Path]]:
    """(location, file) of every external data file an ONNX model's tensors name, resolved inside the model's
    folder; none for a TFLite file. `data` is the model file's bytes."""
    if not _is_onnx(path, data[:8]):
        return []
    from edgeai.frontends.onnx_external import external_data_files as onnx_files

    return onnx_files(path, data)
