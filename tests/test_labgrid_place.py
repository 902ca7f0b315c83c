"""labgrid places as targets: labgrid's real QEMUDriver boots our cortex-m4 benchmark firmware and edgeai speaks
its framed protocol over labgrid's console; outputs are compared with LiteRT."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import tflite
from edgeai import REPO_ROOT
from edgeai.cli import main

PLACE = REPO_ROOT / "targets" / "labgrid" / "qemu-cortex-m4.yaml"


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.toolchain
def test_validate_on_a_labgrid_place_is_bit_exact_with_litert(tmp_cache, capsys):
    model = str(tflite("ad01_int8"))
    assert main(["validate", model, "--target", f"labgrid:{PLACE}:main", "--count", "4", "--require-exact",
                 "--json"]) == 0
    on_place = json.loads(capsys.readouterr().out)
    (out,) = on_place["outputs"]
    assert on_place["passed"] and out["bit_exact"] == out["samples"] == 4
    # The same firmware under edgeai's own QEMU runner executes exactly as many instructions.
    assert main(["validate", model, "--target", "qemu:cortex-m4", "--count", "4", "--json"]) == 0
    direct = json.loads(capsys.readouterr().out)
    assert on_place["instructions"] > 100_000 and on_place["instructions"] == direct["instructions"]


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.toolchain
def test_the_session_runs_through_labgrids_qemu_driver(tmp_cache):
    from labgrid.driver import QEMUDriver

    from edgeai.farm.place import open_labgrid_session
    from edgeai.runtime.reference import LiteRTSession
    from edgeai.validate import random_inputs

    model = tflite("ad01_int8")
    reference = LiteRTSession(model)
    inputs = random_inputs(reference.inputs, 3, seed=11)
    session = open_labgrid_session(model, str(PLACE))  # role main by default
    qemu = session.place.qemu
    try:
        assert isinstance(qemu, QEMUDriver) and qemu.status == 1
        # labgrid started QEMU itself (its QMP monitor on stdio), with the firmware edgeai built as the kernel.
        (command,) = _our_qemus()
        assert "-qmp" in command and command[command.index("-kernel") + 1] == str(session.elf)
        # One counting plugin: a process loads an environment once, so a boot undoes what it changed in it.
        assert command.count("-plugin") == 1
        assert session.elf.name == "bench-cortex-m4.elf"
        for x in inputs:
            (got,) = session.run(x)
            (want,) = reference.run(x)
            assert np.array_equal(got, want.reshape(got.shape))
            assert session.stats.instructions > 100_000
    finally:
        session.close()
    assert qemu.status == 0 and _our_qemus() == []  # QEMU stopped with the session


def _our_qemus():
    """Command lines of the qemu-system-arm processes this test process started (directly: labgrid's Popen)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == os.getpid():
                command = (entry / "cmdline").read_bytes().decode().split("\0")[:-1]
                if command and command[0].endswith("qemu-system-arm") and (entry / "stat").read_text().split()[2] != "Z":
                    found.append(command)
        except (OSError, ValueError):
            continue
    return found


def _env(tmp_path, body: str):
    path = tmp_path / "env.yaml"
    path.write_text(body)
    return f"labgrid:{path}"


QEMU_ROLE = """targets:
  main:
    options: {edgeai_target: cortex-m4}
    drivers:
      QEMUDriver: {qemu_bin: qemu_arm, machine: mps2-an386, cpu: cortex-m4, memory: 16M%s}
tools:
  qemu_arm: %s
"""


@pytest.mark.parametrize("body, role, words", [
    (None, "", ["no such labgrid environment file"]),
    ("targets: [1, 2\n", "", ["labgrid cannot load it"]),
    ("targets:\n  main:\n    options: {edgeai_target: cortex-m4}\n", ":bench", ["has no role 'bench'", "roles: main"]),
    ("targets:\n  bench:\n    drivers: {}\n", ":bench", ["edgeai_target: cortex-m4", "targets: bench"]),
    ("targets:\n  main:\n    options: {edgeai_target: cortex-m4}\n", "", ["has no console driver"]),
    (QEMU_ROLE % ("", "qemu-system-arm"), "", ["needs 'kernel: <image name>'"]),
])
def test_a_bad_place_is_named_before_anything_runs(tmp_path, monkeypatch, capsys, body, role, words):
    cache = tmp_path / "cache"
    monkeypatch.setenv("EDGEAI_CACHE", str(cache))
    target = (_env(tmp_path, body) if body else f"labgrid:{tmp_path / 'missing.yaml'}") + role
    assert main(["validate", str(tflite("ad01_int8")), "--target", target, "--count", "1"]) == 4  # TargetError
    err = capsys.readouterr().err
    assert err.startswith("edgeai: error: ") and "Traceback" not in err
    assert all(w in err for w in words), err
    assert not (cache / "libraries").exists()  # refused before compiling


@pytest.mark.qemu
@pytest.mark.toolchain
def test_a_place_that_cannot_boot_is_named(tmp_path, tmp_cache, capsys):
    target = _env(tmp_path, QEMU_ROLE % (", kernel: firmware", "/nonexistent/qemu-system-arm"))
    assert main(["validate", str(tflite("ad01_int8")), "--target", target, "--count", "1"]) == 6  # RuntimeFailure
    err = capsys.readouterr().err
    assert "labgrid place 'main'" in err and "booting bench-cortex-m4.elf failed" in err, err
    assert "/nonexistent/qemu-system-arm" in err and "Traceback" not in err
    assert _our_qemus() == []  # no QEMU of ours left behind


BOARD_ROLE = """imports: [{loader}]
targets:
  main:
    options: {{edgeai_target: cortex-m4}}
    resources:
      NetworkSerialPort: {{host: 127.0.0.1, port: {port}, speed: 115200, protocol: raw}}
    drivers:
      SerialDriver: {{}}
      ExternalPowerDriver: {{cmd_on: "sh -c 'echo on >> {journal}'", cmd_off: "sh -c 'echo off >> {journal}'", delay: 0.0}}
      QemuLoader: {{port: {port}, journal: {journal}}}
"""


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.toolchain
def test_a_board_place_is_powered_flashed_and_run_over_labgrids_serial_driver(tmp_path, tmp_cache, capsys):
    from edgeai.emulator import free_port

    journal = tmp_path / "journal.txt"
    loader = Path(__file__).with_name("labgrid_qemu_board.py")
    target = _env(tmp_path, BOARD_ROLE.format(loader=loader, port=free_port(), journal=journal))
    assert main(["validate", str(tflite("ad01_int8")), "--target", target, "--count", "3", "--require-exact",
                 "--json"]) == 0
    (out,) = json.loads(capsys.readouterr().out)["outputs"]
    assert out["bit_exact"] == out["samples"] == 3
    on, load, off = journal.read_text().splitlines()  # switched on, then flashed, and off again at the end
    assert (on, off) == ("on", "off") and load.startswith("load ") and load.endswith("/bench-cortex-m4.elf")
    assert _our_qemus() == []


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.toolchain
def test_a_bench_suite_measures_a_labgrid_board(tmp_path, tmp_cache):
    from edgeai.bench import load_suite, run_suite
    from edgeai.bench.jobs import measure

    suite_file = tmp_path / "suite.json"
    suite_file.write_text(json.dumps({"name": "farm", "samples": 2, "targets": [], "boards": [{"labgrid": str(PLACE)}],
                                      "models": [{"name": "ad", "tflite": "mlperf_tiny/ad01_int8.tflite"}]}))
    suite = load_suite(suite_file)
    (board,) = run_suite(suite, progress=False)["results"]
    assert board["status"] == "ok", board.get("error")
    assert (board["target"], board["board_target"]) == (f"labgrid:{PLACE}", "cortex-m4")
    assert board["bit_exact"] == board["samples"] == 2
    (emulated,) = measure(suite.models[0], "cortex-m4", 2, 1)  # the same job under edgeai's own QEMU runner
    assert board["instructions"] == emulated["instructions"] > 100_000


REMOTE_PLACE = "edgeai-board"
REMOTE_ROLE = """imports: [{loader}]
options: {{coordinator_address: "{address}"}}
targets:
  main:
    options: {{edgeai_target: cortex-m4}}
    resources:
      RemotePlace: {{name: {place}}}
    drivers:
      SerialDriver: {{}}
      ExternalPowerDriver: {{cmd_on: "sh -c '{client} -x {address} -p {place} show >> {journal}'", cmd_off: "true", delay: 0.0}}
      QemuLoader: {{port: {port}, journal: {journal}}}
"""


class Lab:
    """A labgrid coordinator on 127.0.0.1, an exporter offering one board's UART and a place matching it."""

    def __init__(self, folder: Path):
        from edgeai.emulator import free_port

        self.folder, self.address, self.board_port = folder, f"127.0.0.1:{free_port()}", free_port()
        self.bin = Path(sys.executable).parent
        self.processes, self.channel = [], None
        from labgrid.remote.generated import labgrid_coordinator_pb2 as messages

        self.messages = messages

    def start(self):
        # The board's UART as a lab's exporter publishes a ser2net port: a NetworkSerialPort at QemuLoader's port.
        (self.folder / "exporter.yaml").write_text(f"board:\n  NetworkSerialPort: {{host: 127.0.0.1, port: "
                                                   f"{self.board_port}, speed: 115200, protocol: raw}}\n")
        self._spawn("labgrid-coordinator", "-l", self.address)
        host, port = self.address.split(":")
        _wait(lambda: _accepts(host, int(port)), "the coordinator to listen")
        self._spawn("labgrid-exporter", "-c", self.address, "-n", "lab1", "exporter.yaml")
        # What `labgrid-client -p edgeai-board create` and `add-match lab1/board/NetworkSerialPort` ask of the
        # coordinator, without two more labgrid-client start-ups (~2 s each).
        self.coordinator().AddPlace(self.messages.AddPlaceRequest(name=REMOTE_PLACE), timeout=10)
        self.coordinator().AddPlaceMatch(self.messages.AddPlaceMatchRequest(
            placename=REMOTE_PLACE, pattern="lab1/board/NetworkSerialPort"), timeout=10)
        # The exporter logs this once its resources went out to the coordinator.
        _wait(lambda: "creating poll task" in (self.folder / "labgrid-exporter.log").read_text(), "the exporter")

    def _spawn(self, tool, *args):
        log = open(self.folder / f"{tool}.log", "w")
        self.processes.append(subprocess.Popen([str(self.bin / tool), *args], cwd=self.folder, stdout=log,
                                               stderr=subprocess.STDOUT))

    def client(self, *args, place=REMOTE_PLACE, user=None) -> str:
        """labgrid-client, as a lab types it (as another user: LG_USERNAME, the name labgrid gives the holder)."""
        env = {**os.environ, **({"LG_USERNAME": user} if user else {})}
        command = [str(self.bin / "labgrid-client"), "-x", self.address, *(["-p", place] if place else []), *args]
        return subprocess.run(command, env=env, check=True, capture_output=True, text=True, timeout=30).stdout

    def coordinator(self):
        """The coordinator's own gRPC API, on a channel of the test's (not edgeai's session)."""
        import grpc
        from labgrid.remote.generated.labgrid_coordinator_pb2_grpc import CoordinatorStub

        if self.channel is None:
            self.channel = grpc.insecure_channel(self.address)
        return CoordinatorStub(self.channel)

    def holder(self) -> str:
        """Who holds the place, as the coordinator says."""
        places = self.coordinator().GetPlaces(self.messages.GetPlacesRequest(), timeout=10).places
        (place,) = [p for p in places if p.name == REMOTE_PLACE]
        return place.acquired or "None"

    def stop(self):
        if self.channel is not None:
            self.channel.close()
        for process in self.processes:  # their graceful shutdown is not under test: SIGKILL, no wait for it
            process.kill()
            process.wait(timeout=10)


def _accepts(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) == 0


def _wait(ready, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("labgrid-lab"))
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()


def _remote_env(lab, tmp_path, place=REMOTE_PLACE):
    journal = tmp_path / "journal.txt"
    loader = Path(__file__).with_name("labgrid_qemu_board.py")
    return _env(tmp_path, REMOTE_ROLE.format(loader=loader, address=lab.address, place=place, port=lab.board_port,
                                             journal=journal, client=lab.bin / "labgrid-client")), journal


def _me() -> str:
    import getpass

    return f"{os.environ.get('LG_HOSTNAME', socket.gethostname())}/{os.environ.get('LG_USERNAME', getpass.getuser())}"


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.toolchain
def test_a_place_behind_a_coordinator_is_acquired_for_the_run_and_released(lab, tmp_path, tmp_cache, capsys):
    target, journal = _remote_env(lab, tmp_path)
    assert lab.holder() == "None"
    assert main(["validate", str(tflite("ad01_int8")), "--target", target, "--count", "2", "--require-exact",
                 "--json"]) == 0
    (out,) = json.loads(capsys.readouterr().out)["outputs"]
    assert out["bit_exact"] == out["samples"] == 2
    # At power-on (before flashing) the coordinator had the place acquired by edgeai's user: labgrid-client said so.
    shown, load = journal.read_text().split("\nload ")
    assert f"acquired: {_me()}" in shown and load.strip().endswith("/bench-cortex-m4.elf")
    assert lab.holder() == "None"  # released after the run
    assert _our_qemus() == []


@pytest.mark.slow  # a coordinator and labgrid-client calls (~2 s each: labgrid's imports)
def test_a_place_acquired_by_another_user_is_refused_naming_the_holder(lab, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EDGEAI_CACHE", str(tmp_path / "cache"))
    target, _ = _remote_env(lab, tmp_path)
    lab.client("acquire", user="alice")
    try:
        code = main(["validate", str(tflite("ad01_int8")), "--target", target, "--count", "1"])
        assert lab.holder().endswith("/alice")  # refused, not taken from alice
    finally:
        lab.client("release", user="alice")
    err = capsys.readouterr().err
    assert code == 10, err  # PlaceUnavailable
    assert f"labgrid place '{REMOTE_PLACE}' is acquired by " in err and "/alice" in err and "Traceback" not in err
    # A place the coordinator does not know is named with the places it knows.
    target, _ = _remote_env(lab, tmp_path, place="no-such-board")
    assert main(["validate", str(tflite("ad01_int8")), "--target", target, "--count", "1"]) == 10
    err = capsys.readouterr().err
    assert "no place 'no-such-board'" in err and f"its places: {REMOTE_PLACE}" in err, err
    assert not (tmp_path / "cache" / "libraries").exists()  # refused before compiling


@pytest.mark.slow  # a coordinator and labgrid-client calls (~2 s each: labgrid's imports)
def test_a_place_is_released_on_ctrl_c_and_a_users_own_hold_is_left_to_them(lab, tmp_path, monkeypatch, capsys):
    import edgeai.compile

    def interrupted(*args, **kwargs):
        assert lab.holder() == _me()  # acquired before the compile, so a busy place is refused before it
        raise KeyboardInterrupt

    monkeypatch.setattr(edgeai.compile, "compile_model", interrupted)
    target, _ = _remote_env(lab, tmp_path)
    assert main(["validate", str(tflite("ad01_int8")), "--target", target, "--count", "1"]) == 130
    assert "edgeai: interrupted" in capsys.readouterr().err and lab.holder() == "None"
    # Acquired by the user beforehand (labgrid-client acquire): edgeai uses it and leaves it acquired.
    lab.client("acquire")
    try:
        assert main(["validate", str(tflite("ad01_int8")), "--target", target, "--count", "1"]) == 130
        assert lab.holder() == _me()
    finally:
        lab.client("release")
