"""Sessions that talk the serial protocol to the benchmark firmware: QEMU Cortex-M, aarch64 under
qemu-aarch64 (counting) or qemu-aarch64-static, a process on this machine, or a real board on a serial port. One
client for all."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from edgeai.errors import RuntimeFailure, TargetError, ToolchainError
from edgeai.firmware import HOST_PORT, RUNTIME_DIR, bench_binding, firmware_sources, model_id
from edgeai.protocol import Client, DeviceInfo, DeviceReset, DeviceStatus, LinkLost
from edgeai.runtime.session import RunStats, TensorSpec, check_inputs
from edgeai.targets import Target, load_target

PORTS_DIR = RUNTIME_DIR / "ports"
CMSDK_PORT = PORTS_DIR / "cmsdk_uart_port.c"  # a board's UART (and QEMU's model of it)
SEMIHOST_PORT = PORTS_DIR / "semihost_link_port.c"  # emulation only: bytes in blocks on QEMU's stdin/stdout
CORTEX_M_CLOCK = PORTS_DIR / "cortex_m_clock.c"
CORTEX_M_PORT = [CMSDK_PORT, CORTEX_M_CLOCK]
SEMIHOST_SUFFIX = "-semihost"  # the firmware's file name says which link it speaks


def build_firmware(lib_dir: str | Path, target: str | Target, opt: str = "-O2", link: str = "uart") -> Path:
    """The benchmark firmware for a compiled library: model + runtime + protocol + the target's port.

    link="uart" is what a board runs (and `compile --build` writes); link="semihosting" is the same firmware
    with its bytes on QEMU's semihosting console, for emulation only (many times faster under QEMU)."""
    from edgeai.build import build_program

    if link not in ("uart", "semihosting"):
        raise ValueError(f"unknown link {link!r}")
    tgt = load_target(target)
    lib_dir = Path(lib_dir)
    semihost = tgt.is_cortex_m and link == "semihosting"
    port = ([SEMIHOST_PORT, CORTEX_M_CLOCK] if semihost else CORTEX_M_PORT) if tgt.is_cortex_m else [HOST_PORT]
    return build_program(tgt, firmware_sources(lib_dir) + port, lib_dir / "build",
                         include_dirs=[lib_dir, RUNTIME_DIR, PORTS_DIR], opt=opt,
                         name=f"bench-{tgt.name}{SEMIHOST_SUFFIX if semihost else ''}",
                         generated=bench_binding(lib_dir, tgt.clock_hz or 0, tgt.name))


# How long one inference may take before the device counts as dead, from the model's work: 64 cycles per MAC at
# the clock the device reports (float kernels on a core without a vector unit), and never less than 1 us per
# MAC (an emulator on a loaded machine). Generous on purpose: it only bounds the wait for a dead device.
CYCLES_PER_MAC = 64
MIN_SECONDS_PER_MAC = 1e-6
RECOVERIES = 2  # device restarts survived in one run() before giving up


class FirmwareMismatch(RuntimeFailure):
    """The device runs firmware built for another model or library than the session's."""


def run_budget(macs: int, clock_hz: int) -> float:
    """Seconds one inference of `macs` multiply-accumulates may take on a device clocked at clock_hz."""
    per_mac = max(CYCLES_PER_MAC / clock_hz if clock_hz else 0.0, MIN_SECONDS_PER_MAC)
    return macs * per_mac


def check_firmware(info: DeviceInfo, lib_dir: Path, desc: dict, where: str) -> None:
    """The device must run the firmware of this very library: anything else would give another model's outputs."""
    want = model_id(lib_dir)
    if info.model_id != want:
        raise FirmwareMismatch(
            f"{where}: the device runs firmware for model {info.name!r} on {info.target or '?'} (library id "
            f"{info.model_id.hex()}), but {lib_dir} is {desc['model']!r} for {desc.get('target', '?')} (id "
            f"{want.hex()}): flash the firmware `edgeai compile --target {desc.get('target', '<t>')} --build -o "
            f"{lib_dir}` wrote, or pass --library with the folder of the build that is on the device")
    if (info.input_size, info.output_size) != (desc["input_size"], desc["output_size"]):
        raise FirmwareMismatch(f"{where}: the device runs {info.name!r} with input/output of {info.input_size}/"
                               f"{info.output_size} bytes, the library describes {desc['input_size']}/"
                               f"{desc['output_size']}: flash the matching firmware")


class DeviceSession:
    """Runs a compiled model behind the protocol; instructions come from the emulator when it counts them.

    A device that restarts (its BOOT frame arrives, or it says its input upload is incomplete) or whose link
    drops and can be reopened is recovered: the session checks it still runs the same firmware and does the
    inference again from the upload."""

    def __init__(self, client: Client, desc: dict, where: str, counter=None, lib_dir: Path | None = None,
                 class_counter=None):
        self.client = client
        self.desc = desc
        self.where = where
        self.lib_dir = lib_dir
        self._counter = counter  # () -> list of per-inference instruction counts so far
        self._class_counter = class_counter  # () -> list of per-inference instruction classes so far
        self.recoveries = 0  # device restarts or reconnections this session survived
        self.info = self._hello()
        self.inputs = [TensorSpec(t["name"], t["dtype"], tuple(t["shape"]), t["scale"], t["zero_point"])
                       for t in desc["inputs"]]
        self.outputs = [TensorSpec(t["name"], t["dtype"], tuple(t["shape"]), t["scale"], t["zero_point"])
                        for t in desc["outputs"]]
        self.stats = RunStats()

    def _hello(self) -> DeviceInfo:
        info = self.client.hello()
        if self.lib_dir is not None:
            check_firmware(info, self.lib_dir, self.desc, self.where)
        elif (info.input_size, info.output_size) != (self.desc["input_size"], self.desc["output_size"]):
            raise FirmwareMismatch(f"{self.where}: the device runs {info.name!r} with input/output of "
                                   f"{info.input_size}/{info.output_size} bytes, the library describes "
                                   f"{self.desc['input_size']}/{self.desc['output_size']}: flash the matching firmware")
        if self.desc.get("macs"):
            self.client.run_seconds = run_budget(self.desc["macs"], info.clock_hz)
        return info

    def run(self, inputs, repeat: int = 1) -> list[np.ndarray]:
        arrays = check_inputs(self.inputs, inputs, self.where)
        blob = bytearray(self.desc["input_size"])
        for t, a in zip(self.desc["inputs"], arrays):
            blob[t["offset"]: t["offset"] + t["nbytes"]] = a.tobytes()
        for attempt in range(RECOVERIES + 1):
            try:
                out, wall, cycles, before = self._infer(bytes(blob), repeat)
                break
            except (DeviceReset, LinkLost, DeviceStatus) as e:
                lost_input = isinstance(e, DeviceStatus) and e.status == 9  # a restart we did not see
                if attempt == RECOVERIES or (isinstance(e, DeviceStatus) and not lost_input):
                    raise
                self._recover(e)
        instructions = None
        if self._counter:
            counts = self._wait_counts(before + repeat)
            instructions = counts[-1] if counts else None
        extra = {"ticks": cycles}
        if self._class_counter and instructions is not None:
            classes = self._class_counter()  # complete up to the last instructions line
            if len(classes) >= len(counts):
                extra["instruction_classes"] = classes[len(counts) - 1]
        self.stats = RunStats(wall_seconds=wall, instructions=instructions, extra=extra)
        return [np.frombuffer(out[t["offset"]: t["offset"] + t["nbytes"]], t["dtype"]).reshape(t["shape"]).copy()
                for t in self.desc["outputs"]]

    def _infer(self, blob: bytes, repeat: int):
        self.client.write_input(blob)
        before = len(self._counter()) if self._counter else 0
        start = time.perf_counter()
        status, cycles = self.client.run(repeat)
        wall = time.perf_counter() - start
        if status != 0:
            raise RuntimeFailure(f"{self.where}: the model returned status {status}")
        return self.client.read_output(), wall, cycles, before

    def _recover(self, error: Exception) -> None:
        """After a restart or a dropped link: reopen what needs reopening, check the firmware again."""
        if isinstance(error, LinkLost):
            self._reopen(error)
        self.recoveries += 1
        self.client.info = None
        self.info = self._hello()

    def _reopen(self, error: Exception) -> None:
        raise error  # only a session that opened its port by name can open it again

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
    """The firmware in QEMU behind the same client a board gets.

    Cortex-M: without `elf`, the firmware is built with the semihosting link (its bytes on QEMU's stdin/stdout,
    in blocks: fast); an `elf` is served on the link its name says, UART0 on a TCP socket for the firmware a
    board runs (`build_firmware(...)`), the pipe for `build_firmware(..., link="semihosting")`. With
    count_classes the plugin also counts each inference's instructions by class: stats.extra["instruction_classes"]
    (edgeai.cycles turns them into a cycle estimate)."""

    def __init__(self, lib_dir: str | Path, target: str = "cortex-m4", timeout: float = 20.0, elf: Path | None = None,
                 count_classes: bool = False):
        from edgeai.emulator import start_program

        tgt = load_target(target)
        lib_dir = Path(lib_dir)
        desc = json.loads((lib_dir / "model.json").read_text())
        elf = Path(elf) if elf else build_firmware(lib_dir, tgt, link="semihosting")
        self.elf, self.target, self.lib_dir = elf, tgt, lib_dir
        counter = class_counter = None
        if tgt.is_cortex_m and elf.stem.endswith(SEMIHOST_SUFFIX):
            self.emulator = start_program(tgt, elf, count_instructions=True, serial="pipe", count_classes=count_classes)
            link, counter = self.emulator.pipe_link(), self.emulator.instruction_counts
        elif tgt.is_cortex_m:
            self.emulator = start_program(tgt, elf, count_instructions=True, wait_for_client=True,
                                          count_classes=count_classes)
            link, counter = _open_url(self.emulator.url, timeout), self.emulator.instruction_counts
        else:
            self.emulator = _start_process(tgt, elf)
            link = _open_url(self.emulator.url, timeout)
            counter = self.emulator.instruction_counts if self.emulator.count_file else None
        if counter is not None and count_classes and tgt.is_cortex_m:  # classes decode Thumb only
            class_counter = self.emulator.instruction_classes
        try:
            super().__init__(Client(link, timeout=timeout), desc, f"{tgt.name} ({elf.name})", counter, lib_dir,
                             class_counter)
        except BaseException:
            self.emulator.stop()
            raise

    def close(self) -> None:
        super().close()
        self.emulator.stop()


DEFAULT_BAUD = 115200


def parse_serial(spec: str, baudrate: int | None = None) -> tuple[str, int]:
    """`serial:PORT[@BAUD]` (or just PORT[@BAUD]) -> (port, baud rate); an explicit baudrate wins."""
    port = spec[len("serial:"):] if spec.startswith("serial:") else spec
    head, at, tail = port.rpartition("@")
    if at and tail.isdigit():
        port, baud = head, int(tail)
    else:
        baud = DEFAULT_BAUD
    if not port:
        raise RuntimeFailure(f"{spec!r}: no serial port named (serial:/dev/ttyUSB0, serial:/dev/ttyACM0@115200)")
    return port, int(baudrate or baud)


def open_serial(port: str, baudrate: int = DEFAULT_BAUD):
    """A serial port (device node or pyserial URL) opened for the protocol: raw 8N1, no flow control, short reads,
    and whatever a previous user left in its buffers dropped."""
    import serial

    try:
        link = serial.serial_for_url(port, baudrate=baudrate, timeout=0.05, write_timeout=10.0)
    except (serial.SerialException, ValueError, OSError) as e:
        raise RuntimeFailure(f"cannot open serial port {port}: {e}") from None
    try:
        link.reset_input_buffer()
    except (serial.SerialException, OSError, AttributeError):
        pass
    return link


class SerialSession(DeviceSession):
    """A board running the benchmark firmware, on a serial port: a device node or pyserial URL it opens (and
    opens again after the board's USB serial port went away in a reset), or any open object with read(n) and
    write (a pyserial port, a labgrid console wrapped to that shape)."""

    def __init__(self, lib_dir: str | Path, port, baudrate: int = DEFAULT_BAUD, timeout: float = 10.0,
                 reopen_seconds: float = 10.0, link=None):
        """port: a device node or pyserial URL (link: that port already open), or an open read/write object."""
        self.lib_dir = Path(lib_dir)
        desc = json.loads((self.lib_dir / "model.json").read_text())
        self.port_name = port if isinstance(port, str) else None
        self.baudrate = baudrate
        self.reopen_seconds = reopen_seconds
        if link is None:
            link = open_serial(port, baudrate) if isinstance(port, str) else port
        where = f"serial:{self.port_name}" if self.port_name else f"serial link {type(port).__name__}"
        try:
            super().__init__(Client(link, timeout=timeout, baudrate=baudrate), desc, where, lib_dir=self.lib_dir)
        except BaseException:
            if self.port_name:
                link.close()
            raise

    def _reopen(self, error: Exception) -> None:
        if self.port_name is None:
            raise error
        try:
            self.client.port.close()
        except Exception:  # noqa: BLE001 - it is already gone
            pass
        deadline = time.monotonic() + self.reopen_seconds
        while True:
            try:
                self.client.port = open_serial(self.port_name, self.baudrate)
                return
            except RuntimeFailure:
                if time.monotonic() > deadline:
                    raise LinkLost(f"{self.where}: the port went away ({error}) and did not come back within "
                                   f"{self.reopen_seconds:g} s") from None
                time.sleep(0.2)

    def close(self) -> None:
        if self.port_name:
            super().close()


class _Process:
    """The benchmark program as a Linux process (natively or under qemu-aarch64), serving one TCP link; under the
    counting qemu-aarch64 the plugin writes its per-inference counts to `count_file`."""

    def __init__(self, proc: subprocess.Popen, port: int, workdir: Path | None = None):
        self.process, self.port, self.workdir = proc, port, workdir

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    @property
    def count_file(self) -> Path | None:
        return self.workdir / "regions.txt" if self.workdir else None

    def instruction_counts(self) -> list[int]:
        from edgeai.emulator import read_counts

        return read_counts(self.count_file)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _start_process(target: Target, elf: Path, startup_timeout: float = 20.0) -> _Process:
    workdir = None
    if target.qemu and "user" in target.qemu:
        from edgeai.emulator import counting_emulator, user_mode_command

        workdir = Path(tempfile.mkdtemp(prefix="edgeai-run-")) if counting_emulator(target) else None
        cmd = user_mode_command(target, elf, workdir / "regions.txt" if workdir else None)
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
    return _Process(proc, int(line.split()[-1]), workdir)


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
                      f"{', '.join('qemu:' + d for d in devices)} (or the name alone), serial:<port>[@<baud>], labgrid:<ENV.yaml>[:<role>]")


def open_session(lib_dir: str | Path, target: str, baudrate: int | None = None, timeout: float | None = None):
    """`host` runs in-process; `qemu:<target>` or a target name runs the firmware; `serial:<port>[@baud]` a board."""
    from edgeai.runtime.host import HostSession

    session_target(target)
    if target == "host":
        return HostSession(lib_dir)
    if target.startswith("serial:"):
        port, baud = parse_serial(target, baudrate)
        return SerialSession(lib_dir, port, baud, **({"timeout": timeout} if timeout else {}))
    return QemuSession(lib_dir, target.split(":", 1)[1] if target.startswith("qemu:") else target,
                       **({"timeout": timeout} if timeout else {}))
