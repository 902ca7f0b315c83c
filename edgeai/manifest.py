"""Folders edgeai publishes whole (a cached library, a built program) and checks before every use.

Each such folder holds SHA256SUMS, the sha256 of every other file in it, written last before the rename that
publishes the folder. A folder whose files do not match it (a weight edited by hand, a .so cut short by a full
disk, a model.json garbled) is built again rather than used, so that it can never silently change a result or
crash the process that maps it."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Callable

MANIFEST = "SHA256SUMS"
_LINE = re.compile(r"([0-9a-f]{64})  (.+)")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(folder: Path, skip: tuple[str, ...]) -> list[str]:
    """Every file under `folder` (relative, '/'-separated) but the manifest and the top-level names in `skip`."""
    found = []
    for root, dirs, names in os.walk(folder):
        rel = Path(root).relative_to(folder)
        if rel == Path("."):
            dirs[:] = [d for d in dirs if d not in skip]
            names = [n for n in names if n not in skip and n != MANIFEST]
        found += [(rel / n).as_posix() for n in names]
    return sorted(found)


def write_manifest(folder: Path, skip: tuple[str, ...] = ()) -> None:
    """Record the sha256 of every file in `folder` (sha256sum's format: `sha256sum -c SHA256SUMS` checks it)."""
    lines = [f"{_file_sha256(folder / name)}  {name}\n" for name in _files(folder, skip)]
    (folder / MANIFEST).write_text("".join(lines))


def manifest_problem(folder: Path, skip: tuple[str, ...] = ()) -> str | None:
    """What is wrong with a published folder, or None when every file is there and matches SHA256SUMS."""
    if not folder.is_dir():
        return "not a folder"
    try:
        text = (folder / MANIFEST).read_text()
    except FileNotFoundError:
        return f"no {MANIFEST}"
    except (OSError, UnicodeDecodeError) as e:
        return f"{MANIFEST} unreadable ({e})"
    recorded = {}
    for line in text.splitlines():
        m = _LINE.fullmatch(line)
        if m is None:
            return f"{MANIFEST} garbled"
        recorded[m.group(2)] = m.group(1)
    present = _files(folder, skip)
    missing = sorted(set(recorded) - set(present))
    if missing:
        return f"{missing[0]} is missing"
    extra = sorted(set(present) - set(recorded))
    if extra:
        return f"{extra[0]} is not part of it"
    for name in present:
        try:
            if _file_sha256(folder / name) != recorded[name]:
                return f"{name} differs from the sha256 recorded when it was built"
        except OSError as e:
            return f"{name} unreadable ({e.strerror})"
    return None


def warn(message: str) -> None:
    print(f"edgeai: warning: {message}", file=sys.stderr)


def remove(path: Path) -> None:
    """Remove a file or a folder tree, whichever is there (nothing there is fine)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def install(tmp: Path, final: Path, skip: tuple[str, ...] = ()) -> bool:
    """Rename the finished folder `tmp` to `final`. A whole `final` published meanwhile by another process is kept
    (it is built from the same inputs; a process using it must not see it swapped); a damaged one is replaced.
    Returns whether `tmp` was the one installed (when not, the caller removes it)."""
    for _ in range(10):
        try:
            os.rename(tmp, final)  # onto nothing or an empty folder; never onto a folder with files
            return True
        except OSError as e:
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                raise
        if manifest_problem(final, skip) is None:
            return False
        aside = final.with_name(f".{final.name}.old{os.getpid()}.{uuid.uuid4().hex[:8]}")
        try:
            os.rename(final, aside)
        except FileNotFoundError:  # another process set it aside first
            continue
        remove(aside)
    raise OSError(errno.EBUSY, f"{final} keeps being replaced by other processes")


def sweep(final: Path) -> None:
    """Remove the temp and set-aside folders of `final` that processes now dead left behind."""
    pattern = re.compile(rf"\.{re.escape(final.name)}\.(tmp|old)(\d+)(\..*)?")
    if not final.parent.is_dir():
        return
    for path in final.parent.iterdir():
        m = pattern.fullmatch(path.name)
        if m is not None and not process_alive(int(m.group(2))):
            remove(path)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def built_folder(final: Path, make: Callable[[Path], None], what: str) -> Path:
    """`final` when it holds a whole, unaltered build; otherwise make(folder) builds it afresh in a folder of this
    process, which is then renamed into place: concurrent builders never share a folder, and nobody sees half."""
    if os.path.lexists(final):
        problem = manifest_problem(final)
        if problem is None:
            return final
        warn(f"{what} {final} is damaged ({problem}); building it again")
    sweep(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp{os.getpid()}.", dir=final.parent))
    try:
        make(tmp)
        write_manifest(tmp)
        install(tmp, final)
    finally:
        remove(tmp)  # gone already when it was installed
    return final
