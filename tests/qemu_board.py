"""A Cortex-M board on a real serial device node: the benchmark firmware in qemu-system-arm with its UART on
`-serial pty` (a /dev/pts/N that pyserial opens exactly as it opens a USB-UART) and the QEMU monitor on a unix
socket, so a test can reset the board (`system_reset`) as a lab resets one."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

from edgeai.targets import load_target

PTY_LINE = re.compile(rb"char device redirected to (/dev/pts/\d+)")


class QemuBoard:
    def __init__(self, elf: Path, target: str, workdir: Path):
        q = load_target(target).qemu
        self.monitor_path = str(workdir / "monitor.sock")
        self.log_path = workdir / "qemu-board.log"
        cmd = [q["system"], "-M", q["machine"], "-cpu", q["cpu"], "-display", "none", "-nodefaults",
               "-semihosting-config", "enable=on,target=native", "-serial", "pty",
               "-monitor", f"unix:{self.monitor_path},server=on,wait=off", "-kernel", str(elf)]
        self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        # QEMU names the pty it made on its output before the machine runs.
        seen, deadline = b"", time.monotonic() + 20
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            seen += line
            match = PTY_LINE.search(line)
            if match:
                self.pty = match.group(1).decode()
                break
            if not line and self.process.poll() is not None:
                break
        else:
            match = None
        if not match:
            self.stop()
            raise RuntimeError(f"QEMU named no pty: {seen.decode(errors='replace')}")

    def monitor(self, command: str) -> str:
        """One QEMU monitor command (e.g. system_reset); returns what the monitor printed."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(self.monitor_path)
            sock.settimeout(2.0)
            out = b""
            try:
                while b"(qemu)" not in out:
                    out += sock.recv(4096)
                sock.sendall(command.encode() + b"\n")
                time.sleep(0.2)
                out += sock.recv(4096)
            except socket.timeout:
                pass
            return out.decode(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
