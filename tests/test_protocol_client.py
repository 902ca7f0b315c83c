"""The host's protocol client against a device that misbehaves: a fake device on a pty speaking the real framing
sends each kind of bad reply, and every one must be a LinkError naming the command, not a struct.error,
a ValueError, a silently empty upload or a misaligned output."""

from __future__ import annotations

import struct

import pytest
import serial

from edgeai import protocol
from edgeai.errors import EdgeAIError
from edgeai.protocol import INFO, PING, READ_OUTPUT, RUN, STATS, WRITE_INPUT, Client
from fake_device import FakeDevice, info_body


@pytest.fixture
def device():
    made = []

    def make(info=None):
        dev = FakeDevice(info)
        port = serial.Serial(dev.path, 115200, timeout=0.05)
        made.append((dev, port))
        return dev, Client(port, timeout=1.0, retries=0)

    yield make
    for dev, port in made:
        port.close()
        dev.close()


def link_error(call, command: str) -> EdgeAIError:
    with pytest.raises(EdgeAIError) as caught:
        call()
    assert isinstance(caught.value, protocol.LinkError), repr(caught.value)
    assert command in str(caught.value), str(caught.value)
    return caught.value


@pytest.mark.parametrize("body", [b"", b"\x02\x00", info_body()[:20], info_body()[:-3], info_body() + b"xx"],
                         ids=["empty", "three-bytes", "cut-before-names", "name-cut", "trailing-bytes"])
def test_malformed_info_is_a_link_error(device, body):
    dev, client = device()
    dev.replies[INFO] = lambda p: b"\0" + body
    link_error(client.hello, "INFO")


@pytest.mark.parametrize("max_payload", [0, 2, 4, 63])
def test_too_small_max_payload_is_refused(device, max_payload):
    """0 and 2 made the upload loop step backwards (nothing sent, no error), 4 made it step by 0 (ValueError)."""
    dev, client = device(info_body(max_payload=max_payload))
    link_error(lambda: client.write_input(bytes(range(256)) * 3 + bytes(232)), "INFO")
    assert not any(dev.received)


def test_largest_max_payload_uploads_everything(device):
    """A device allowing 65535-byte frames gets the whole input (the host caps its frames at its own limit)."""
    dev, client = device(info_body(max_payload=0xFFFF, input_size=40000, output_size=20000))
    blob = bytes((i * 31 + 7) & 0xFF for i in range(40000))
    client.write_input(blob)
    assert bytes(dev.received) == blob
    assert client.read_output() == dev.output


def test_wrong_protocol_version_in_info(device):
    dev, client = device(info_body(version=1))
    err = link_error(client.hello, "INFO")
    assert "version 1" in str(err)


@pytest.mark.parametrize("reply", [b"\0", b"\0\0\0\0", b"\0" + bytes(9)], ids=["status-only", "short", "long"])
def test_malformed_run_reply(device, reply):
    dev, client = device()
    dev.replies[RUN] = lambda p: reply
    link_error(client.run, "RUN")


@pytest.mark.parametrize("delta", [-1, +5], ids=["short", "over-long"])
def test_read_output_of_the_wrong_length(device, delta):
    """An over-long answer used to shift every later chunk of the output."""
    dev, client = device()
    dev.replies[READ_OUTPUT] = lambda p: b"\0" + bytes(struct.unpack("<IH", p)[1] + delta)
    link_error(client.read_output, "READ_OUTPUT")


def test_write_input_reply_without_status_or_with_a_body(device):
    dev, client = device()
    dev.replies[WRITE_INPUT] = lambda p: b""
    link_error(lambda: client.write_input(bytes(1000)), "WRITE_INPUT")
    dev.replies[WRITE_INPUT] = lambda p: b"\0extra"
    link_error(lambda: client.write_input(bytes(1000)), "WRITE_INPUT")


def test_stats_and_ping_replies_are_checked(device):
    dev, client = device()
    dev.replies[STATS] = lambda p: b"\0" + bytes(5)
    link_error(client.stats, "STATS")
    dev.replies[PING] = lambda p: b"\0" + p[::-1]
    link_error(lambda: client.ping(b"abcdef"), "PING")


def test_error_status_names_the_command(device):
    dev, client = device()
    dev.replies[RUN] = lambda p: b"\x09"
    err = link_error(client.run, "RUN")
    assert "input upload incomplete" in str(err)


def test_a_well_behaved_fake_device_works(device):
    """The fake is faithful: the same client gets the right results from it when it behaves."""
    dev, client = device()
    info = client.hello()
    assert (info.input_size, info.output_size, info.target, info.name) == (1000, 300, "fake-m4", "fake-model")
    blob = bytes((i * 13) & 0xFF for i in range(1000))
    client.write_input(blob)
    assert bytes(dev.received) == blob
    assert client.run() == (0, 1234)
    assert client.read_output() == dev.output
    assert client.ping(b"x" * 100) == b"x" * 100


def test_a_run_gets_the_time_the_models_work_needs(device):
    """The base timeout bounds an ordinary answer; a RUN gets run_seconds more per inference on top (the session
    sets it from the model's MACs), so a long inference is not taken for a dead device, and a dead one still
    times out, naming RUN."""
    import time

    dev, client = device()

    def slow_run(payload):
        time.sleep(1.2)
        return b"\0" + struct.pack("<iI", 0, 99)

    dev.replies[RUN] = slow_run
    client.timeout, client.run_seconds = 0.5, 0.5
    assert client.run(2) == (0, 99)  # 0.5 + 2 x 0.5 s allowed
    client.run_seconds = 0.0
    err = link_error(lambda: client.run(2), "RUN")
    assert isinstance(err, protocol.LinkTimeout)


def test_run_budget_follows_the_model_and_the_clock():
    from edgeai.runtime.device import run_budget

    assert run_budget(1_000_000, 120_000_000) == pytest.approx(1.0)  # floor: 1 us per MAC
    assert run_budget(1_000_000, 16_000_000) == pytest.approx(4.0)  # 64 cycles per MAC at 16 MHz
    assert run_budget(0, 120_000_000) == 0.0


def _fake_library(folder):
    """A library folder whose description matches the fake device (1000 bytes in, 300 out)."""
    import json

    folder.mkdir()
    (folder / "model_model.c").write_text("/* the fake model */\n")
    tensor = {"dtype": "uint8", "offset": 0, "scale": None, "zero_point": None}
    (folder / "model.json").write_text(json.dumps({
        "model": "fake-model", "target": "fake-m4", "input_size": 1000, "output_size": 300, "macs": 1000,
        "sources": ["model_model.c"], "inputs": [{"name": "x", "shape": [1000], "nbytes": 1000, **tensor}],
        "outputs": [{"name": "y", "shape": [300], "nbytes": 300, **tensor}]}))
    return folder


def test_serial_session_reopens_a_port_that_went_away(tmp_path):
    """A board whose USB serial port disappears in a reset and comes back under the same name (a udev symlink
    here): the session reopens it by name, checks the firmware again and redoes the inference."""
    import numpy as np

    from edgeai.firmware import model_id
    from edgeai.runtime.device import SerialSession

    lib = _fake_library(tmp_path / "lib")
    info = info_body(model_id=model_id(lib))
    link = tmp_path / "ttyBOARD"
    first = FakeDevice(info)
    link.symlink_to(first.path)
    x = np.arange(1000, dtype=np.uint8) % 251
    try:
        with SerialSession(lib, str(link), 115200, timeout=1.0, reopen_seconds=5.0) as session:
            assert bytes(session.run([x])[0]) == first.output
            first.close()  # unplugged
            second = FakeDevice(info)
            second.output = bytes(i % 256 for i in range(300))
            link.unlink()
            link.symlink_to(second.path)  # plugged in again, maybe another /dev/pts
            assert bytes(session.run([x])[0]) == second.output
            assert bytes(second.received) == x.tobytes() and session.recoveries == 1
            second.close()
    finally:
        first.close()


def test_serial_session_refuses_firmware_of_another_library(tmp_path):
    from edgeai.runtime.device import FirmwareMismatch, SerialSession

    lib = _fake_library(tmp_path / "lib")
    dev = FakeDevice(info_body(model_id=b"\x01" * 8))
    try:
        with pytest.raises(FirmwareMismatch, match="runs firmware for model 'fake-model' on fake-m4"):
            SerialSession(lib, dev.path, 115200, timeout=1.0)
    finally:
        dev.close()
