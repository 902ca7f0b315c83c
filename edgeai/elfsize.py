"""Flash and RAM of a built program, read from its ELF sections and the model's own object files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from edgeai.errors import ToolchainError

_FLASH = (".vectors", ".text", ".rodata", ".ARM.exidx", ".ARM.extab", ".init_array", ".fini_array", ".data",
          ".got", ".got.plt", ".rela.dyn", ".rel.dyn", ".preinit_array")
_RAM = (".data", ".bss", ".stack", ".got", ".heap")


def _size_tool(cc: str) -> str:
    tool = cc[:-3] + "size" if cc.endswith("gcc") else "size"
    found = shutil.which(tool) or shutil.which("size")
    if found is None:
        raise ToolchainError(f"{tool} not found (binutils for this target)")
    return found


def sections(path: Path, cc: str = "gcc") -> dict[str, int]:
    proc = subprocess.run([_size_tool(cc), "-A", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolchainError(f"size -A {path} failed: {proc.stderr.strip()}")
    table = {}
    for line in proc.stdout.splitlines()[2:]:
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            table[parts[0]] = table.get(parts[0], 0) + int(parts[1])
    return table


def _sum(table: dict[str, int], names) -> int:
    return sum(v for k, v in table.items() if any(k == n or k.startswith(n + ".") for n in names))


def memory_report(elf: Path, lib_dir: Path, cc: str, arena_size: int) -> dict:
    """Whole-firmware flash and RAM, and the model library's share (its objects in the build tree)."""
    whole = sections(elf, cc)
    code = weights = 0
    lib_dir = Path(lib_dir).resolve()
    build = elf.parent / f".build-{elf.stem.split('bench-', 1)[-1]}-{elf.stem}"
    for obj in [*build.rglob("*.o"), *build.rglob("*.obj")]:
        if lib_dir.as_posix().lstrip("/") not in obj.as_posix() or "CompilerId" in obj.as_posix():
            continue
        table = sections(obj, cc)
        if "_weights.c.o" in obj.name:
            weights += _sum(table, (".rodata", ".data"))
        else:
            code += _sum(table, (".text", ".rodata", ".data"))
    return {
        "flash_bytes": _sum(whole, _FLASH),
        "ram_bytes": _sum(whole, _RAM),
        "stack_bytes": whole.get(".stack", 0),
        "model_code_bytes": code,
        "model_weight_bytes": weights,
        "arena_bytes": arena_size,
    }
