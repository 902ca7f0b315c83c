"""Power-monitor adapters, driven through simulators of the vendors' packages at their Python APIs
(joulescope: scan_require_one/read; ppk2-api: PPK2_API), since no monitor is attached here."""

import sys
import time
import types

import numpy as np
import pytest

from edgeai.errors import EdgeAIError
from edgeai.power import measure_energy, open_monitor

VOLTS = 3.3
IDLE_A, ACTIVE_A = 0.004, 0.016  # a board idling at 13.2 mW and running at 52.8 mW
SECONDS, INFERENCES = 0.4, 8
EXPECTED_J = (ACTIVE_A - IDLE_A) * VOLTS * SECONDS / INFERENCES  # 1.98 mJ per inference


class Board:
    """The device under test: draws more current while its workload runs."""

    active = False

    def current(self) -> float:
        return ACTIVE_A if self.active else IDLE_A

    def workload(self) -> int:
        self.active = True
        time.sleep(SECONDS)
        self.active = False
        return INFERENCES


@pytest.fixture
def board():
    return Board()


@pytest.fixture
def fake_joulescope(monkeypatch, board):
    rng = np.random.default_rng(0)

    class Device:
        opened = 0

        def __enter__(self):
            Device.opened += 1
            return self

        def __exit__(self, *exc):
            return False

        def read(self, contiguous_duration):
            n = max(int(contiguous_duration * 20_000), 1)
            time.sleep(contiguous_duration)  # a real read blocks for the duration it captures
            current = board.current() + rng.normal(0, 1e-4, n)
            return np.stack([current, np.full(n, VOLTS)], axis=1).astype(np.float32)

    module = types.SimpleNamespace(scan_require_one=lambda config: Device())
    monkeypatch.setitem(sys.modules, "joulescope", module)
    return Device


@pytest.fixture
def fake_ppk2(monkeypatch, board):
    calls = []

    class PPK2_API:
        def __init__(self, port, timeout=1, write_timeout=1, exclusive=True):
            calls.append(("open", port))
            self.measuring = False
            self.last = time.monotonic()

        @staticmethod
        def list_devices():
            return [("/dev/ttyACM0", "C5A1E2")]

        def get_modifiers(self):
            calls.append(("modifiers",))

        def set_source_voltage(self, mv):
            calls.append(("voltage", mv))

        def use_source_meter(self):
            calls.append(("source",))

        def toggle_DUT_power(self, state):
            calls.append(("power", state))

        def start_measuring(self):
            self.measuring, self.last = True, time.monotonic()

        def stop_measuring(self):
            self.measuring = False

        def get_data(self):
            # 4 bytes per sample on the wire, 100 samples per millisecond.
            time.sleep(0.002)
            now = time.monotonic()
            n = int((now - self.last) * 100_000)
            self.last = now
            return bytes(4 * n)

        def get_samples(self, data):
            n = len(data) // 4
            return [board.current() * 1e6] * n, [0] * n

    package = types.ModuleType("ppk2_api")
    module = types.ModuleType("ppk2_api.ppk2_api")
    module.PPK2_API = PPK2_API
    package.ppk2_api = module
    monkeypatch.setitem(sys.modules, "ppk2_api", package)
    monkeypatch.setitem(sys.modules, "ppk2_api.ppk2_api", module)
    return calls


def test_joulescope_energy_per_inference(fake_joulescope, board):
    result = measure_energy(open_monitor("joulescope"), board.workload, idle_seconds=0.1)
    assert result.idle_power_w == pytest.approx(IDLE_A * VOLTS, rel=0.02)
    assert result.active_power_w == pytest.approx(ACTIVE_A * VOLTS, rel=0.1)
    assert result.energy_per_inference_j == pytest.approx(EXPECTED_J, rel=0.25)
    assert result.inferences == INFERENCES and result.estimate is False


def test_ppk2_sources_the_board_and_measures(fake_ppk2, board):
    monitor = open_monitor("ppk2@3300")
    assert ("voltage", 3300) in fake_ppk2 and ("power", "ON") in fake_ppk2 and ("open", "/dev/ttyACM0") in fake_ppk2
    result = measure_energy(monitor, board.workload, idle_seconds=0.1)
    assert result.idle_power_w == pytest.approx(IDLE_A * VOLTS, rel=0.01)
    assert result.energy_per_inference_j == pytest.approx(EXPECTED_J, rel=0.25)


def test_missing_packages_and_unknown_monitor_are_clear(monkeypatch):
    monkeypatch.setitem(sys.modules, "joulescope", None)
    with pytest.raises(EdgeAIError, match="pip install joulescope"):
        open_monitor("joulescope")
    with pytest.raises(EdgeAIError, match="unknown power monitor 'otii'"):
        open_monitor("otii")


@pytest.mark.toolchain
def test_bench_measures_a_serial_board_with_a_monitor(fake_ppk2, tmp_path, tmp_cache):
    """A "board" on a pyserial URL: here the firmware built for the host, serving its socket."""
    import json

    from edgeai.bench import load_suite, run_suite
    from edgeai.compile import compile_model
    from edgeai.runtime.device import _start_process, build_firmware
    from edgeai.targets import load_target

    from conftest import tflite

    lib = compile_model(tflite("ad01_int8"), "host").path
    board = _start_process(load_target("host"), build_firmware(lib, "host"))
    try:
        suite = tmp_path / "suite.json"
        suite.write_text(json.dumps({"name": "board", "samples": 2, "models": [
            {"name": "ad", "tflite": str(tflite("ad01_int8"))}],
            "boards": [{"port": board.url, "target": "host", "power": "ppk2@1800", "repeat": 20}]}))
        (result,) = run_suite(load_suite(suite), progress=False)["results"]
    finally:
        board.stop()
    assert result["status"] == "ok", result.get("error")
    assert result["bit_exact"] == 2 and result["target"] == f"serial:{board.url}"
    assert result["energy"]["monitor"] == "PPK2Monitor" and result["energy"]["estimate"] is False
    assert result["energy"]["idle_power_w"] == pytest.approx(IDLE_A * 1.8, rel=0.01)
