"""Linked sizes of a real Cortex-M4 firmware of ad01_int8: every byte of every loaded section belongs to exactly one
symbol group, read from the link map, and the groups agree with the ELF's own symbol table (nm)."""

from __future__ import annotations

import re
import subprocess

import pytest

from edgeai.elfsize import memory_report

pytestmark = [pytest.mark.slow, pytest.mark.toolchain]


@pytest.fixture(scope="module")
def firmware(tmp_cache):
    from conftest import tflite
    from edgeai.compile import compile_model
    from edgeai.runtime.device import build_firmware

    compiled = compile_model(tflite("ad01_int8"), "cortex-m4")
    elf = build_firmware(compiled.path, "cortex-m4")
    return compiled, elf, memory_report(elf, compiled.path, "arm-none-eabi-gcc", compiled.desc["arena_size"])


def _allocated_sections(elf) -> dict[str, int]:
    """Every SHF_ALLOC section and its size, from readelf (independent of `size -A`)."""
    out = subprocess.run(["arm-none-eabi-readelf", "-SW", str(elf)], capture_output=True, text=True, check=True).stdout
    found = {}
    for m in re.finditer(r"\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)\s+[0-9a-f]+\s+(\S*)", out):
        if "A" in m.group(3):
            found[m.group(1)] = int(m.group(2), 16)
    return found


def _symbol_bytes(elf, names) -> int:
    """Bytes of the named symbols in the linked ELF (nm -S)."""
    out = subprocess.run(["arm-none-eabi-nm", "-S", str(elf)], capture_output=True, text=True, check=True).stdout
    total = 0
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[3] in names:
            total += int(parts[1], 16)
    return total


def test_groups_sum_to_the_loaded_sections_exactly(firmware):
    _, elf, memory = firmware
    linked = memory["linked"]
    allocated = _allocated_sections(elf)
    assert set(linked["sections"]) == set(allocated)
    for name, size in allocated.items():
        assert sum(linked["sections"][name].values()) == size, name
    flash = sum(g["flash"] for g in linked["groups"].values())
    assert flash == memory["flash_bytes"] == sum(allocated[s] for s in allocated if s not in (".bss", ".stack"))
    assert sum(g["ram"] for g in linked["groups"].values()) == memory["ram_bytes"]
    assert set(linked["groups"]) == {"model_weights", "model_code", "runtime", "libc", "linker"}
    # What no object contributed is the stack reservation and alignment fill, nothing more.
    assert linked["sections"][".stack"] == {"linker": memory["stack_bytes"]}
    assert linked["groups"]["linker"]["flash"] < 512
    # The library's own share fits in the firmware (object-file sums gave 25,447 + 555,976 > 576,368).
    assert memory["model_library_flash_bytes"] == memory["model_code_bytes"] + memory["model_weight_bytes"]
    assert memory["model_library_flash_bytes"] + memory["runtime_bytes"] + memory["libc_bytes"] <= memory["flash_bytes"]


def test_groups_agree_with_the_elf_symbols(firmware):
    compiled, elf, memory = firmware
    weights_obj = next((elf.parent).rglob("model_weights.c.obj"))
    out = subprocess.run(["arm-none-eabi-nm", "-S", "--defined-only", str(weights_obj)], capture_output=True,
                         text=True, check=True).stdout
    weight_symbols = {line.split()[3] for line in out.splitlines() if len(line.split()) == 4}
    assert memory["model_weight_bytes"] == _symbol_bytes(elf, weight_symbols) > compiled.desc["weight_bytes"]
    # In flash: every weight in the ELF's .rodata, which targets/common/sections.ld puts in RODATA (flash).
    placed = subprocess.run(["arm-none-eabi-objdump", "-t", str(elf)], capture_output=True, text=True,
                            check=True).stdout
    sections = {row.split()[-1]: row.split()[-3] for row in placed.splitlines() if len(row.split()) >= 5}
    assert {sections[n] for n in weight_symbols} == {".rodata"}
    # Model code: the library's functions that were linked (nm sizes of the symbols the library defines).
    text = subprocess.run(["arm-none-eabi-nm", "-S", "--defined-only", str(elf)], capture_output=True, text=True,
                          check=True).stdout
    functions = {line.split()[3]: int(line.split()[1], 16) for line in text.splitlines()
                 if len(line.split()) == 4 and line.split()[2] in "tT"}
    library_functions = 0
    library = compiled.path.resolve().as_posix().lstrip("/")
    for obj in elf.parent.rglob("*.c.obj"):  # CMakeFiles/<target>.dir/<absolute source path>.obj
        if library in obj.as_posix().split("CMakeFiles/", 1)[1] and "weights" not in obj.name:
            defined = subprocess.run(["arm-none-eabi-nm", "--defined-only", str(obj)], capture_output=True,
                                     text=True, check=True).stdout
            names = {line.split()[2] for line in defined.splitlines() if len(line.split()) == 3}
            library_functions += sum(functions.get(n, 0) for n in names)
    # Functions are what model code is made of; the rest is their constants (.rodata) and alignment.
    assert 0 < library_functions <= memory["model_code_bytes"] <= library_functions + 1024
