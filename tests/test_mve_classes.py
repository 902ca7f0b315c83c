"""The plugin's MVE classes (targets/qemu/thumb_classes.c) against GNU as: every instruction of
tests/programs/mve_encodings.txt is assembled for Armv8.1-M with MVE, and the decoder must give each the class the
file names (the Cortex-M55 beat model's groups: load, store, int, mul, fp, move)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from edgeai import REPO_ROOT

PROGRAMS = REPO_ROOT / "tests" / "programs"
PLUGIN_DIR = REPO_ROOT / "targets" / "qemu"

pytestmark = [
    pytest.mark.toolchain,
    pytest.mark.skipif(any(shutil.which(t) is None for t in ("arm-none-eabi-as", "arm-none-eabi-objcopy", "gcc")),
                       reason="needs arm-none-eabi-as, arm-none-eabi-objcopy and gcc"),
]


def test_every_mve_instruction_gets_its_class(tmp_path):
    lines = [line.split(" ", 1) for line in (PROGRAMS / "mve_encodings.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    source = tmp_path / "mve.s"
    source.write_text(".syntax unified\n.arch armv8.1-m.main\n.arch_extension mve.fp\n.thumb\n"
                      + "".join(f"{insn}\n" for _, insn in lines))
    run = lambda *cmd: subprocess.run(cmd, capture_output=True, text=True, check=True).stdout  # noqa: E731
    run("arm-none-eabi-as", str(source), "-o", str(tmp_path / "mve.o"))
    run("arm-none-eabi-objcopy", "-O", "binary", str(tmp_path / "mve.o"), str(tmp_path / "mve.bin"))
    assert (tmp_path / "mve.bin").stat().st_size == 4 * len(lines)  # all 32-bit: one line, one word
    run("gcc", "-O1", "-Wall", "-Wextra", "-Werror", f"-I{PLUGIN_DIR}", "-o", str(tmp_path / "classify"),
        str(PROGRAMS / "classify_words.c"), str(PLUGIN_DIR / "thumb_classes.c"))
    got = run(str(tmp_path / "classify"), str(tmp_path / "mve.bin")).split()
    wrong = [f"{insn}: {cls} expected, {name} given" for (cls, insn), name in zip(lines, got) if name != f"mve_{cls}"]
    assert len(got) == len(lines) and not wrong, "\n".join(wrong)
