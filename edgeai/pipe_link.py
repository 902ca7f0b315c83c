"""A pyserial-like port over a child process's stdin and stdout: the emulated link of firmware whose bytes go
through QEMU's semihosting console (compilers/c/runtime/ports/semihost_link_port.c)."""

from __future__ import annotations

import os
import select


class PipeLink:
    """read(n) waits up to `timeout` seconds for the first byte and returns what is there (as pyserial's read
    does with a short timeout); write sends everything; OSError once the process closed its end."""

    def __init__(self, to_child, from_child, timeout: float = 0.05):
        self._out, self._in = to_child.fileno(), from_child.fileno()
        self._files = (to_child, from_child)
        self.timeout = timeout

    def read(self, n: int) -> bytes:
        ready, _, _ = select.select([self._in], [], [], self.timeout)
        if not ready:
            return b""
        data = os.read(self._in, n)
        if not data:
            raise OSError("the emulator closed its link")
        return data

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            view = view[os.write(self._out, view):]
        return len(data)

    def reset_input_buffer(self) -> None:
        while select.select([self._in], [], [], 0)[0]:
            if not os.read(self._in, 65536):
                break

    def close(self) -> None:
        for f in self._files:
            try:
                f.close()
            except OSError:
                pass
