"""Sessions that talk the serial protocol to the benchmark firmware: QEMU Cortex-M, aarch64 under
qemu-aarch64-static, a process on this machine, or a real board on a serial port. One client for all."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np

from edgeai.errors import RuntimeFailure, TargetError, ToolchainError
from edgeai.firmware import HOST_PORT, RUNTIME_DIR, bench_binding, firmware_sources
from edgeai.protocol import Client
from edgeai.runtime.session import RunStats, TensorSpec, check_inputs
from edgeai.targets import Target, load_target

CMSDK_PORT = RUNTIME_DIR / "ports" / "cmsdk_uart_port.c"


def build_firmware(lib_dir: str | Path, target: str | Target, opt: str = "-O2") -> Path:
    """The benchmark firmware for a compiled library: model + runtime + protocol + the target's port."""
    from edgeai.build import build_program

    tgt = load_target(target)
    lib_dir = Path(lib_dir)
    port = CMSDK_PORT if tgt.is_cortex_m else HOST_PORT
    return build_program(tgt, firmware_sources(lib_dir) + [port], lib_dir / "build",
                         include_dirs=[lib_dir, RUNTIME_DIR], opt=opt, name=f"bench-{tgt.name}",
                         generated=bench_binding(lib_dir, tgt.clock_hz or 0))


class DeviceSession:
    """Runs a compiled model behind the protocol; instructions come from the emulator when it counts them."""

    def __init__(self, client: Client, desc: dict, where: str, counter=None):
        self.client = client
        self.desc = desc
        self.where = where
        self._counter = counter  # () -> list of per-inference instruction counts so far
        self.info = client.hello()
        if (self.info.input_size, self.info.output_size) != (desc["input_size"], desc["output_size"]):
            raise RuntimeFailure(f"{where}: the device runs {self.info.name!r} with input/output of "
                                 f"{self.info.input_size}/{self.info.output_size} bytes, the library describes "
                                 f"{desc['input_size']}/{desc['output_size']}: flash the matching firmware")
        self.inputs = [TensorSpec(t["name"], t["dtype"], tuple(t["shape"]), t["scale"], t["zero_point"])
                       for t in desc["inputs"]]
        self.outputs = [TensorSpec(t["name"], t["dtype"], tuple(t["shape"]), t["scale"], t["zero_point"])
                        for t in desc["outputs"]]
        self.stats = RunStats()

    def run(self, inputs, repeat: int = 1) -> list[np.ndarray]:
        arrays = check_inputs(self.inputs, inputs, self.where)
        blob = bytearray(self.desc["input_size"])
        for t, a in zip(self.desc["inputs"], arrays):
            blob[t["offset"]: t["offset"] + t["nbytes"]] = a.tobytes()
        self.client.write_input(bytes(blob))
        before = len(self._counter()) if self._counter else 0
        start = time.perf_counter()
        status, cycles = self.client.run(repeat)
        wall = time.perf_counter() - start
        if status != 0:
            raise RuntimeFailure(f"{self.where}: the model returned status {status}")
        out = self.client.read_output()
        instructions = None
        if self._counter:
            counts = self._wait_counts(before + repeat)
            instructions = counts[-1] if counts else None
        self.stats = RunStats(wall_seconds=wall, instructions=instructions, extra={"ticks": cycles})
        return [np.frombuffer(out[t["offset"]: t["offset"] + t["nbytes"]], t["dtype"]).reshape(t["shape"]).copy()
                for t in self.desc["outputs"]]

    def _wait_counts(self, n: int) -> list[int]:
        # The plugin flushes its line when the end marker executes, just before the answer is sent.
        deadline = time.monotonic() + 2.0
        counts = self._counter()
        while len(counts) < n and time.monotonic() < deadline:
            time.sleep(0.005)
            counts = self._counter()
        return counts

    def close(self) -> None:
        close = getattr(self.client.port, "close", None)
        if close:
            close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _open_url(url: str, timeout: float):
    import serial

    try:
        return serial.serial_for_url(url, timeout=0.05)
    except (serial.SerialException, ValueError) as e:
        raise RuntimeFailure(f"cannot open {url}: {e}") from None


class QemuSession(DeviceSession):
    """The firmware in QEMU with its UART on a socket: the same client a board gets, over TCP."""

    def __init__(self, lib_dir: str | Path, target: str = "cortex-m4", timeout: float = 20.0, elf: Path | None = None):
        from edgeai.emulator import start_program

        tgt = load_target(target)
        lib_dir = Path(lib_dir)
        desc = json.loads((lib_dir / "model.json").read_text())
        elf = elf or build_firmware(lib_dir, tgt)
        self.elf, self.target, self.lib_dir = elf, tgt, lib_dir
        if tgt.is_cortex_m:
            self.emulator = start_program(tgt, elf, count_instructions=True, wait_for_client=True)
            url, counter = self.emulator.url, self.emulator.instruction_counts
        else:
            self.emulator = _start_process(tgt, elf)
            url, counter = self.emulator.url, None
        try:
            super().__init__(Client(_open_url(url, timeout), timeout=timeout), desc, f"{tgt.name} ({elf.name})",
                             counter)
        except BaseException:
            self.emulator.stop()
            raise

    def close(self) -> None:
        super().close()
        self.emulator.stop()


class SerialSession(DeviceSession):
    """A real board running the benchmark firmware, on a serial port (or any pyserial URL)."""

    def __init__(self, lib_dir: str | Path, port: str, baudrate: int = 115200, timeout: float = 10.0):
        import serial

        desc = json.loads((Path(lib_dir) / "model.json").read_text())
        try:
            link = serial.serial_for_url(port, baudrate=baudrate, timeout=0.05)
        except (serial.SerialException, ValueError) as e:
            raise RuntimeFailure(f"cannot open serial port {port}: {e}") from None
        super().__init__(Client(link, timeout=timeout), desc, port)


class _Process:
    """The benchmark program as a Linux process (natively or under qemu-aarch64-static), serving one TCP link."""

    def __init__(self, proc: subprocess.Popen, port: int):
        self.process, self.port = proc, port

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def _start_process(target: Target, elf: Path, startup_timeout: float = 20.0) -> _Process:
    if target.qemu and "user" in target.qemu:
        from edgeai.emulator import _need

        cmd = [_need(target.qemu["user"], "qemu-user-static"), str(elf)]
    else:
        cmd = [str(elf)]
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as e:
        raise ToolchainError(f"cannot start {elf}: {e}") from None
    line = b""
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline and not line.endswith(b"\n"):
        ch = proc.stdout.read(1)
        if not ch:
            break
        line += ch
    if not line.startswith(b"listening on "):
        proc.kill()
        raise RuntimeFailure(f"{elf.name} on {target.name} did not start its link: {line!r} "
                             f"{proc.stderr.read().decode(errors='replace')[-500:]}")
    return _Process(proc, int(line.split()[-1]))


def session_target(target: str) -> str:
    """The target a session string compiles for: `host`, `qemu:<target>` or `<target>` (a device target, its
    firmware under QEMU), `serial:<port>` (None: the board's own firmware). Anything else is refused, listing
    what is valid (`qemu:host` is no emulator: the host runs in-process)."""
    from edgeai.targets import list_targets

    devices = [t.name for t in list_targets() if not t.is_host]
    name = target[len("qemu:"):] if target.startswith("qemu:") else target
    if target == "host" or name in devices:
        return name
    if target.startswith("serial:") and len(target) > len("serial:"):
        return target
    raise TargetError(f"unknown session target {target!r}; valid: host, "
                      f"{', '.join('qemu:' + d for d in devices)} (or the name alone), serial:<port>")


def open_session(lib_dir: str | Path, target: str):
    """`host` runs in-process; `qemu:<target>` or a target name runs the firmware; `serial:<port>` a board."""
    from edgeai.runtime.host import HostSession

    session_target(target)
    if target == "host":
        return HostSession(lib_dir)
    if target.startswith("serial:"):
        return SerialSession(lib_dir, target.split(":", 1)[1])
    return QemuSession(lib_dir, target.split(":", 1)[1] if target.startswith("qemu:") else target)
