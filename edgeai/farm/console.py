"""A labgrid console as the byte stream edgeai.protocol.Client reads and writes."""

from __future__ import annotations

import time


class ConsoleStream:
    """What the protocol client needs from a port, over a labgrid ConsoleProtocol driver: read(n) that returns
    what arrived within a short timeout (b"" when nothing did), write(data), reset_input_buffer().

    labgrid consoles raise pexpect's TIMEOUT when nothing arrives and may hand back a page at a time, so reads
    go through a buffer: one console read serves several of the client's small ones."""

    def __init__(self, console, timeout: float = 0.05, chunk: int = 4096):
        from pexpect import TIMEOUT

        self.console = console
        self.timeout = timeout
        self.chunk = chunk
        self._timeout_error = TIMEOUT
        self._pending = b""

    def read(self, n: int) -> bytes:
        if not self._pending:
            try:
                self._pending = self.console.read(size=1, timeout=self.timeout, max_size=self.chunk) or b""
            except self._timeout_error:
                return b""
        data, self._pending = self._pending[:n], self._pending[n:]
        return data

    def write(self, data: bytes) -> int:
        view = memoryview(bytes(data))
        while view:
            try:
                sent = self.console.write(bytes(view))
            except BlockingIOError:  # a non-blocking socket console (QEMU's) with a full send buffer
                time.sleep(0.001)
                continue
            view = view[len(view) if sent is None else sent:]  # consoles that do not count wrote it all
        return len(data)

    def reset_input_buffer(self) -> None:
        """Drop what is buffered and what the console holds right now (bounded: a chatty board cannot hang it)."""
        self._pending = b""
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                if not self.console.read(size=1, timeout=0.0, max_size=self.chunk):
                    return
            except self._timeout_error:
                return

    def close(self) -> None:
        """The place owns the console; closing the stream leaves it to the place."""
