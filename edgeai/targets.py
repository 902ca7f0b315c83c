"""Target descriptions: targets/<name>/target.json, loaded and validated.

A target is one core class with its compiler flags, memory budgets of a real
reference board, how to emulate it, the TVM LLVM target, an energy model
(always an estimate, with its source) and a CMake toolchain file.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from edgeai import REPO_ROOT
from edgeai.errors import TargetError

TARGETS_DIR = REPO_ROOT / "targets"
KINDS = ("cortex-m", "linux")


@dataclass(frozen=True)
class Target:
    name: str
    kind: str  # "cortex-m" (bare metal, qemu-system-arm) or "linux" (aarch64 boards, host)
    cpu: str
    arch: str
    cc: str  # C compiler executable
    cflags: tuple[str, ...]  # core flags: the one table of per-core options
    float_abi: str
    fpu: str
    clock_hz: int | None  # None: unknown (host)
    sram_bytes: int | None
    flash_bytes: int | None
    source: str  # the reference board and datasheet the budgets come from
    # {"system","machine","cpu","systick_hz"} or {"user", "counting_user"?, "cpu"?}; None: run natively
    qemu: Mapping[str, Any] | None
    llvm: Mapping[str, Any]  # TVM LLVM target as a dict
    energy: Mapping[str, Any] | None  # estimates: active_power_w, cycles_per_instruction, with sources
    toolchain: Path  # absolute path of the CMake toolchain file
    path: Path  # the target's directory
    footprint: Mapping[str, Any] | None = None  # measured firmware figures for edgeai.footprint (Cortex-M)
    # Instruction sets with hand-written kernels, preferred first (compilers/lowering/kernel_table.py)
    isa: tuple[str, ...] = ()
    # Cortex-M: cycles per instruction class with sources (edgeai.cycles), for the plugin's class counts
    cycle_model: Mapping[str, Any] | None = None

    def __hash__(self) -> int:  # the mapping fields are not hashable; a target is its name and place
        return hash((self.name, self.path))

    @property
    def is_cortex_m(self) -> bool:
        return self.kind == "cortex-m"

    @property
    def is_host(self) -> bool:
        return self.name == "host"

    @property
    def linker_script(self) -> Path | None:
        return self.path / "linker.ld" if self.is_cortex_m else None


# field -> (accepted types, may be null)
_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "name": ((str,), False),
    "kind": ((str,), False),
    "cpu": ((str,), False),
    "arch": ((str,), False),
    "cc": ((str,), False),
    "cflags": ((list,), False),
    "float_abi": ((str,), False),
    "fpu": ((str,), False),
    "clock_hz": ((int,), True),
    "sram_bytes": ((int,), True),
    "flash_bytes": ((int,), True),
    "source": ((str,), False),
    "qemu": ((dict,), True),
    "llvm": ((dict,), False),
    "energy": ((dict,), True),
    "toolchain": ((str,), False),
}

_OPTIONAL = ("footprint",  # Cortex-M: figures measured on linked firmwares (edgeai.footprint)
             "isa",  # instruction sets whose hand-written kernels the target runs, preferred first
             "cycle_model")  # cycles per instruction class, with sources (edgeai.cycles)


# "isa": ["native"] (the host target) is the instruction sets of the machine edgeai runs on, resolved when the
# target is loaded: the host target is built by this machine's compiler for this machine, and its x86 kernels
# would not compile on another architecture. x86-64 → the x86 kernels (each picks AVX-VNNI / AVX2 / portable C at
# run time); any other machine → none (TVM's kernels; the aarch64 kernels are not tested as a host build).
NATIVE_ISA = {"x86_64": ("x86",), "amd64": ("x86",)}


def native_isa(machine: str | None = None) -> tuple[str, ...]:
    """The host target's instruction sets on a machine (platform.machine() by default)."""
    return NATIVE_ISA.get((machine if machine is not None else platform.machine()).lower(), ())


def _fail(file: Path, field: str, problem: str) -> TargetError:
    return TargetError(f"{file}: field '{field}' {problem}")


def _validate(data: Any, file: Path, dirname: str) -> None:
    if not isinstance(data, dict):
        raise TargetError(f"{file}: expected a JSON object at the top level")
    for field, (types, nullable) in _FIELDS.items():
        if field not in data:
            raise _fail(file, field, "is missing")
        value = data[field]
        if value is None:
            if not nullable:
                raise _fail(file, field, "must not be null")
            continue
        if isinstance(value, bool) or not isinstance(value, types):
            raise _fail(file, field, f"must be {' or '.join(t.__name__ for t in types)}, got {value!r}")
    unknown = sorted(set(data) - set(_FIELDS) - set(_OPTIONAL))
    if unknown:
        raise _fail(file, unknown[0], f"is not a known field (known: {', '.join(_FIELDS)})")
    if data["name"] != dirname:
        raise _fail(file, "name", f"is {data['name']!r} but the directory is {dirname!r}")
    if data["kind"] not in KINDS:
        raise _fail(file, "kind", f"must be one of {', '.join(KINDS)}, got {data['kind']!r}")
    if not all(isinstance(f, str) and f for f in data["cflags"]):
        raise _fail(file, "cflags", "must be a list of non-empty strings")
    for field in ("clock_hz", "sram_bytes", "flash_bytes"):
        if data[field] is not None and data[field] <= 0:
            raise _fail(file, field, "must be positive")
        if data[field] is None and data["name"] != "host":
            raise _fail(file, field, "may only be null for the host target")
    qemu = data["qemu"]
    if data["kind"] == "cortex-m":
        if qemu is None:
            raise _fail(file, "qemu", "is required for a cortex-m target")
        for key, kind in (("system", str), ("machine", str), ("cpu", str), ("systick_hz", int)):
            if not isinstance(qemu.get(key), kind):
                raise _fail(file, f"qemu.{key}", f"must be a {kind.__name__}")
    elif qemu is not None and not isinstance(qemu.get("user"), str):
        raise _fail(file, "qemu.user", "must name the user-mode emulator (or qemu must be null)")
    if data["llvm"].get("kind") != "llvm":
        raise _fail(file, "llvm.kind", "must be 'llvm'")
    energy = data["energy"]
    if energy is not None:
        if energy.get("estimate") is not True:
            raise _fail(file, "energy.estimate", "must be true: the energy model is an estimate")
        for key, source in (("active_power_w", "active_power_source"),
                            ("cycles_per_instruction", "cycles_per_instruction_source")):
            value = energy.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise _fail(file, f"energy.{key}", "must be a positive number")
            if not isinstance(energy.get(source), str) or not energy[source]:
                raise _fail(file, f"energy.{source}", "must name the document the value comes from")
    if data.get("cycle_model") is not None:
        from edgeai.cycles import validate_model

        validate_model(data["cycle_model"], lambda field, problem: _fail(file, field, problem))
    toolchain = file.parent / data["toolchain"]
    if not toolchain.is_file():
        raise _fail(file, "toolchain", f"names {toolchain}, which does not exist")
    if data["kind"] == "cortex-m":
        for needed in ("linker.ld", "startup.c", "board.h"):
            if not (file.parent / needed).is_file():
                raise TargetError(f"{file.parent}: cortex-m target without {needed}")


def _read(directory: Path) -> Target:
    file = directory / "target.json"
    try:
        data = json.loads(file.read_text())
    except json.JSONDecodeError as err:
        raise TargetError(f"{file}: not valid JSON ({err})") from None
    _validate(data, file, directory.name)
    fields = dict(data)
    fields["cflags"] = tuple(data["cflags"])
    if fields.get("footprint") is not None and not isinstance(fields["footprint"], dict):
        raise _fail(file, "footprint", "must be an object of measured figures")
    fields["toolchain"] = (directory / data["toolchain"]).resolve()
    isa = data.get("isa", [])
    if not isinstance(isa, list) or not all(isinstance(x, str) and x for x in isa):
        raise _fail(file, "isa", "must be a list of instruction-set names (compilers/lowering/kernel_table.py)")
    fields["isa"] = tuple(x for name in isa for x in (native_isa() if name == "native" else (name,)))
    return Target(path=directory.resolve(), **fields)


def _target_dirs() -> list[Path]:
    return sorted(p.parent for p in TARGETS_DIR.glob("*/target.json"))


def list_targets() -> list[Target]:
    """Every target under targets/, sorted by name (raises on an invalid target.json)."""
    return [_read(d) for d in _target_dirs()]


def target_names() -> list[str]:
    return [d.name for d in _target_dirs()]


def load_target(name: str | Target) -> Target:
    """The target called `name` (a Target is returned as is)."""
    if isinstance(name, Target):
        return name
    directory = TARGETS_DIR / name
    if "/" in name or not (directory / "target.json").is_file():
        raise TargetError(f"unknown target '{name}'; known targets: {', '.join(target_names())}")
    return _read(directory)
