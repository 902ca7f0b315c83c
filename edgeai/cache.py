"""Content-addressed cache of compiled libraries: the same model, target and compiler give the same key."""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from edgeai import REPO_ROOT


def cache_root() -> Path:
    return Path(os.environ.get("EDGEAI_CACHE") or Path.home() / ".cache" / "edgeai")


@lru_cache(maxsize=1)
def compiler_fingerprint() -> str:
    """A hash of every source that decides what the compiler emits, so a code change invalidates the cache."""
    digest = hashlib.sha256()
    for folder in ("edgeai", "compilers"):
        for path in sorted((REPO_ROOT / folder).rglob("*")):
            if path.suffix in (".py", ".c", ".h") and "__pycache__" not in path.parts:
                digest.update(path.relative_to(REPO_ROOT).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def library_key(model_path: Path, target: str, prefix: str, numerics: str | None = None,
                weights: str = "int8", layer_outputs: tuple[str, ...] = ()) -> str:
    """Everything the library is compiled from: the model file, the files an ONNX model keeps its tensors in
    (external data), the target, prefix, numerics, weight storage, the layers made outputs and the compiler's own
    sources."""
    from edgeai.frontends import external_data_files, read_model_bytes

    data = read_model_bytes(Path(model_path))
    digest = hashlib.sha256(data)
    for location, path in external_data_files(Path(model_path), data):
        digest.update(f"\0{location}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(f"\0{target}\0{prefix}\0{compiler_fingerprint()}".encode())
    if numerics:
        digest.update(f"\0{numerics}".encode())
    if weights != "int8":  # the default keeps the keys it had
        digest.update(f"\0weights={weights}".encode())
    for name in layer_outputs:  # a per-layer build (edgeai validate --per-layer): its own entry
        digest.update(f"\0layer={name}".encode())
    return digest.hexdigest()[:20]


def library_dir(model_path: Path, target: str, prefix: str, numerics: str | None = None,
                weights: str = "int8", layer_outputs: tuple[str, ...] = ()) -> Path:
    from edgeai.build import folder_name

    key = library_key(model_path, target, prefix, numerics, weights, layer_outputs)  # the model's file name is only a readable hint
    return cache_root() / "libraries" / f"{folder_name(Path(model_path).stem)}-{target}-{key}"
