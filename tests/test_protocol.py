"""The framed serial protocol, end to end against the real firmware code built for this machine
(the same handler the Cortex-M firmware runs, on a TCP socket), with faults injected on the link."""

import shutil
import struct
import time

import numpy as np
import pytest

from conftest import tflite
from edgeai import protocol
from edgeai.compile import compile_model
from edgeai.errors import DataError
from edgeai.protocol import Client, LinkTimeout, ProtocolError
from edgeai.runtime.device import QemuSession
from edgeai.runtime.reference import LiteRTSession

pytestmark = [pytest.mark.toolchain,
              pytest.mark.skipif(not shutil.which("cmake"), reason="needs cmake and a C compiler")]


@pytest.fixture(scope="module")
def kws_host(tmp_cache):
    return compile_model(tflite("kws_ref_model"), "host").path


@pytest.fixture
def session(kws_host):
    s = QemuSession(kws_host, "host", timeout=3.0)
    yield s
    s.close()


def _input(seed=0):
    return np.random.default_rng(seed).integers(-128, 128, size=(1, 49, 10, 1), dtype=np.int8)


def test_crc_and_framing_match_the_firmware(session):
    assert protocol.crc16(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE check value
    assert session.client.ping(b"hello edgeai") == b"hello edgeai"
    info = session.info
    assert (info.version, info.input_size, info.output_size, info.name, info.target) == (2, 496, 16, "kws_ref_model",
                                                                                       "host")


def test_runs_bit_exact_over_the_link(session):
    ref = LiteRTSession(tflite("kws_ref_model"))
    for seed in range(3):
        x = _input(seed)
        assert np.array_equal(session.run([x])[0], ref.run([x])[0])


def test_corrupted_frame_is_nacked_and_the_link_recovers(session):
    port = session.client.port
    frame = bytearray(protocol.encode(protocol.PING, 7, b"abc"))
    frame[-1] ^= 0xFF  # break the CRC
    port.write(b"\x00\xff garbage \xed" + bytes(frame))
    reply = session.client._read_frame(time.monotonic() + 3)
    assert reply.command == protocol.NACK and reply.status == 1  # bad CRC
    assert session.client.ping(b"after") == b"after"


def test_oversized_length_is_rejected_then_resynchronised(session):
    header = protocol.SYNC + bytes([1, protocol.PING, 1]) + struct.pack("<H", 60000)
    session.client.port.write(header)
    reply = session.client._read_frame(time.monotonic() + 3)
    assert reply.command == protocol.NACK and reply.status == 2  # bad length
    assert session.client.ping() == b"edgeai"


def test_truncated_upload_is_refused_by_run(session):
    session.client.request(protocol.WRITE_INPUT, struct.pack("<I", 0) + bytes(100))
    with pytest.raises(ProtocolError, match="input upload incomplete"):
        session.client.run()
    # A later complete upload works.
    ref = LiteRTSession(tflite("kws_ref_model"))
    assert np.array_equal(session.run([_input(5)])[0], ref.run([_input(5)])[0])


def test_lost_chunk_is_detected(session):
    session.client.request(protocol.WRITE_INPUT, struct.pack("<I", 0) + bytes(100))
    with pytest.raises(ProtocolError, match="out of range"):
        session.client.request(protocol.WRITE_INPUT, struct.pack("<I", 300) + bytes(100))


def test_reading_past_the_output_is_refused(session):
    with pytest.raises(ProtocolError, match="out of range"):
        session.client.request(protocol.READ_OUTPUT, struct.pack("<IH", 10, 100))


def test_wrong_input_shape_is_a_clear_error(session):
    with pytest.raises(DataError, match="input 'input_1' must have shape \\[1, 49, 10, 1\\]"):
        session.run([np.zeros((1, 10, 49, 1), np.int8)])
    with pytest.raises(DataError, match="must be int8, got float32"):
        session.run([np.zeros((1, 49, 10, 1), np.float32)])


def test_corrupted_reply_is_retried(session):
    class Flip:
        """A link that flips one bit inside the payload of the first frame the device sends back."""

        def __init__(self, port):
            self.port, self.done, self.count = port, False, 0

        def write(self, data):
            return self.port.write(data)

        def reset_input_buffer(self):
            self.port.reset_input_buffer()

        def read(self, n):
            data = self.port.read(n)
            self.count += len(data)
            if data and self.count > 9 and not self.done:  # inside the payload of the first reply
                self.done = True
                data = bytes([data[0] ^ 0x10]) + data[1:]
            return data

    client = Client(Flip(session.client.port), timeout=2.0)
    assert client.ping(b"retry me") == b"retry me"


def test_a_device_that_stops_answering_times_out_cleanly(kws_host):
    s = QemuSession(kws_host, "host", timeout=1.0)
    s.emulator.process.kill()
    s.emulator.process.wait()
    start = time.monotonic()
    with pytest.raises(ProtocolError, match="link lost|sent 0 of"):
        s.client.ping()
    assert time.monotonic() - start < 10
    s.close()
