"""Child processes (compilers, build tools) that never outlive an interrupted edgeai.

Each child runs in its own process group, so the whole tree under it (cmake -> ninja -> gcc -> cc1) can be
killed at once; an interrupt (Ctrl-C, or SIGTERM once `exit_on_sigterm` is armed) kills that group before the
exception travels on, so the `finally`/`except` blocks above remove their temp folders and no cc1 is left
running under PID 1.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time

SIGTERM_EXIT = 128 + signal.SIGTERM  # the shell's convention: 143, distinct from every EdgeAIError code and 130


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: unwinds like Ctrl-C (cleanup runs) and ends the CLI with SIGTERM_EXIT."""


def _raise_terminated(signum, frame):
    raise Terminated()


def exit_on_sigterm():
    """Turn SIGTERM into the Terminated exception, so cleanup code runs; returns the handler it replaced
    (None off the main thread, where Python allows no handler and nothing changes)."""
    try:
        return signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:
        return None


def kill_group(proc: subprocess.Popen, grace: float = 3.0) -> None:
    """End the child's process group (it leads one: started with start_new_session) and reap the child.

    SIGTERM first, so gcc deletes its temp files in $TMPDIR and ninja its half-written outputs; SIGKILL
    for whatever is still there after `grace` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _group_alive(proc):
            time.sleep(0.02)
        if not _group_alive(proc):
            break
    proc.wait()


def _group_alive(proc: subprocess.Popen) -> bool:
    proc.poll()  # reap the leader once it exits, or it stays a member of the group as a zombie
    try:
        os.killpg(proc.pid, 0)
    except ProcessLookupError:
        return False
    return _has_live_member(proc.pid)


def _has_live_member(pgid: int) -> bool:
    """Whether a process other than a zombie is in the group (a zombie nobody reaps still counts for killpg)."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True  # no /proc: trust killpg
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run in a new process group; on any exception while it runs, the whole group is killed.

    The child's $TMPDIR is a folder of its own, removed when it ends: a gcc killed mid-link can leave its
    linker's resolution file (ccXXXXXX.res) behind, which its own SIGTERM handler does not always reach."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    scratch = tempfile.mkdtemp(prefix="edgeai-child-")
    env = kwargs.get("env")
    kwargs["env"] = {**(os.environ if env is None else env), "TMPDIR": scratch}
    try:
        proc = subprocess.Popen(cmd, start_new_session=True, **kwargs)
        try:
            out, err = proc.communicate()
        except BaseException:
            kill_group(proc)
            raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
