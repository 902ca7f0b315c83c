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


def _run(*cmd) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def _assemble(tmp_path, instructions: list[str], name: str):
    """The instructions as raw 32-bit Thumb words (GNU as, Armv8.1-M with MVE)."""
    source = tmp_path / f"{name}.s"
    source.write_text(".syntax unified\n.arch armv8.1-m.main\n.arch_extension mve.fp\n.thumb\n"
                      + "".join(f"{insn}\n" for insn in instructions))
    _run("arm-none-eabi-as", str(source), "-o", str(tmp_path / f"{name}.o"))
    _run("arm-none-eabi-objcopy", "-O", "binary", str(tmp_path / f"{name}.o"), str(tmp_path / f"{name}.bin"))
    assert (tmp_path / f"{name}.bin").stat().st_size == 4 * len(instructions)  # all 32-bit: one line, one word
    return tmp_path / f"{name}.bin"


def test_every_mve_instruction_gets_its_class(tmp_path):
    lines = [line.split(" ", 1) for line in (PROGRAMS / "mve_encodings.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    binary = _assemble(tmp_path, [insn for _, insn in lines], "mve")
    run = _run
    run("gcc", "-O1", "-Wall", "-Wextra", "-Werror", f"-I{PLUGIN_DIR}", "-o", str(tmp_path / "classify"),
        str(PROGRAMS / "classify_words.c"), str(PLUGIN_DIR / "thumb_classes.c"))
    got = run(str(tmp_path / "classify"), str(binary)).split()
    wrong = [f"{insn}: {cls} expected, {name} given" for (cls, insn), name in zip(lines, got) if name != f"mve_{cls}"]
    assert len(got) == len(lines) and not wrong, "\n".join(wrong)


# LLVM's Cortex-M55 scheduling model (llvm/lib/Target/ARM/ARMScheduleM55.td, written at Arm; read at llvm-project
# commit 2f206a08305d) draws two sequences cycle by cycle: an independent check of the SLOTHY-based model the
# plugin uses. VLDR;VADD;VMUL;VSTR overlap on three different pipes and take 5 cycles; VLDR;VLDRB;VADD;VSTR take
# 6, because the two loads share the load/store pipe. One after another, each is 4 x 2 = 8 cycles.
LLVM_M55_EXAMPLES = [
    (["vldrw.u32 q0, [r0]", "vadd.i32 q1, q0, q0", "vmul.i32 q2, q1, q1", "vstrw.32 q2, [r1]"], 5),
    (["vldrw.u32 q0, [r0]", "vldrb.u32 q1, [r2]", "vadd.i32 q2, q0, q1", "vstrw.32 q2, [r1]"], 6),
]


@pytest.mark.parametrize("instructions, cycles", LLVM_M55_EXAMPLES, ids=["three-pipes", "two-loads"])
def test_the_beat_model_schedules_llvms_m55_examples(tmp_path, instructions, cycles):
    binary = _assemble(tmp_path, instructions, "run")
    _run("gcc", "-O1", "-Wall", "-Wextra", "-Werror", f"-I{PLUGIN_DIR}", "-o", str(tmp_path / "schedule"),
         str(PROGRAMS / "schedule_words.c"), str(PLUGIN_DIR / "thumb_classes.c"), str(PLUGIN_DIR / "mve_beats.c"))
    alone, saved = map(int, _run(str(tmp_path / "schedule"), str(binary)).split())
    assert (alone, alone - saved) == (8, cycles)
