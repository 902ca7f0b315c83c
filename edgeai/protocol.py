"""Host side of the framed serial protocol (see compilers/c/runtime/edgeai_proto.h for the wire format).

One client for every transport with read(n)/write: a board's serial port (pyserial), QEMU's UART on a socket
(`socket://127.0.0.1:PORT`) or a pty (`-serial pty`), so CI exercises exactly the code that talks to a real board.

Everything the device sends is untrusted: each reply is checked against what its command must return, and
a reply that does not fit is a LinkError naming the command, never a struct.error or a silently short result.
"""

from __future__ import annotations

import binascii
import struct
import time
from dataclasses import dataclass

from edgeai.errors import RuntimeFailure

VERSION = 2
SYNC = b"\xed\xa1"
HEADER = 7
MIN_PAYLOAD = 64  # the smallest frame a device may declare (edgeai_proto.h)
FRAME_LIMIT = 0xFFFF  # what the length field can say
HOST_MAX_PAYLOAD = 16384  # the largest frame this host sends, whatever the device allows
MAX_PAYLOAD = 4096  # the firmware's default; a device names its own in INFO
MODEL_ID = 8

INFO, WRITE_INPUT, RUN, READ_OUTPUT, STATS, PING = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
BOOT, NACK, RESPONSE = 0x7E, 0x7F, 0x80
NAMES = {INFO: "INFO", WRITE_INPUT: "WRITE_INPUT", RUN: "RUN", READ_OUTPUT: "READ_OUTPUT", STATS: "STATS",
         PING: "PING"}
STATELESS = {INFO, PING, STATS}  # safe to send again after the device restarted

STATUS = {
    0: "ok", 1: "bad CRC", 2: "bad length", 3: "bad protocol version", 4: "unknown command",
    5: "offset or length out of range", 6: "inference failed", 7: "timeout", 8: "malformed payload",
    9: "input upload incomplete",
}


class LinkError(RuntimeFailure):
    """The link or the device on it misbehaved: a lost or corrupted frame, an error status, a malformed reply."""


class ProtocolError(LinkError):
    """The device answered with an error status, or the link lost a frame."""


class BadReply(ProtocolError):
    """A well-framed reply whose content does not fit its command (short, long, impossible values)."""


class LinkTimeout(ProtocolError):
    """The device did not answer in time."""


class LinkLost(ProtocolError):
    """The port or socket closed: the device is gone (crashed, unplugged, emulator stopped)."""


class DeviceStatus(ProtocolError):
    """The device answered a well-formed request with an error status."""

    def __init__(self, message: str, status: int = -1):
        super().__init__(message)
        self.status = status


class DeviceReset(ProtocolError):
    """The device restarted (its BOOT frame came) while a request that depends on its state was pending."""


def crc16(data: bytes) -> int:
    return binascii.crc_hqx(data, 0xFFFF)  # CRC-16/CCITT-FALSE, as the firmware computes it


def encode(command: int, sequence: int, payload: bytes = b"", version: int = VERSION) -> bytes:
    if len(payload) > FRAME_LIMIT:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {FRAME_LIMIT}")
    body = bytes([version, command, sequence & 0xFF]) + struct.pack("<H", len(payload)) + payload
    return SYNC + body + struct.pack("<H", crc16(body))


def command_name(command: int) -> str:
    return NAMES.get(command, f"0x{command:02x}")


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
    model_id: bytes
    target: str
    name: str


def parse_info(body: bytes) -> DeviceInfo:
    """INFO's answer after the status byte; BadReply unless it is exactly what edgeai_proto.h describes."""
    fixed = 19 + MODEL_ID
    if len(body) < fixed + 2:
        raise BadReply(f"device answered INFO with {len(body)} bytes, the reply has at least {fixed + 2}")
    version, max_payload, arena, insz, outsz, clock = struct.unpack("<BHIIII", body[:19])
    if version != VERSION:
        raise BadReply(f"device answered INFO with protocol version {version}, this host speaks {VERSION}: "
                       f"flash firmware built by this edgeai")
    if max_payload < MIN_PAYLOAD:
        raise BadReply(f"device answered INFO with a largest frame of {max_payload} bytes, below the "
                       f"protocol's minimum {MIN_PAYLOAD}")
    names, at = [], fixed
    for what in ("target", "model"):
        if at >= len(body):
            raise BadReply(f"device answered INFO without its {what} name")
        n = body[at]
        if at + 1 + n > len(body):
            raise BadReply(f"device answered INFO with a {what} name of {n} bytes, {len(body) - at - 1} sent")
        names.append(body[at + 1: at + 1 + n].decode("ascii", "replace"))
        at += 1 + n
    if at != len(body):
        raise BadReply(f"device answered INFO with {len(body) - at} bytes after its last field")
    return DeviceInfo(version, max_payload, arena, insz, outsz, clock, body[19:fixed], names[0], names[1])


class Client:
    """Request/response over a port with read(n) (honouring its own short timeout), write, and optionally
    reset_input_buffer.

    timeout: seconds the device has to answer an ordinary request; a RUN gets `run_seconds` more per inference
    (set it from the model's work), and with a known `baudrate` every request also gets its bytes' time on the
    wire, so a large frame on a slow UART is not mistaken for a dead device."""

    def __init__(self, port, timeout: float = 5.0, retries: int = 2, baudrate: int | None = None,
                 run_seconds: float = 0.0):
        self.port = port
        self.timeout = timeout
        self.retries = retries
        self.baudrate = baudrate
        self.run_seconds = run_seconds
        self._seq = 0
        self.info: DeviceInfo | None = None
        self.boots = 0  # BOOT frames seen: how often the device restarted under us

    # -- framing ----------------------------------------------------------------------------
    def _read_exact(self, n: int, deadline: float, limit: float) -> bytes:
        data = b""
        while len(data) < n:
            if time.monotonic() > deadline:
                raise LinkTimeout(f"device sent {len(data)} of {n} bytes before the {limit:g} s timeout")
            try:
                chunk = self.port.read(n - len(data))
            except OSError as e:  # pyserial's SerialException included: the port or socket is gone
                raise LinkLost(f"link lost while reading: {e}") from None
            data += chunk
        return data

    def _read_frame(self, deadline: float, limit: float | None = None) -> Frame:
        limit = self.timeout if limit is None else limit
        # Hunt for the sync pair: anything before it is noise (boot messages, a torn frame).
        window = b""
        while window != SYNC:
            window = (window + self._read_exact(1, deadline, limit))[-2:]
        header = self._read_exact(HEADER - 2, deadline, limit)
        version, command, sequence, length = struct.unpack("<BBBH", header)
        most = self.info.max_payload if self.info else MAX_PAYLOAD
        if length > most:
            raise ProtocolError(f"device sent a frame of length {length} (max {most})")
        rest = self._read_exact(length + 2, deadline, limit)
        payload, (crc,) = rest[:-2], struct.unpack("<H", rest[-2:])
        if crc16(header + payload) != crc:
            raise ProtocolError(f"device frame (command 0x{command:02x}) failed its CRC")
        if version != VERSION:
            raise ProtocolError(f"device speaks protocol version {version}, this host {VERSION}: flash firmware "
                                f"built by this edgeai")
        return Frame(command, sequence, payload)

    def _wire_seconds(self, nbytes: int) -> float:
        return nbytes * 10 / self.baudrate if self.baudrate else 0.0  # 8N1: 10 bits a byte

    def request(self, command: int, payload: bytes = b"", extra_seconds: float = 0.0, reply_bytes: int = 0) -> Frame:
        """Send one request and return its response; retries on a lost or corrupted frame, then gives up clearly.
        A BOOT frame in between resends a stateless request and raises DeviceReset for any other."""
        last: Exception = LinkTimeout("no answer")
        name = command_name(command)
        frame_bytes = encode(command, 0, payload)
        limit = self.timeout + extra_seconds + 2 * self._wire_seconds(len(frame_bytes) + HEADER + 3 + reply_bytes)
        attempts, boots = 0, 0
        while attempts <= self.retries:
            attempts += 1
            self._seq = (self._seq + 1) & 0xFF
            seq = self._seq
            try:
                self.port.write(encode(command, seq, payload))
            except OSError as e:
                raise LinkLost(f"link lost while writing {name}: {e}") from None
            deadline = time.monotonic() + limit
            try:
                while True:
                    frame = self._read_frame(deadline, limit)
                    if frame.command == BOOT:
                        self.boots += 1
                        boots += 1
                        if command not in STATELESS:
                            raise DeviceReset(f"the device restarted while answering {name}: the input it held "
                                              f"and any run in progress are gone")
                        if boots > 3:
                            raise ProtocolError(f"the device keeps restarting (answering {name})")
                        attempts -= 1  # a restart is not a lost frame: ask again
                        raise _Resend
                    if frame.command == NACK:
                        raise ProtocolError(f"device rejected the {name} frame: "
                                            f"{STATUS.get(frame.status, frame.status)}")
                    if frame.command == command | RESPONSE and frame.sequence == seq:
                        break
                    # A stale answer to an earlier, retried request: skip it.
            except _Resend:
                continue
            except (LinkLost, DeviceReset):
                raise
            except ProtocolError as e:
                last = e
                self._drain()
                continue
            if not frame.payload:
                raise BadReply(f"device answered {name} without a status byte")
            if frame.status != 0:
                raise DeviceStatus(f"device answered {name} with status {frame.status} "
                                   f"({STATUS.get(frame.status, 'unknown')})", frame.status)
            return frame
        kind = LinkTimeout if isinstance(last, LinkTimeout) else ProtocolError
        raise kind(f"{name}: {last}")

    def _drain(self) -> None:
        time.sleep(0.05)
        reset = getattr(self.port, "reset_input_buffer", None)
        if reset:
            reset()

    def _body(self, command: int, payload: bytes, size: int | None, **kw) -> bytes:
        """The reply's bytes after the status; BadReply unless there are exactly `size` of them."""
        body = self.request(command, payload, **kw).payload[1:]
        if size is not None and len(body) != size:
            raise BadReply(f"device answered {command_name(command)} with {len(body)} bytes after the status, "
                           f"the reply has {size}")
        return body

    # -- commands ---------------------------------------------------------------------------
    def hello(self) -> DeviceInfo:
        self.info = parse_info(self._body(INFO, b"", None))
        return self.info

    def _chunk(self, overhead: int) -> int:
        info = self.info or self.hello()
        return min(info.max_payload, HOST_MAX_PAYLOAD) - overhead

    def write_input(self, blob: bytes) -> None:
        info = self.info or self.hello()
        if len(blob) != info.input_size:
            raise ProtocolError(f"input blob has {len(blob)} bytes, device {info.name!r} expects {info.input_size}")
        chunk = self._chunk(4)
        for offset in range(0, max(len(blob), 1), chunk):
            self._body(WRITE_INPUT, struct.pack("<I", offset) + blob[offset: offset + chunk], 0)

    def run(self, count: int = 1) -> tuple[int, int]:
        """Returns (model status, cycle-counter delta of the last inference)."""
        if not 0 <= count <= 0xFFFF:
            raise ValueError(f"run count {count} outside [0, 65535]")
        body = self._body(RUN, struct.pack("<H", count), 8, extra_seconds=max(count, 1) * self.run_seconds)
        status, cycles = struct.unpack("<iI", body)
        return status, cycles

    def read_output(self) -> bytes:
        info = self.info or self.hello()
        chunk = self._chunk(1)
        out = bytearray()
        for offset in range(0, info.output_size, chunk):
            n = min(chunk, info.output_size - offset)
            out += self._body(READ_OUTPUT, struct.pack("<IH", offset, n), n, reply_bytes=n)
        return bytes(out)

    def stats(self) -> tuple[int, int, int]:
        """(inferences run since start-up, status of the last, its cycle-counter delta)."""
        runs, status, cycles = struct.unpack("<IiI", self._body(STATS, b"", 12))
        return runs, status, cycles

    def ping(self, data: bytes = b"edgeai") -> bytes:
        echo = self._body(PING, data, None, reply_bytes=len(data))
        if echo != data:
            raise BadReply(f"device answered PING with {echo[:16]!r}..., not the {len(data)} bytes sent")
        return echo


class _Resend(Exception):
    """Internal: send the same request again (the device restarted before answering a stateless one)."""
