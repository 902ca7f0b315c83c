"""Content-addressed cache of compiled libraries: the same model, target and compiler give the same key."""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from edgeai import REPO_ROOT
from edgeai.errors import ModelError


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


def library_key(model_path: Path, target: str, prefix: str, numerics: str | None = None) -> str:
    try:
        digest = hashlib.sha256(Path(model_path).read_bytes())
    except OSError as e:  # a missing file, a folder, no permission: the user's mistake, named, not a crash
        raise ModelError(f"{model_path}: cannot read the model file ({e.strerror})", file=str(model_path)) from None
    digest.update(f"\0{target}\0{prefix}\0{compiler_fingerprint()}".encode())
    if numerics:
        digest.update(f"\0{numerics}".encode())
    return digest.hexdigest()[:20]


def library_dir(model_path: Path, target: str, prefix: str, numerics: str | None = None) -> Path:
    key = library_key(model_path, target, prefix, numerics)
    return cache_root() / "libraries" / f"{Path(model_path).stem}-{target}-{key}"
