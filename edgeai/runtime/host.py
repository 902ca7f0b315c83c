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
from edgeai.manifest import built_folder
from edgeai.runtime.session import RunStats, TensorSpec, check_inputs
from edgeai.storage import tool_ran_out_of_space, writing

RUNTIME_DIR = REPO_ROOT / "compilers" / "c" / "runtime"
WARNINGS = ["-Wall", "-Wextra", "-Werror"]


def library_sources(lib_dir: Path, desc: dict) -> list[Path]:
    return [lib_dir / s for s in desc["sources"]] + [RUNTIME_DIR / "edgeai_runtime.c"]


def build_shared_library(lib_dir: Path, opt: str = "-O2", extra_flags: tuple[str, ...] = ()) -> Path:
    """Compile the library for this machine (warnings are errors) and return the .so; rebuilt when sources change
    or the .so is not the one built."""
    lib_dir = Path(lib_dir)
    desc = json.loads((lib_dir / "model.json").read_text())
    sources = library_sources(lib_dir, desc)
    # the warnings last: no extra flag (-Wno-error, -Wno-error=...) can let a warning in generated C pass
    flags = ["-std=c99", opt, "-fPIC", "-shared", *extra_flags, *WARNINGS, f"-I{lib_dir}", f"-I{RUNTIME_DIR}"]
    if os.environ.get("EDGEAI_HOST_UBSAN"):  # the test suite: every library it runs is checked for undefined behaviour
        flags += ["-fsanitize=undefined", "-fno-omit-frame-pointer"]
    digest = hashlib.sha256(" ".join(flags).encode())
    data = [lib_dir / f for f in desc.get("data_files", [])]  # the weights' bytes, when a source includes them
    for s in [*sources, *data, *sorted(lib_dir.glob("*.h")), *sorted(RUNTIME_DIR.glob("*.h"))]:
        digest.update(s.read_bytes())
    name = f"lib{desc['prefix']}_{digest.hexdigest()[:12]}.so"
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise ToolchainError("no C compiler found for the host build: install gcc (scripts/setup.sh does)")

    def compile_into(folder: Path) -> None:
        cmd = [cc, *flags, *map(str, sources), "-o", str(folder / name), "-lm"]
        proc = children.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            tool_ran_out_of_space(proc.stderr, folder / name, proc.returncode)
            raise ToolchainError(f"host build of {lib_dir} failed:\n{' '.join(cmd)}\n{proc.stderr[-4000:]}")

    # Its own folder, published whole and checked against its manifest before every load: a .so cut short
    # (a full disk, a copy interrupted) is built again, never mapped (it would die of SIGBUS in ctypes).
    folder = lib_dir / "build" / f"host-{digest.hexdigest()[:12]}"
    with writing(folder):
        return built_folder(folder, compile_into, "host build") / name


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
