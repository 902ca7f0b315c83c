"""Flash and RAM of a built program, read from the linked ELF: per output section, and per symbol group (model
weights, model code, runtime, libc) from the link map the build writes beside it (`-Wl,-Map=<elf>.map`).

Sizes come from what the linker kept, never from object files: --gc-sections drops most of what an object holds
(every requantization variant of nn_s8.c, newlib's unused functions), so object sizes overstate a firmware.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from edgeai import REPO_ROOT
from edgeai.errors import ToolchainError

_FLASH = (".vectors", ".text", ".rodata", ".ARM.exidx", ".ARM.extab", ".init_array", ".fini_array", ".data",
          ".got", ".got.plt", ".rela.dyn", ".rel.dyn", ".preinit_array")
_RAM = (".data", ".bss", ".stack", ".got", ".heap")

# Symbol groups, in report order. "linker" holds what no object file contributed: alignment fill and bytes a
# linker script reserves (the stack), and sections the linker makes itself.
GROUPS = ("model_weights", "model_code", "runtime", "libc", "linker")

_OUT_ONE_LINE = re.compile(r"^(\S+)\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)")
_IN_ONE_LINE = re.compile(r"^ (\S+)\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)(?:\s+(.*\S))?\s*$")
_CONTINUATION = re.compile(r"^\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)(?:\s+(.*\S))?\s*$")


def _size_tool(cc: str) -> str:
    tool = cc[:-3] + "size" if cc.endswith("gcc") else "size"
    found = shutil.which(tool) or shutil.which("size")
    if found is None:
        raise ToolchainError(f"{tool} not found (binutils for this target)")
    return found


def sections(path: Path, cc: str = "gcc") -> dict[str, int]:
    """Bytes per allocated section of an ELF (`size -A`), sections of the same name added up."""
    proc = subprocess.run([_size_tool(cc), "-A", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolchainError(f"size -A {path} failed: {proc.stderr.strip()}")
    table = {}
    for line in proc.stdout.splitlines()[2:]:
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            table[parts[0]] = table.get(parts[0], 0) + int(parts[1])
    return table


def _in(name: str, names) -> bool:
    return any(name == n or name.startswith(n + ".") for n in names)


def _sum(table: dict[str, int], names) -> int:
    return sum(v for k, v in table.items() if _in(k, names))


def map_input_sections(map_file: Path) -> list[tuple[str, str, int, str]]:
    """(output section, input section, bytes, contributing file) for every input section the link kept, from a
    GNU ld map file. Alignment fill is an input section named "*fill*" with no file."""
    try:
        lines = Path(map_file).read_text(errors="replace").splitlines()
    except OSError as e:
        raise ToolchainError(f"cannot read the link map {map_file}: {e}") from None
    try:
        start = lines.index("Linker script and memory map") + 1
    except ValueError:
        raise ToolchainError(f"{map_file}: not a GNU ld map (no 'Linker script and memory map')") from None
    rows: list[tuple[str, str, int, str]] = []
    out = None
    pending = None  # an input section whose address and size are on the next line
    for line in lines[start:]:
        if not line.strip():
            continue
        if not line[0].isspace():  # an output section, or a script statement at the top level
            pending = None
            m = _OUT_ONE_LINE.match(line)
            out = m.group(1) if m else (line.split()[0] if len(line.split()) == 1 else None)
            continue
        if out is None:
            continue
        if pending is not None:
            m = _CONTINUATION.match(line)
            if m:
                rows.append((out, pending, int(m.group(2), 16), m.group(3) or ""))
            pending = None
            continue
        if line.startswith(" *fill*"):
            m = _CONTINUATION.match(line[len(" *fill*"):])
            if m:
                rows.append((out, "*fill*", int(m.group(2), 16), ""))
            continue
        if line.startswith(" ") and not line.startswith("  ") and not line.startswith(" *"):
            m = _IN_ONE_LINE.match(line)
            if m:
                rows.append((out, m.group(1), int(m.group(3), 16), m.group(4) or ""))
            elif len(line.split()) == 1:
                pending = line.strip()
    return rows


def symbol_group(file: str, lib_dir: Path) -> str:
    """The group of the object (or archive member) a map names: the model library's weights or code, edgeai's
    runtime and board code, or the C library (newlib/glibc, libm, libgcc and the C start files)."""
    if not file or file == "linker stubs":
        return "linker"
    path = file.split("(", 1)[0]  # "libc.a(lib_a-memcpy.o)" -> the archive
    lib = Path(lib_dir).resolve().as_posix().lstrip("/")
    if lib in path:  # CMake objects are CMakeFiles/<target>.dir/<absolute source path>.obj
        return "model_weights" if re.search(r"_weights\.c\.o(bj)?$", path) else "model_code"
    if REPO_ROOT.resolve().as_posix().lstrip("/") in path or "/compilers/c/runtime/" in path \
            or "/targets/" in path:
        return "runtime"
    return "libc"


def linked_sizes(elf: Path, lib_dir: Path, cc: str = "gcc") -> dict:
    """Bytes per output section and symbol group of a linked program. Every byte of every allocated section
    (_FLASH and _RAM; .comment, .debug_* and the symbol table are not loaded) is counted once: what no input
    section accounts for (a stack reservation, the final ALIGN) goes to "linker"."""
    elf = Path(elf)
    whole = {k: v for k, v in sections(elf, cc).items() if _in(k, _FLASH + _RAM)}
    map_file = elf.with_name(elf.name + ".map")
    if not map_file.is_file():
        raise ToolchainError(f"{elf}: no link map {map_file.name} beside it (targets/firmware.cmake writes one)")
    table = {name: dict.fromkeys(GROUPS, 0) for name in whole}
    merged = {name: dict.fromkeys(GROUPS, 0) for name in whole}
    for out, name, size, file in map_input_sections(map_file):
        if out in table:
            # String and constant pools (.rodata.str1.1, .rodata.cst8) are merged across objects after the map's
            # sizes are taken: their linked bytes are shared out below.
            into = merged if re.search(r"\.(str\d|cst\d)", name) else table
            into[out][symbol_group(file, lib_dir)] += size
    for name, size in whole.items():
        rest = size - sum(table[name].values())
        pooled = sum(merged[name].values())
        if rest < 0:
            raise ToolchainError(f"{map_file}: section {name} holds {size} bytes in {elf.name}, its map lists "
                                 f"{size - rest}: map and ELF do not match (rebuild)")
        kept = min(rest, pooled)  # what the merged pools occupy, shared out in proportion to their inputs
        for group, n in _share(kept, merged[name]).items():
            table[name][group] += n
        table[name]["linker"] += rest - kept

    def total(names, group):
        return sum(v[group] for k, v in table.items() if _in(k, names))

    groups = {g: {"flash": total(_FLASH, g), "ram": total(_RAM, g)} for g in GROUPS}
    return {"sections": {k: {g: n for g, n in v.items() if n} for k, v in table.items()}, "groups": groups}


def _share(total: int, weights: dict[str, int]) -> dict[str, int]:
    """`total` split in proportion to `weights`, in whole bytes that add up to `total` (largest remainders)."""
    whole = sum(weights.values())
    if not whole:
        return {}
    exact = {k: total * w / whole for k, w in weights.items()}
    parts = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: parts[k] - exact[k])[: total - sum(parts.values())]:
        parts[k] += 1
    return parts


def memory_report(elf: Path, lib_dir: Path, cc: str, arena_size: int) -> dict:
    """Whole-firmware flash and RAM, and each symbol group's share of what was linked. The model library's own
    share (weights + code) is the library a user links, measured alone: model_library_flash_bytes."""
    whole = sections(elf, cc)
    linked = linked_sizes(elf, lib_dir, cc)
    groups = linked["groups"]
    return {
        "flash_bytes": _sum(whole, _FLASH),
        "ram_bytes": _sum(whole, _RAM),
        "stack_bytes": whole.get(".stack", 0),
        "model_code_bytes": groups["model_code"]["flash"],
        "model_weight_bytes": groups["model_weights"]["flash"],
        "model_library_flash_bytes": groups["model_code"]["flash"] + groups["model_weights"]["flash"],
        "model_library_ram_bytes": groups["model_code"]["ram"] + groups["model_weights"]["ram"],
        "runtime_bytes": groups["runtime"]["flash"],
        "libc_bytes": groups["libc"]["flash"],
        "arena_bytes": arena_size,
        "linked": linked,
    }
