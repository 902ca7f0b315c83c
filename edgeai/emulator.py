"""Run built programs: Cortex-M firmware in qemu-system-arm, aarch64 Linux programs in
qemu-aarch64-static (or the dynamic qemu-aarch64 when counting), host programs directly.

The instruction-counting plugin (edgeai.qemu_plugin) counts the instructions
between edgeai_mark_begin() and edgeai_mark_end(); each counted region is one
line of a file that `RunResult.instructions` and
`EmulatorProcess.instruction_counts()` read. On aarch64 Linux targets it runs
in Debian's dynamic qemu-aarch64 (package qemu-user: the static build rejects
plugins), on the target's CPU (-cpu), when that emulator is installed. With
count_classes the plugin also counts each region's Cortex-M instructions by
class (`RunResult.classes`, `EmulatorProcess.instruction_classes()`;
edgeai.cycles turns them into a cycle estimate). The firmware leaves QEMU
through semihosting, so QEMU's exit status is the program's.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence, Union

from edgeai.errors import RuntimeFailure, TargetError, ToolchainError
from edgeai.qemu_plugin import plugin_path
from edgeai.targets import Target, load_target

# Exit status of a firmware that took a fault (targets/common/edgeai_startup.h).
EXIT_FAULT = 3
MARK_BEGIN = "edgeai_mark_begin"
MARK_END = "edgeai_mark_end"

Serial = Union[str, tuple]  # "stdio", "pipe" or ("tcp", port); port 0/None: pick a free one


@dataclass
class RunResult:
    program: Path
    command: list[str]
    returncode: int  # the program's exit status (negative: killed by that signal)
    stdout: bytes  # what the program printed (the UART on Cortex-M)
    stderr: bytes  # the emulator's own messages
    instructions: list[int] = field(default_factory=list)  # one count per marked region
    wall_time: float = 0.0  # seconds
    classes: list[dict] = field(default_factory=list)  # per marked region, with count_classes: class -> count

    @property
    def text(self) -> str:
        return self.stdout.decode(errors="replace").replace("\r\n", "\n")

    def check(self) -> "RunResult":
        """Raise RuntimeFailure unless the program exited with status 0."""
        if self.returncode != 0:
            what = "took a fault" if self.returncode == EXIT_FAULT else f"exited with status {self.returncode}"
            raise RuntimeFailure(f"{self.program.name} {what}; last output:\n{_tail(self.stdout, self.stderr)}")
        return self


def _tail(stdout: bytes, stderr: bytes = b"", lines: int = 15) -> str:
    text = (stdout + stderr).decode(errors="replace").replace("\r\n", "\n").strip()
    return "\n".join(text.splitlines()[-lines:]) or "(nothing)"


def _need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ToolchainError(f"'{tool}' not found; install it (Debian: apt-get install {package})")
    return path


def marker_addresses(target: Target, elf: Path) -> tuple[int, int] | None:
    """Entry addresses of edgeai_mark_begin/end in an ELF (Thumb bit cleared), or None."""
    binutils = "binutils-arm-none-eabi" if target.is_cortex_m else "binutils-aarch64-linux-gnu"
    nm = _need(target.cc[: -len("gcc")] + "nm" if target.cc.endswith("gcc") else "nm", binutils)
    proc = subprocess.run([nm, str(elf)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolchainError(f"{nm} {elf} failed: {proc.stderr.strip()}")
    found: dict[str, int] = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] in (MARK_BEGIN, MARK_END):
            found[parts[2]] = int(parts[0], 16) & ~1
    if MARK_BEGIN in found and MARK_END in found:
        return found[MARK_BEGIN], found[MARK_END]
    return None


def _region_lines(path: Path, kind: str) -> list[list[str]]:
    """The words of each complete `region <n> <kind> ...` line of a plugin output file (a partly written last
    line is skipped)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    lines = (line.split() for line in text.splitlines(keepends=True) if line.endswith("\n"))
    return [parts for parts in lines if len(parts) > 3 and parts[0] == "region" and parts[2] == kind]


def read_counts(path: Path) -> list[int]:
    """Region counts from a plugin output file."""
    return [int(parts[3]) for parts in _region_lines(path, "instructions") if len(parts) == 4]


def read_classes(path: Path) -> list[dict]:
    """Per-region class counts from a plugin output file in class mode, in region order. A region's classes line
    precedes its instructions line, so a region whose instructions line is complete has its classes here."""
    return [{name: int(value) for name, value in (word.split("=", 1) for word in parts[3:])}
            for parts in _region_lines(path, "classes")]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    """Whether some process listens on 127.0.0.1:port (Linux /proc; no connection is made)."""
    want = f":{port:04X}"
    try:
        with open("/proc/net/tcp") as table:
            for row in table.readlines()[1:]:
                cols = row.split()
                if cols[1].endswith(want) and cols[3] == "0A":
                    return True
    except OSError:
        return False
    return False


def _command(target: Target, elf: Path, count_file: Path | None, serial: str, port: int | None,
             extra_args: Sequence[str], icount_shift: int | None, wait_for_client: bool = False,
             count_classes: bool = False) -> list[str]:
    if target.is_cortex_m:
        q = target.qemu
        qemu = _need(q["system"], "qemu-system-arm")
        cmd = [qemu, "-M", q["machine"], "-cpu", q["cpu"], "-display", "none", "-monitor", "none",
               "-semihosting-config", "enable=on,target=native"]
        if serial == "stdio":
            cmd += ["-serial", "stdio"]
        elif serial == "pipe":  # the link is the semihosting console on QEMU's stdin/stdout
            cmd += ["-serial", "null"]
        else:
            # nodelay: without it Nagle holds each byte QEMU sends until the host's delayed ACK, 40 ms a reply.
            wait = "on" if wait_for_client else "off"
            cmd += ["-serial", f"tcp:127.0.0.1:{port},server=on,wait={wait},nodelay=on"]
        if icount_shift is not None:
            cmd += ["-icount", f"shift={icount_shift},align=off,sleep=off"]
        if count_file is not None:
            marks = marker_addresses(target, elf)
            if marks is not None:
                mode = ",classes=on" if count_classes else ""
                cmd += ["-plugin", f"{plugin_path()},begin={marks[0]:#x},end={marks[1]:#x},out={count_file}{mode}"]
        return cmd + list(extra_args) + ["-kernel", str(elf)]
    if serial != "stdio":
        raise TargetError(f"target {target.name}: a serial port over TCP exists only for Cortex-M targets")
    if target.qemu is not None:
        return user_mode_command(target, elf, count_file, extra_args)
    return [str(elf), *extra_args]


def counting_emulator(target: Target) -> str | None:
    """The plugin-capable user-mode QEMU of an aarch64 Linux target, or None when it is not installed."""
    q = target.qemu or {}
    return shutil.which(q["counting_user"]) if q.get("counting_user") else None


def user_mode_command(target: Target, program: Path, count_file: Path | None = None, extra_args: Sequence[str] = (),
                      prefix: Path | None = None, require_count: bool = False,
                      program_args: Sequence[str] = (), marked_thread_only: bool = False) -> list[str]:
    """The qemu-user command line of an aarch64 Linux program. With `count_file` and the dynamic qemu-aarch64
    installed, the plugin counts the instructions between the program's markers, on the target's CPU (the CPU
    decides which kernels a runtime picks); without it the program just runs (require_count: refuse instead).
    `extra_args` go to QEMU, `program_args` to the program; `prefix` is qemu's -L folder: the guest's / for a
    dynamically linked program. `marked_thread_only`: count only the thread that called the begin marker (a
    runtime's idle helper threads would add noise)."""
    q = target.qemu
    counting = counting_emulator(target) if count_file is not None else None
    if counting is None:
        if require_count:
            raise ToolchainError(f"counting instructions on {target.name} needs the dynamic '{q.get('counting_user')}'"
                                 f" (the static build rejects plugins); install it (Debian: apt-get install qemu-user)")
        cmd = [_need(q["user"], "qemu-user-static")]
    else:
        cmd = [counting, "-cpu", q.get("cpu", target.cpu)]
        marks = marker_addresses(target, program)
        if marks is not None:
            only = ",thread=marked" if marked_thread_only else ""
            cmd += ["-plugin", f"{plugin_path()},begin={marks[0]:#x},end={marks[1]:#x},out={count_file}{only}"]
        elif require_count:
            raise ToolchainError(f"{program} has no edgeai_mark_begin/edgeai_mark_end to count between")
    if prefix is not None:
        cmd += ["-L", str(prefix)]
    return cmd + list(extra_args) + [str(program), *program_args]


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_program(target: Target | str, elf: Path | str, timeout: float = 60.0, count_instructions: bool = True,
                serial: Serial = "stdio", extra_args: Sequence[str] = (), *,
                icount_shift: int | None = None, count_classes: bool = False) -> RunResult:
    """Run a program to completion and collect its output, exit status and instruction counts.

    Instruction counts come from Cortex-M targets and, when the dynamic
    qemu-aarch64 is installed, aarch64 Linux targets (else the list is empty). `icount_shift`
    runs QEMU with `-icount shift=N` (virtual time = 2**N ns per instruction)
    for the SysTick fallback. `count_classes` also counts the instructions by class
    (`RunResult.classes`). A program still running after `timeout` seconds
    is killed with its process group and RuntimeFailure is raised.
    """
    if serial != "stdio":
        raise TargetError("run_program talks to the program over stdio; use start_program for a TCP serial port")
    target = load_target(target)
    elf = Path(elf).resolve()
    if not elf.is_file():
        raise RuntimeFailure(f"program {elf} does not exist (build it first)")
    with tempfile.TemporaryDirectory(prefix="edgeai-run-") as tmp:
        count_file = Path(tmp) / "regions.txt" if count_instructions and not target.is_host else None
        cmd = _command(target, elf, count_file, "stdio", None, extra_args, icount_shift,
                       count_classes=count_classes)
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, err = proc.communicate()
            raise RuntimeFailure(f"{elf.name} on {target.name} did not finish within {timeout:g} s "
                                 f"(killed); last output:\n{_tail(out, err)}") from None
        except BaseException:
            _kill_group(proc)
            proc.wait()
            raise
        wall = time.monotonic() - start
        counts = read_counts(count_file) if count_file is not None else []
        classes = read_classes(count_file) if count_file is not None and count_classes else []
    return RunResult(elf, cmd, proc.returncode, out, err, counts, wall, classes)


class EmulatorProcess:
    """A Cortex-M firmware running in QEMU with UART0 on a TCP server socket.

    Connect a serial client to `url` (pyserial: serial.serial_for_url(proc.url)).
    QEMU's own stdout/stderr go to a log file (`log()`); `instruction_counts()`
    reads the regions the plugin has flushed so far. Use as a context manager
    or call stop().
    """

    def __init__(self, target: Target, elf: Path, proc: subprocess.Popen, port: int, workdir: Path,
                 count_file: Path | None, command: list[str]):
        self.target = target
        self.program = elf
        self.process = proc
        self.port = port
        self.command = command
        self._workdir = workdir
        self._count_file = count_file

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def log(self) -> str:
        try:
            return (self._workdir / "qemu.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def pipe_link(self):
        """The link of firmware started with serial="pipe": a port over QEMU's stdin/stdout."""
        from edgeai.pipe_link import PipeLink

        return PipeLink(self.process.stdin, self.process.stdout)

    def instruction_counts(self) -> list[int]:
        return read_counts(self._count_file) if self._count_file is not None else []

    def instruction_classes(self) -> list[dict]:
        """Per-region class counts (started with count_classes; else empty)."""
        return read_classes(self._count_file) if self._count_file is not None else []

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the firmware to exit; on timeout kill it and raise RuntimeFailure."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise RuntimeFailure(f"{self.program.name} on {self.target.name} did not exit within {timeout:g} s "
                                 f"(killed); QEMU log:\n{_tail(self.log().encode())}") from None

    def stop(self) -> None:
        """Kill QEMU (if still running). Counts and log stay readable until the `with` block ends."""
        if self.process.poll() is None:
            _kill_group(self.process)
        self.process.wait()

    def __enter__(self) -> "EmulatorProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __del__(self) -> None:
        try:
            if self.process.poll() is None:
                _kill_group(self.process)
            shutil.rmtree(self._workdir, ignore_errors=True)
        except Exception:
            pass


def start_program(target: Target | str, elf: Path | str, count_instructions: bool = True,
                  serial: Serial = ("tcp", 0), extra_args: Sequence[str] = (), *,
                  icount_shift: int | None = None, wait_for_client: bool = False,
                  startup_timeout: float = 10.0, count_classes: bool = False) -> EmulatorProcess:
    """Start a Cortex-M firmware in QEMU with UART0 on a TCP server and return as soon as QEMU listens.

    By default the server does not wait (the firmware runs at once; UART output
    before a client connects is dropped). With wait_for_client=True QEMU holds
    the machine until the first client connects, so no output is lost. Port 0
    or None picks a free port (retrying if another process takes it first)."""
    target = load_target(target)
    if not target.is_cortex_m:
        raise TargetError(f"target {target.name}: start_program serves a UART over TCP, only Cortex-M targets have one")
    if serial == "pipe":
        return _start_piped(target, elf, count_instructions, extra_args, icount_shift, count_classes)
    if not (isinstance(serial, tuple) and len(serial) == 2 and serial[0] == "tcp"):
        raise TargetError(f"start_program needs serial=('tcp', port), got {serial!r}")
    elf = Path(elf).resolve()
    if not elf.is_file():
        raise RuntimeFailure(f"program {elf} does not exist (build it first)")
    wanted = serial[1] or 0
    attempts = 1 if wanted else 5
    last_log = ""
    for _ in range(attempts):
        port = wanted or free_port()
        workdir = Path(tempfile.mkdtemp(prefix="edgeai-qemu-"))
        count_file = workdir / "regions.txt" if count_instructions else None
        cmd = _command(target, elf, count_file, "tcp", port, extra_args, icount_shift, wait_for_client,
                       count_classes)
        with open(workdir / "qemu.log", "wb") as log:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        deadline = time.monotonic() + startup_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if _listening(port):
                return EmulatorProcess(target, elf, proc, port, workdir, count_file, cmd)
            time.sleep(0.01)
        if proc.poll() is None:
            _kill_group(proc)
        proc.wait()
        last_log = (workdir / "qemu.log").read_text(errors="replace")
        if proc.returncode >= 0 and "bind" not in last_log and "in use" not in last_log:
            # The firmware already ran to its end: hand back the finished process.
            return EmulatorProcess(target, elf, proc, port, workdir, count_file, cmd)
        shutil.rmtree(workdir, ignore_errors=True)
    raise RuntimeFailure(f"QEMU did not start listening for {elf.name} on {target.name}; its log:\n"
                         f"{_tail(last_log.encode())}")


def _start_piped(target: Target, elf: Path | str, count_instructions: bool, extra_args: Sequence[str],
                 icount_shift: int | None, count_classes: bool = False) -> EmulatorProcess:
    """Firmware whose link is the semihosting console (semihost_link_port.c): QEMU's stdin and stdout are the
    link (`EmulatorProcess.pipe_link()`), its own messages go to the log."""
    elf = Path(elf).resolve()
    if not elf.is_file():
        raise RuntimeFailure(f"program {elf} does not exist (build it first)")
    workdir = Path(tempfile.mkdtemp(prefix="edgeai-qemu-"))
    count_file = workdir / "regions.txt" if count_instructions else None
    cmd = _command(target, elf, count_file, "pipe", None, extra_args, icount_shift, count_classes=count_classes)
    with open(workdir / "qemu.log", "wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                start_new_session=True, bufsize=0)
    return EmulatorProcess(target, elf, proc, 0, workdir, count_file, cmd)
