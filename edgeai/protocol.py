"""Host side of the framed serial protocol (see compilers/c/runtime/edgeai_proto.h for the wire format).

One client for every transport pyserial opens: a board's serial port, or QEMU's UART on a socket
(`socket://127.0.0.1:PORT`), so CI exercises exactly the code that talks to a real board.
"""

from __future__ import annotations

import binascii
import struct
import time
from dataclasses import dataclass

from edgeai.errors import RuntimeFailure

VERSION = 1
SYNC = b"\xed\xa1"
HEADER = 7
MAX_PAYLOAD = 512

INFO, WRITE_INPUT, RUN, READ_OUTPUT, STATS, PING, NACK, RESPONSE = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x7F, 0x80

STATUS = {
    0: "ok", 1: "bad CRC", 2: "bad length", 3: "bad protocol version", 4: "unknown command",
    5: "offset or length out of range", 6: "inference failed", 7: "timeout", 8: "malformed payload",
    9: "input upload incomplete",
}


class ProtocolError(RuntimeFailure):
    """The device answered with an error status, or the link lost a frame."""


class LinkTimeout(ProtocolError):
    """The device did not answer in time."""


class LinkLost(ProtocolError):
    """The port or socket closed: the device is gone (crashed, unplugged, emulator stopped)."""


def crc16(data: bytes) -> int:
    return binascii.crc_hqx(data, 0xFFFF)  # CRC-16/CCITT-FALSE, as the firmware computes it


def encode(command: int, sequence: int, payload: bytes = b"", version: int = VERSION) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = bytes([version, command, sequence & 0xFF]) + struct.pack("<H", len(payload)) + payload
    return SYNC + body + struct.pack("<H", crc16(body))


@dataclass(frozen=True)
class Frame:
    command: int
    sequence: int
    payload: bytes

    @property
    def status(self) -> int:
        return self.payload[0] if self.payload else -1


@dataclass(frozen=True)
class DeviceInfo:
    version: int
    max_payload: int
    arena_size: int
    input_size: int
    output_size: int
    clock_hz: int
    name: str


class Client:
    """Request/response over a pyserial-like port (read(n) honouring its timeout, write, reset_input_buffer)."""

    def __init__(self, port, timeout: float = 5.0, retries: int = 2):
        self.port = port
        self.timeout = timeout
        self.retries = retries
        self._seq = 0
        self.info: DeviceInfo | None = None

    # -- framing ----------------------------------------------------------------------------
    def _read_exact(self, n: int, deadline: float) -> bytes:
        data = b""
        while len(data) < n:
            if time.monotonic() > deadline:
                raise LinkTimeout(f"device sent {len(data)} of {n} bytes before the {self.timeout:g} s timeout")
            try:
                chunk = self.port.read(n - len(data))
            except OSError as e:  # pyserial's SerialException included: the port or socket is gone
                raise LinkLost(f"link lost while reading: {e}") from None
            data += chunk
        return data

    def _read_frame(self, deadline: float) -> Frame:
        # Hunt for the sync pair: anything before it is noise (boot messages, a torn frame).
        window = b""
        while window != SYNC:
            window = (window + self._read_exact(1, deadline))[-2:]
        header = self._read_exact(HEADER - 2, deadline)
        version, command, sequence, length = struct.unpack("<BBBH", header)
        if length > MAX_PAYLOAD:
            raise ProtocolError(f"device sent a frame of length {length} (max {MAX_PAYLOAD})")
        rest = self._read_exact(length + 2, deadline)
        payload, (crc,) = rest[:-2], struct.unpack("<H", rest[-2:])
        if crc16(header + payload) != crc:
            raise ProtocolError(f"device frame (command 0x{command:02x}) failed its CRC")
        if version != VERSION:
            raise ProtocolError(f"device speaks protocol version {version}, this host {VERSION}")
        return Frame(command, sequence, payload)

    def request(self, command: int, payload: bytes = b"") -> Frame:
        """Send one request and return its response; retries on a lost or corrupted frame, then gives up clearly."""
        last: Exception | None = None
        for _ in range(self.retries + 1):
            self._seq = (self._seq + 1) & 0xFF
            seq = self._seq
            try:
                self.port.write(encode(command, seq, payload))
            except OSError as e:
                raise LinkLost(f"link lost while writing: {e}") from None
            deadline = time.monotonic() + self.timeout
            try:
                while True:
                    frame = self._read_frame(deadline)
                    if frame.command == NACK:
                        raise ProtocolError(f"device rejected the frame: {STATUS.get(frame.status, frame.status)}")
                    if frame.command == command | RESPONSE and frame.sequence == seq:
                        break
                    # A stale answer to an earlier, retried request: skip it.
            except LinkLost:
                raise
            except ProtocolError as e:
                last = e
                self._drain()
                continue
            if frame.status != 0:
                raise ProtocolError(f"device answered 0x{command:02x} with status {frame.status} "
                                    f"({STATUS.get(frame.status, 'unknown')})")
            return frame
        raise last if isinstance(last, ProtocolError) else ProtocolError(str(last))

    def _drain(self) -> None:
        time.sleep(0.05)
        reset = getattr(self.port, "reset_input_buffer", None)
        if reset:
            reset()

    # -- commands ---------------------------------------------------------------------------
    def hello(self) -> DeviceInfo:
        p = self.request(INFO).payload[1:]
        version, max_payload, arena, insz, outsz, clock, nlen = struct.unpack("<BHIIIIB", p[:20])
        self.info = DeviceInfo(version, max_payload, arena, insz, outsz, clock, p[20:20 + nlen].decode("ascii", "replace"))
        return self.info

    def write_input(self, blob: bytes) -> None:
        info = self.info or self.hello()
        if len(blob) != info.input_size:
            raise ProtocolError(f"input blob has {len(blob)} bytes, device {info.name!r} expects {info.input_size}")
        chunk = info.max_payload - 4
        for offset in range(0, max(len(blob), 1), chunk):
            self.request(WRITE_INPUT, struct.pack("<I", offset) + blob[offset: offset + chunk])

    def run(self, count: int = 1) -> tuple[int, int]:
        """Returns (model status, cycle-counter delta of the last inference)."""
        p = self.request(RUN, struct.pack("<H", count)).payload[1:]
        status, cycles = struct.unpack("<iI", p[:8])
        return status, cycles

    def read_output(self) -> bytes:
        info = self.info or self.hello()
        chunk = info.max_payload - 1
        out = b""
        for offset in range(0, info.output_size, chunk):
            n = min(chunk, info.output_size - offset)
            out += self.request(READ_OUTPUT, struct.pack("<IH", offset, n)).payload[1:]
        return out

    def ping(self, data: bytes = b"edgeai") -> bytes:
        return self.request(PING, data).payload[1:]
