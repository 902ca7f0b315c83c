"""A labgrid place as an edgeai target: `labgrid:ENV.yaml[:ROLE]`.

The lab's labgrid environment describes the place (its console, power switch, flashing tool) and names the
edgeai target its board is (`options: {edgeai_target: cortex-m4}` under the role). edgeai compiles the model
for that target, builds the benchmark firmware, flashes it with the place's own drivers, powers the board and
runs the framed protocol over the place's console: the same client as for QEMU and a serial port.

Flashing, by what the role's drivers offer:
- a QEMUDriver: the firmware becomes its `kernel` image before QEMU starts (and, as under QemuSession, our
  instruction-counting plugin is added to its command line, so instructions are exact);
- otherwise a BootstrapProtocol driver (OpenOCDDriver, ...) loads the ELF and starts it, after the
  PowerProtocol driver (if any) has switched the board on. No reset follows: where the reset line is the power
  switch (labgrid's power drivers reset by cycling), a reset would wipe a firmware loaded to RAM.

A role behind a labgrid coordinator (a `RemotePlace` resource) has its place acquired when its target is first
needed and released with the place (edgeai.farm.coordinator).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from edgeai.errors import EdgeAIError, RuntimeFailure, TargetError
from edgeai.farm.console import ConsoleStream
from edgeai.protocol import Client
from edgeai.runtime.device import DeviceSession, build_firmware
from edgeai.targets import load_target

TARGET_OPTION = "edgeai_target"

# labgrid executes an environment's `imports:` (.py driver modules) each time it loads the environment and
# refuses a driver registered twice, so a process loads each environment file once (again when it changes).
_ENVIRONMENTS: dict[tuple[Path, int], object] = {}


def parse_place(spec: str) -> tuple[Path, str]:
    """`ENV.yaml` or `ENV.yaml:ROLE` (role `main` by default, labgrid's own default)."""
    path, sep, role = spec.rpartition(":")
    if sep and path and role and "/" not in role and not role.endswith((".yaml", ".yml")):
        return Path(path), role
    return Path(spec), "main"


def _labgrid():
    try:
        import labgrid  # noqa: F401
    except ImportError:
        raise TargetError("labgrid: targets need the labgrid package (pip install 'edgeai[farm]')") from None
    import labgrid.driver
    import labgrid.exceptions
    import labgrid.protocol

    return labgrid


class LabgridPlace:
    """One role of a labgrid environment, driven through labgrid's drivers by protocol."""

    def __init__(self, env_file: str | Path, role: str = "main"):
        lg = _labgrid()
        self.env_file, self.role = Path(env_file), role
        self.name = f"labgrid place {role!r} of {self.env_file}"
        if not self.env_file.is_file():
            raise TargetError(f"{self.env_file}: no such labgrid environment file")
        try:
            key = (self.env_file.resolve(), self.env_file.stat().st_mtime_ns)
            if key not in _ENVIRONMENTS:
                _ENVIRONMENTS[key] = lg.Environment(str(self.env_file))
            self.env = _ENVIRONMENTS[key]
            roles = list(self.env.config.get_targets() or {})
        except EdgeAIError:
            raise
        except Exception as e:  # labgrid reports a bad environment with many exception types
            raise TargetError(f"{self.name}: labgrid cannot load it: {type(e).__name__}: {e}") from None
        if role not in roles:
            raise TargetError(f"{self.env_file} has no role {role!r}; its roles: {', '.join(roles) or 'none'}")
        self._target = None
        self._hold = None  # the coordinator's places the role uses, while we hold them
        self._powered = None
        self._restore = []  # (driver, attribute, value) edgeai changed for one boot of a shared environment
        self._lg = lg

    @property
    def target(self):
        """The role's labgrid target, made on first use: a role behind a coordinator (RemotePlace resources)
        has its places acquired first, since labgrid expands a RemotePlace only for the user holding it."""
        if self._target is None:
            from edgeai.farm.coordinator import PlaceHold, remote_place_names

            names = remote_place_names(self.env.config.get_targets()[self.role])
            if names and self._hold is None:
                self._hold = PlaceHold(self.env, names, self.name)
            try:
                try:
                    self._target = self.env.get_target(self.role)
                except EdgeAIError:
                    raise
                except Exception as e:  # a driver or resource labgrid refuses, a place with an orphaned resource
                    raise TargetError(f"{self.name}: labgrid cannot make it: {type(e).__name__}: {e}") from None
            except BaseException:
                self.release()
                raise
        return self._target

    def release(self) -> None:
        """Release every driver of the role (QEMU is stopped) and the coordinator's places we acquired."""
        try:
            if self._target is not None:
                self._target.cleanup()
        finally:
            self._target = None
            hold, self._hold = self._hold, None
            if hold is not None:
                hold.release()

    def edgeai_target(self) -> str:
        options = (self.env.config.get_targets()[self.role] or {}).get("options") or {}
        if TARGET_OPTION not in options:
            raise TargetError(f"{self.name}: say which edgeai target its board is, e.g. "
                              f"'options: {{{TARGET_OPTION}: cortex-m4}}' under targets: {self.role}:")
        return str(options[TARGET_OPTION])

    def driver(self, kind):
        """The role's driver for a protocol or driver class, not yet activated; None when it has none."""
        try:
            return self.target.get_driver(kind, activate=False)
        except self._lg.exceptions.NoSupplierFoundError:
            return None

    @property
    def qemu(self):
        return self.driver(self._lg.driver.QEMUDriver)

    def check(self) -> None:
        """Refuse a place edgeai cannot use before anything is compiled or switched on."""
        proto = self._lg.protocol
        if self.driver(proto.ConsoleProtocol) is None:
            raise TargetError(f"{self.name} has no console driver (ConsoleProtocol: SerialDriver, QEMUDriver, ...)")
        qemu = self.qemu
        if qemu is None and self.driver(proto.BootstrapProtocol) is None:
            raise TargetError(f"{self.name} has no way to flash the firmware: give it a QEMUDriver or a "
                              f"BootstrapProtocol driver (OpenOCDDriver, ...)")
        if qemu is not None and not qemu.kernel:
            raise TargetError(f"{self.name}: its QEMUDriver needs 'kernel: <image name>', the image edgeai loads "
                              f"the firmware into")

    def boot(self, firmware: Path, qemu_args: str = "") -> ConsoleStream:
        """Flash the firmware, power the board and hand back its console as a byte stream."""
        self.check()
        proto = self._lg.protocol
        console, qemu, power = self.driver(proto.ConsoleProtocol), self.qemu, self.driver(proto.PowerProtocol)
        loader = None if qemu else self.driver(proto.BootstrapProtocol)
        try:
            if qemu is not None:
                self.env.config.data.setdefault("images", {})[qemu.kernel] = str(firmware)
                self._restore.append((qemu, "extra_args", qemu.extra_args))
                qemu.extra_args = f"{qemu.extra_args} {qemu_args}".strip()
            if power is not None:
                self.target.activate(power)
                power.on()
                self._powered = power
            if loader is not None:  # it also starts the firmware (OpenOCD: "program FILE verify reset")
                self.target.activate(loader)
                loader.load(str(firmware))
            self.target.activate(console)
        except Exception as e:
            raise RuntimeFailure(f"{self.name}: booting {firmware.name} failed: {type(e).__name__}: {e}") from None
        return ConsoleStream(console)

    def close(self) -> None:
        """Switch off what we switched on, release every driver (QEMU is stopped) and the places we hold."""
        try:
            if self._powered is not None:
                self._powered.off()
        except Exception as e:
            raise RuntimeFailure(f"{self.name}: switching it off failed: {type(e).__name__}: {e}") from None
        finally:
            self._powered = None
            try:
                self.release()
            finally:
                while self._restore:
                    driver, attribute, value = self._restore.pop()
                    setattr(driver, attribute, value)


def _plugin_args(target, elf: Path, count_file: Path) -> str:
    """QEMU arguments for our instruction-counting plugin between the firmware's two marker calls."""
    from edgeai.emulator import marker_addresses
    from edgeai.qemu_plugin import plugin_path

    marks = marker_addresses(target, elf)
    if marks is None:
        return ""
    return f"-plugin {plugin_path()},begin={marks[0]:#x},end={marks[1]:#x},out={count_file}"


class LabgridSession(DeviceSession):
    """The benchmark firmware of a compiled library, flashed to a labgrid place and run over its console."""

    def __init__(self, lib_dir: str | Path, place: LabgridPlace, target: str | None = None, timeout: float = 20.0,
                 elf: Path | None = None):
        from edgeai.emulator import read_counts

        self.place, self.lib_dir = place, Path(lib_dir)
        self.target = load_target(target or place.edgeai_target())
        desc = json.loads((self.lib_dir / "model.json").read_text())
        self.elf = elf or build_firmware(self.lib_dir, self.target)
        self._workdir = Path(tempfile.mkdtemp(prefix="edgeai-labgrid-"))
        counter, qemu_args = None, ""
        if place.qemu is not None and self.target.is_cortex_m:
            count_file = self._workdir / "regions.txt"
            qemu_args = _plugin_args(self.target, self.elf, count_file)
            counter = (lambda: read_counts(count_file)) if qemu_args else None
        try:
            stream = place.boot(self.elf, qemu_args)
            super().__init__(Client(stream, timeout=timeout), desc, f"{place.name} ({self.elf.name})", counter,
                             self.lib_dir)  # the firmware on the place must name this library
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        try:
            self.place.close()
        finally:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def close(self) -> None:
        self._release()


def open_labgrid_session(model: str | Path, spec: str) -> LabgridSession:
    """Compile the model (cached) for the place's board, build its firmware and run it on the place."""
    from edgeai.compile import compile_model

    env_file, role = parse_place(spec)
    place = LabgridPlace(env_file, role)
    try:
        target = place.edgeai_target()
        place.check()
        return LabgridSession(compile_model(model, target).path, place, target)
    except BaseException:
        place.release()
        raise


def open_labgrid_library(lib_dir: Path, built_for: str, spec: str) -> LabgridSession:
    """A library compiled earlier (`edgeai compile -o DIR`) on a place whose board is the target it was built for."""
    place = LabgridPlace(*parse_place(spec))
    try:
        target = place.edgeai_target()
        if target != built_for:
            raise TargetError(f"{lib_dir} was compiled for {built_for}, {place.name} is a {target} board")
        place.check()
        return LabgridSession(lib_dir, place, target)
    except BaseException:
        place.release()
        raise
