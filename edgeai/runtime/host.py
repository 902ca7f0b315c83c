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


def asan_runtime_loaded() -> bool:
    """Whether AddressSanitizer's runtime is in this process (preloaded: it must come before every other library, so
    it cannot be loaded later through ctypes)."""
    return hasattr(ctypes.CDLL(None), "__asan_init")


def sanitizer_flags() -> list[str]:
    """The checks built into the libraries this process runs: UBSan when EDGEAI_HOST_UBSAN is set (the test suite
    sets it); ASan as well when EDGEAI_HOST_ASAN is set and this process can load an ASan library (its runtime was
    preloaded: edgeai.runtime.asan, which the `edgeai` CLI and the test suite's pytest-xdist workers do). Anywhere
    else (Python calling edgeai, a pytest of one process) the library stays UBSan-only, because an ASan library
    would abort the load."""
    checks = []
    if os.environ.get("EDGEAI_HOST_ASAN") and asan_runtime_loaded():
        checks.append("address")
    if os.environ.get("EDGEAI_HOST_UBSAN") or checks:
        checks.append("undefined")
    return [f"-fsanitize={','.join(checks)}", "-fno-omit-frame-pointer"] if checks else []


def build_shared_library(lib_dir: Path, opt: str = "-O2", extra_flags: tuple[str, ...] = ()) -> Path:
    """Compile the library for this machine (warnings are errors) and return the .so; rebuilt when sources change
    or the .so is not the one built."""
    lib_dir = Path(lib_dir)
    desc = json.loads((lib_dir / "model.json").read_text())
    sources = library_sources(lib_dir, desc)
    # the warnings last: no extra flag (-Wno-error, -Wno-error=...) can let a warning in generated C pass
    flags = ["-std=c99", opt, "-fPIC", "-shared", *extra_flags, *WARNINGS, f"-I{lib_dir}", f"-I{RUNTIME_DIR}"]
    flags += sanitizer_flags()
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


def aligned_zeros(size: int, align: int) -> np.ndarray:
    """`size` zero bytes at an address that is a multiple of `align`: a block of exactly that size when the
    allocator's already is (malloc aligns to 16, the arena's usual alignment), so under ASan a write past its end
    lands in the red zone after the block, not in padding; a padded block otherwise."""
    block = np.zeros(size, np.uint8)
    if block.ctypes.data % align == 0:
        return block
    padded = np.zeros(size + align, np.uint8)
    shift = (-padded.ctypes.data) % align
    return padded[shift: shift + size]  # a view: keeps the padded block alive


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
        self._arena = aligned_zeros(max(self.desc["arena_size"], 1), self.desc["arena_align"])
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
