"""Host session: the emitted C library built as a shared object for this machine and called through ctypes."""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np

from edgeai import REPO_ROOT, children
from edgeai.errors import RuntimeFailure, ToolchainError
from edgeai.runtime.session import RunStats, TensorSpec, check_inputs

RUNTIME_DIR = REPO_ROOT / "compilers" / "c" / "runtime"
WARNINGS = ["-Wall", "-Wextra", "-Werror"]


def library_sources(lib_dir: Path, desc: dict) -> list[Path]:
    return [lib_dir / s for s in desc["sources"]] + [RUNTIME_DIR / "edgeai_runtime.c"]


def build_shared_library(lib_dir: Path, opt: str = "-O2", extra_flags: tuple[str, ...] = ()) -> Path:
    """Compile the library for this machine (warnings are errors) and return the .so; rebuilt when sources change."""
    lib_dir = Path(lib_dir)
    desc = json.loads((lib_dir / "model.json").read_text())
    sources = library_sources(lib_dir, desc)
    # the warnings last: no extra flag (-Wno-error, -Wno-error=...) can let a warning in generated C pass
    flags = ["-std=c99", opt, "-fPIC", "-shared", *extra_flags, *WARNINGS, f"-I{lib_dir}", f"-I{RUNTIME_DIR}"]
    digest = hashlib.sha256(" ".join(flags).encode())
    for s in sources:
        digest.update(s.read_bytes())
    out = lib_dir / "build" / "host" / f"lib{desc['prefix']}_{digest.hexdigest()[:12]}.so"
    if out.exists():
        return out
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise ToolchainError("no C compiler found for the host build: install gcc (scripts/setup.sh does)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp{os.getpid()}")
    cmd = [cc, *flags, *map(str, sources), "-o", str(tmp), "-lm"]
    try:
        proc = children.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except BaseException:
        tmp.unlink(missing_ok=True)  # interrupted: the compiler is dead, its half-written output goes too
        raise
    if proc.returncode != 0:
        raise ToolchainError(f"host build of {lib_dir} failed:\n{' '.join(cmd)}\n{proc.stderr[-4000:]}")
    os.replace(tmp, out)  # a half-written .so never carries the final name
    return out


class HostSession:
    """Runs a compiled library in this process. One arena per session, allocated here, aligned as the header asks."""

    def __init__(self, lib_dir: str | Path, opt: str = "-O2", extra_flags: tuple[str, ...] = ()):
        self.lib_dir = Path(lib_dir)
        self.desc = json.loads((self.lib_dir / "model.json").read_text())
        self._lib = ctypes.CDLL(str(build_shared_library(self.lib_dir, opt, extra_flags)))
        self._run = getattr(self._lib, f"{self.desc['prefix']}_run")
        self._run.restype = ctypes.c_int32
        self._run.argtypes = [ctypes.c_void_p] * 3
        self._status = self._lib.edgeai_status_string
        self._status.restype = ctypes.c_char_p
        self.inputs = [self._spec(t) for t in self.desc["inputs"]]
        self.outputs = [self._spec(t) for t in self.desc["outputs"]]
        align = self.desc["arena_align"]
        raw = np.zeros(self.desc["arena_size"] + align, np.uint8)
        shift = (-raw.ctypes.data) % align
        self._arena = raw[shift: shift + max(self.desc["arena_size"], 1)]
        self._keep = raw
        self.stats = RunStats()

    @staticmethod
    def _spec(t) -> TensorSpec:
        return TensorSpec(t["name"], t["dtype"], tuple(t["shape"]), t["scale"], t["zero_point"])

    def run(self, inputs) -> list[np.ndarray]:
        arrays = check_inputs(self.inputs, inputs, str(self.lib_dir))
        blob = np.zeros(max(self.desc["input_size"], 1), np.uint8)
        for t, a in zip(self.desc["inputs"], arrays):
            blob[t["offset"]: t["offset"] + t["nbytes"]] = np.frombuffer(a.tobytes(), np.uint8)
        out = np.zeros(max(self.desc["output_size"], 1), np.uint8)
        start = time.perf_counter()
        status = self._run(blob.ctypes.data, out.ctypes.data, self._arena.ctypes.data)
        self.stats = RunStats(wall_seconds=time.perf_counter() - start)
        if status != 0:
            raise RuntimeFailure(f"{self.lib_dir}: {self.desc['prefix']}_run returned {status} "
                                 f"({self._status(status).decode()})")
        return [np.frombuffer(out[t["offset"]: t["offset"] + t["nbytes"]].tobytes(), t["dtype"]).reshape(t["shape"])
                for t in self.desc["outputs"]]
