"""The plugin's instruction-class mode and the cycle estimate built on it: class counts of a loop known by
construction (tests/programs/classes.c), exact sums against the plain count on a real firmware, the plain mode's
output unchanged, and the estimate with the TRM's costs."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from conftest import tflite
from edgeai import REPO_ROOT
from edgeai.cycles import CLASSES, EVENTS, estimate_cycles

CLASSES_C = REPO_ROOT / "tests" / "programs" / "classes.c"
N = 1000

pytestmark = [
    pytest.mark.slow, pytest.mark.qemu, pytest.mark.toolchain,
    pytest.mark.skipif(any(shutil.which(t) is None for t in ("arm-none-eabi-gcc", "qemu-system-arm", "cmake", "gcc")),
                       reason="needs arm-none-eabi-gcc, qemu-system-arm, cmake and gcc"),
]

# One iteration of classes.c's loop, by construction (its comment lists the instructions).
PER_ITERATION = {"load_multiple": 1, "transfers": 4, "load": 2, "load_pipelined": 1, "mac": 1, "mul": 1, "div": 1,
                 "fp_mac": 1, "alu": 1, "branch": 1, "taken": 1}
# The MVE run of classes.c, scheduled by hand there with the Cortex-M55 beat model: 17 cycles one after another,
# 11 with the overlap.
PER_ITERATION_MVE = {**PER_ITERATION, "mve_load": 1, "mve_store": 1, "mve_int": 3, "mve_mul": 2, "mve_fp": 1,
                     "mve_move": 1, "mve_overlap": 6}


@pytest.fixture(scope="module")
def loop_runs(tmp_path_factory):
    """classes.c with N and 2N iterations on each core, run in class mode: {(target, n): RunResult}."""
    from edgeai.build import build_executable
    from edgeai.emulator import run_program

    out = tmp_path_factory.mktemp("classes")
    runs = {}
    for target in ("cortex-m4", "cortex-m55"):
        for n in (N, 2 * N):
            elf = build_executable(target, [CLASSES_C], out / target, defines={"CLASSES_N": n}, name=f"classes{n}")
            runs[target, n] = run_program(target, elf, timeout=30, count_classes=True).check()
    return runs


@pytest.mark.parametrize("target, expected", [("cortex-m4", PER_ITERATION), ("cortex-m55", PER_ITERATION_MVE)])
def test_class_counts_of_a_loop_known_by_construction(loop_runs, target, expected):
    small, large = loop_runs[target, N], loop_runs[target, 2 * N]
    for run in (small, large):
        assert len(run.classes) == 1 and set(run.classes[0]) == set(CLASSES) | set(EVENTS)
        assert sum(run.classes[0][c] for c in CLASSES) == run.instructions[0]  # every instruction in one class
    # N more iterations add exactly N x the loop body, class by class; everything else is the same code.
    grown = {k: large.classes[0][k] - small.classes[0][k] for k in small.classes[0]}
    assert grown == {k: expected.get(k, 0) * N for k in grown}


def test_plain_mode_output_is_unchanged(loop_runs, tmp_path):
    """Without classes=on the plugin writes exactly the old one line per region, with the same count."""
    from edgeai.emulator import _command
    from edgeai.targets import load_target

    elf = loop_runs["cortex-m4", N].program
    count_file = tmp_path / "regions.txt"
    cmd = _command(load_target("cortex-m4"), elf, count_file, "stdio", None, (), None)
    assert "classes=on" not in " ".join(cmd)
    subprocess.run(cmd, capture_output=True, timeout=30, check=True)
    assert count_file.read_text() == f"region 0 instructions {loop_runs['cortex-m4', N].instructions[0]}\n"


def test_cycle_estimate_prices_the_loop_with_the_trm_costs(loop_runs):
    from edgeai.targets import load_target

    small, large = loop_runs["cortex-m4", N].classes[0], loop_runs["cortex-m4", 2 * N].classes[0]
    model = load_target("cortex-m4").cycle_model
    grown = estimate_cycles(model, large)["cycles"] - estimate_cycles(model, small)["cycles"]
    # Cortex-M4 TRM: LDM 1+4, LDR 2 + pipelined LDR 1 + dependent LDR 2, SMLAD 1, SMULL 1, UDIV 7 (2-12),
    # VMLA.F32 3, SUBS 1, BNE taken 1+2.
    assert grown == N * (5 + 2 + 1 + 2 + 1 + 1 + 7 + 3 + 1 + 3)


def test_cycle_estimate_counts_mve_instructions_by_their_beats(loop_runs):
    """cortex-m55: the scalar part at the Cortex-M4 TRM's costs (which the M55 reuses), the MVE run by its beats
    less the overlap the beat model gives it (classes.c's hand schedule), shown beside the instruction count."""
    from edgeai.targets import load_target

    small, large = loop_runs["cortex-m55", N].classes[0], loop_runs["cortex-m55", 2 * N].classes[0]
    model = load_target("cortex-m55").cycle_model
    before, after = estimate_cycles(model, small), estimate_cycles(model, large)
    assert after["cycles"] - before["cycles"] == N * (5 + 2 + 1 + 2 + 1 + 1 + 7 + 3 + 1 + 3 + 17 - 6)
    grown = {k: after["mve"][k] - before["mve"][k] for k in after["mve"]}
    assert grown == {"instructions": 9 * N, "beats": 34 * N, "cycles_one_after_another": 17 * N,
                     "cycles_saved_by_overlap": 6 * N, "cycles": 11 * N}
    assert any("SLOTHY" in s and "ede5131d40cf" in s for s in after["sources"]) and after["estimate"] is True


def test_bench_report_shows_the_mve_accounting_beside_the_count(loop_runs):
    """edgeai bench's Markdown: the cortex-m55 run's MVE instructions / beats / cycles (overlap saved) beside its
    instruction count and cycle estimate; "–" for a core without MVE."""
    from edgeai.bench.report import markdown
    from edgeai.report import energy_estimate
    from edgeai.targets import load_target

    results = []
    for target in ("cortex-m55", "cortex-m4"):
        run = loop_runs[target, N]
        results.append({"status": "ok", "model": "classes", "target": target, "backend": "edgeai",
                        "instructions": run.instructions[0], "bit_exact": 1, "samples": 1,
                        "estimate": energy_estimate(load_target(target), run.instructions[0], run.classes[0])})
    md = markdown({"suite": "classes", "created": "now", "machine": {"platform": "test"}, "results": results})
    m55, m4 = (r["estimate"] for r in results)
    mve = m55["mve"]
    assert mve["instructions"] >= 9 * N and mve["cycles_saved_by_overlap"] >= 6 * N  # the loop and the start-up code
    assert (f"| {results[0]['instructions']:,} | {m55['cycles']:,} | {m55['cycles_per_instruction']:,.2f} "
            f"| {mve['instructions']:,} / {mve['beats']:,} / {mve['cycles']:,} (−{mve['cycles_saved_by_overlap']:,}) |"
            ) in md
    assert "mve" not in m4 and f"| {m4['cycles']:,} | {m4['cycles_per_instruction']:,.2f} | – |" in md


def test_classes_sum_to_the_plain_count_on_a_real_firmware(tmp_cache):
    """ad01 on cortex-m4: the class mode counts exactly what the plain mode counts, and the estimate uses it."""
    from edgeai.compile import compile_model
    from edgeai.report import energy_estimate
    from edgeai.runtime.device import QemuSession
    from edgeai.targets import load_target

    lib = compile_model(tflite("ad01_int8"), "cortex-m4").path
    counts = {}
    for classes in (False, True):
        with QemuSession(lib, "cortex-m4", count_classes=classes) as session:
            x = np.random.default_rng(3).integers(-128, 128, session.inputs[0].shape).astype(np.int8)
            session.run([x])
            counts[classes] = (session.stats.instructions, session.stats.extra.get("instruction_classes"))
    (plain, none), (counted, by_class) = counts[False], counts[True]
    assert none is None and counted == plain > 100_000
    assert sum(by_class[c] for c in CLASSES) == plain
    assert by_class["mac"] > 0 and by_class["load_multiple"] > 0 and by_class["taken"] > 0
    estimate = energy_estimate(load_target("cortex-m4"), plain, by_class)
    assert estimate["estimate"] is True and "classes" in estimate["cycles_model"]
    assert 1.0 < estimate["cycles_per_instruction"] < 3.0 and estimate["cycles"] > plain
    assert any("Cortex-M4 TRM" in s for s in estimate["sources"])
