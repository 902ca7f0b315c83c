"""A misbehaving device for host-client tests: it speaks the real framing (sync, header, CRC) on the far end of a
pty, answers like the firmware does, and lets a test replace any reply with a bad one."""

from __future__ import annotations

import os
import select
import struct
import threading
import tty

from edgeai import protocol
from edgeai.protocol import HEADER, RESPONSE, SYNC, crc16, encode


def info_body(max_payload=4096, input_size=1000, output_size=300, clock=25_000_000, model_id=bytes(8),
              target=b"fake-m4", name=b"fake-model", version=protocol.VERSION) -> bytes:
    """INFO's answer after the status byte, laid out as edgeai_proto.h says."""
    return (struct.pack("<BHIIII", version, max_payload, 4096, input_size, output_size, clock) + model_id
            + bytes([len(target)]) + target + bytes([len(name)]) + name)


class FakeDevice:
    """The device end of a pty. `replies[command]` (a function of the request payload returning the reply payload,
    status byte included) overrides the well-behaved answer; `received` collects the uploaded input."""

    def __init__(self, info: bytes | None = None):
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        self._slave = slave
        self.info = info if info is not None else info_body()
        self.input_size, self.output_size = struct.unpack("<II", self.info[7:15])
        self.received = bytearray(self.input_size)
        self.output = bytes((i * 7) & 0xFF for i in range(self.output_size))
        self.replies = {}
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def answer(self, command: int, payload: bytes) -> bytes:
        if command in self.replies:
            return self.replies[command](payload)
        if command == protocol.INFO:
            return b"\0" + self.info
        if command == protocol.WRITE_INPUT:
            offset = struct.unpack("<I", payload[:4])[0]
            self.received[offset: offset + len(payload) - 4] = payload[4:]
            return b"\0"
        if command == protocol.RUN:
            return b"\0" + struct.pack("<iI", 0, 1234)
        if command == protocol.READ_OUTPUT:
            offset, n = struct.unpack("<IH", payload)
            return b"\0" + self.output[offset: offset + n]
        if command == protocol.PING:
            return b"\0" + payload
        return b"\x04"  # unknown command

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            # Never block for long: close() must be able to stop this thread before it closes the fds (a thread
            # blocked in read would keep the pty alive, and a reused fd number would be answered by it).
            if not select.select([self.master], [], [], 0.05)[0]:
                if self._stop:
                    raise OSError("stopped")
                continue
            chunk = os.read(self.master, n - len(data))
            if not chunk:
                raise OSError("pty closed")
            data += chunk
        return data

    def _serve(self) -> None:
        try:
            while not self._stop:
                window = b""
                while window != SYNC:
                    window = (window + self._read(1))[-2:]
                header = self._read(HEADER - 2)
                version, command, seq, length = struct.unpack("<BBBH", header)
                rest = self._read(length + 2)
                if crc16(header + rest[:-2]) != struct.unpack("<H", rest[-2:])[0]:
                    continue
                reply = self.answer(command, rest[:-2])
                os.write(self.master, encode(command | RESPONSE, seq, reply))
        except OSError:
            pass

    def close(self) -> None:
        """Unplug: the thread stops, then the pty goes away (the host's end reads an error, as after a USB
        serial port vanished)."""
        if self._stop:
            return
        self._stop = True
        self._thread.join()
        for fd in (self._slave, self.master):
            try:
                os.close(fd)
            except OSError:
                pass
