"""The external data files of an ONNX model (tensors stored beside the .onnx file), checked to stay inside the
model's folder. They are part of the model: the cache key hashes them, so changing one compiles anew."""

from __future__ import annotations

from pathlib import Path

from edgeai.errors import ModelError


def _tensors(graph):
    """Every TensorProto of a graph: initializers, sparse initializers, and tensors in node attributes (Constant
    values, subgraphs of If/Loop/Scan), recursively."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("g"):
                yield from _tensors(attr.g)
            for sub in attr.graphs:
                yield from _tensors(sub)


def external_data_files(path: Path, data: bytes) -> list[tuple[str, Path]]:
    """(location, resolved file) for each distinct external data location of the model in `data`, sorted. A
    location that is absolute, leaves the model's folder or names no file is a ModelError naming the tensor.
    Bytes that are no ONNX model give none: loading the model reports that."""
    import onnx
    from onnx.external_data_helper import ExternalDataInfo, uses_external_data

    try:
        model = onnx.load_model_from_string(data)
    except Exception:  # protobuf's DecodeError and friends; load_onnx names the problem
        return []
    base = path.parent.resolve()
    files: dict[str, Path] = {}
    for tensor in _tensors(model.graph):
        if not uses_external_data(tensor):
            continue
        location = ExternalDataInfo(tensor).location
        where = f"{path}: tensor {tensor.name!r} keeps its data in external file {location!r}"
        if not location or Path(location).is_absolute():
            raise ModelError(f"{where}: the location must be a file name relative to the model's folder")
        full = (base / location).resolve()
        if not full.is_relative_to(base):
            raise ModelError(f"{where}, outside the model's folder: refused")
        if not full.is_file():
            raise ModelError(f"{where}, which does not exist next to the model")
        files[location] = full
    return sorted(files.items())
