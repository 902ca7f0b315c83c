"""Failures of the disk under us, told as what they are: no space left writing a named file, not an internal error."""

from __future__ import annotations

import errno
import signal
from contextlib import contextmanager
from pathlib import Path

from edgeai.errors import StorageError

# errno -> what the user is told; these mean the disk (or a limit on it), never a bug of ours.
NO_SPACE = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
            errno.EFBIG: "file size limit exceeded"}
# Writing where something is in the way or not allowed: said with the operating system's own words.
CANNOT_WRITE = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EEXIST, errno.EISDIR}
# What compilers and linkers print when a write of theirs hits one of NO_SPACE.
TOOL_NO_SPACE = ("No space left on device", "Disk quota exceeded", "File too large", "File size limit exceeded")


def storage_error(e: OSError, what: str | Path) -> StorageError | None:
    """The StorageError an OSError raised while writing `what` stands for, or None when it is no disk failure."""
    where = f"{what}" + (f" ({e.filename})" if e.filename and str(e.filename) not in str(what) else "")
    if e.errno in NO_SPACE:
        return StorageError(f"{NO_SPACE[e.errno]} writing {where}: free some space (or raise the limit) and rerun")
    if e.errno in CANNOT_WRITE:
        return StorageError(f"cannot write {where}: {e.strerror}")
    return None


@contextmanager
def writing(what: str | Path):
    """Run a block that writes `what`; a disk failure inside becomes a StorageError naming it."""
    try:
        yield
    except OSError as e:
        err = storage_error(e, what)
        if err is None:
            raise
        raise err from None


def tool_ran_out_of_space(output: str, what: str | Path, returncode: int = 1) -> None:
    """A compiler or linker that failed because the disk is full is a StorageError, not a toolchain problem."""
    if returncode == -signal.SIGXFSZ:  # killed for writing past RLIMIT_FSIZE (children do not ignore it)
        raise StorageError(f"file size limit exceeded writing {what}: free some space (or raise the limit) and rerun")
    for text in TOOL_NO_SPACE:
        if text in output:
            raise StorageError(f"{text[0].lower() + text[1:]} writing {what}: free some space (or raise the limit) "
                               f"and rerun")
