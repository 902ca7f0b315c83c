"""The instruction-counting QEMU plugin (targets/qemu/icount_plugin.c), built on demand.

The plugin is compiled with the host gcc into a cache directory
($EDGEAI_CACHE, else ~/.cache/edgeai) the first time it is needed and again
whenever one of its sources or headers is newer than the built library.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from edgeai import REPO_ROOT
from edgeai.errors import ToolchainError

PLUGIN_DIR = REPO_ROOT / "targets" / "qemu"
PLUGIN_SOURCE = PLUGIN_DIR / "icount_plugin.c"
PLUGIN_HEADER = PLUGIN_DIR / "qemu_plugin_api.h"
CLASSES_SOURCE = PLUGIN_DIR / "thumb_classes.c"  # the instruction classes of the class mode
BEATS_SOURCE = PLUGIN_DIR / "mve_beats.c"  # the class mode's Cortex-M55 MVE beat overlap
PLUGIN_INPUTS = (PLUGIN_SOURCE, PLUGIN_HEADER, CLASSES_SOURCE, PLUGIN_DIR / "thumb_classes.h", BEATS_SOURCE,
                 PLUGIN_DIR / "mve_beats.h")


def cache_dir() -> Path:
    """Where edgeai keeps built artefacts that outlive one run."""
    env = os.environ.get("EDGEAI_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "edgeai"


def plugin_path(cc: str | None = None) -> Path:
    """Path of the built plugin (.so), building it first if missing or stale."""
    out = cache_dir() / "qemu" / "edgeai_icount.so"
    newest_input = max(path.stat().st_mtime for path in PLUGIN_INPUTS)
    if out.is_file() and out.stat().st_mtime >= newest_input:
        return out
    compiler = cc or os.environ.get("CC") or "gcc"
    if shutil.which(compiler) is None:
        raise ToolchainError(
            f"cannot build the QEMU instruction-counting plugin: C compiler '{compiler}' not found; "
            "install gcc (Debian: apt-get install gcc) or set CC"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    # Build next to the destination, then rename: concurrent builders never see half a file.
    fd, tmp = tempfile.mkstemp(prefix=".icount-", suffix=".so", dir=out.parent)
    os.close(fd)
    cmd = [compiler, "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror",
           "-fvisibility=hidden", f"-I{PLUGIN_DIR}", "-o", tmp, str(PLUGIN_SOURCE), str(CLASSES_SOURCE),
           str(BEATS_SOURCE)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-20:])
            raise ToolchainError(
                f"building the QEMU plugin failed (exit {proc.returncode}):\n  {' '.join(cmd)}\n{tail}\n"
                "the plugin needs a host gcc with libc headers (Debian: apt-get install gcc libc6-dev)"
            )
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
