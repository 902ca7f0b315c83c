"""Cortex-M4 benchmark: instructions per inference of the four MLPerf Tiny int8 models under QEMU
(mps2-an386, exact icount plugin), MACs per instruction, arena and flash, bit-exactness against LiteRT,
side by side with TFLite Micro + CMSIS-NN (figures in TFLM_CMSIS below, from the project's ANCHORS.md).
Beside the exact count, a cycle estimate: the plugin's instruction classes priced by the target's cycle_model
(edgeai.cycles; every cost with its Technical Reference Manual table in targets/<target>/target.json).

    .venv/bin/python benchmarks/cortex_m4/run.py [--target cortex-m4] [--models kws,vww,ic,ad] [--per-layer]
                                       [--out benchmarks/cortex_m4/results.json]

Other cores (cortex-m7 on mps2-an500, cortex-m55 on mps3-an547) write results_<target>.json by default; the
TFLite Micro figures next to them are the Cortex-M4 anchors.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from edgeai import models_root  # noqa: E402

MODELS_DIR = models_root() / "mlperf_tiny"
MODELS = {"kws": "kws_ref_model", "vww": "vww_96_int8", "ic": "pretrainedResnet_quant", "ad": "ad01_int8"}
# TFLite Micro (90b983c) + CMSIS-NN (4ab83cc), -O2, cortex-m4 on QEMU mps2-an386 (ANCHORS.md);
# workspace: microTVM + CMSIS-NN (MLPerf Tiny), the arena budget.
TFLM_CMSIS = {"kws": 7_700_080, "vww": 24_102_360, "ic": 29_863_520, "ad": 583_120}
TFLM_ARENA = {"kws": 22_820, "vww": 100_708, "ic": 54_996, "ad": 2_580}
MICROTVM_WORKSPACE = {"kws": 17_232, "vww": 64_800, "ic": 66_112, "ad": 1_160}
# Published cycles on the STM32L4R5 (NUCLEO-L4R5ZI) at 120 MHz, microTVM + CMSIS-NN (ANCHORS.md): about 1.5-1.8
# cycles per instruction of TFLM_CMSIS's kernels. Other kernels than edgeai's, so only a plausibility check.
MICROTVM_CMSIS_CYCLES = {"kws": 11_980_000, "vww": 36_100_000, "ic": 46_750_000, "ad": 1_030_000}
# edgeai before issue 5 (naive TVM kernels, commit 4d365eb), same harness.
BASELINE = {"kws": 28_010_761, "vww": 71_381_187, "ic": 160_968_758, "ad": 1_658_985}


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _elf_sizes(elf: Path) -> dict:
    """text/data/bss of the firmware (arm-none-eabi-size, Berkeley format)."""
    out = subprocess.run(["arm-none-eabi-size", str(elf)], capture_output=True, text=True, check=True).stdout
    text, data, bss = (int(v) for v in out.splitlines()[1].split()[:3])
    return {"text": text, "data": data, "bss": bss}


def nominal_macs(graph) -> int:
    """The model's MACs as its file has them (the default passes without remove_dead_channels), so MACs per
    instruction stay comparable with TFLite Micro's, which computes the dead channels too."""
    from edgeai.ops import get_op
    from edgeai.passes import DEFAULT_PASSES, remove_dead_channels, run_passes

    graph = run_passes(graph, [p for p in DEFAULT_PASSES if p is not remove_dead_channels])
    return sum(int(get_op(n.op).macs(n, graph)) for n in graph.nodes)


def measure(key: str, target: str, work: Path, per_layer: bool, weights: str = "int8") -> dict:
    from edgeai.analyze import analyze
    from edgeai.compile import compile_model
    from edgeai.elfsize import linked_sizes
    from edgeai.frontends import load
    from edgeai.targets import load_target
    from edgeai.runtime.device import QemuSession
    from edgeai.runtime.reference import LiteRTSession

    path = MODELS_DIR / f"{MODELS[key]}.tflite"
    macs = nominal_macs(load(path))
    computed = analyze(load(path)).macs  # after remove_dead_channels: what the firmware computes
    compiled = compile_model(path, target, work / key, weights=weights)
    ref = LiteRTSession(path)
    rng = np.random.default_rng(0)
    spec = ref.inputs[0]
    x = rng.integers(-128, 128, size=spec.shape).astype(spec.dtype)
    want = ref.run([x])[0]
    with QemuSession(compiled.path, target, count_classes=True) as session:
        got = session.run([x])[0]
        instructions = session.stats.instructions
        classes = session.stats.extra["instruction_classes"]
        elf = session.elf
    from edgeai.cycles import estimate_cycles
    from edgeai.targets import load_target

    cycles = estimate_cycles(load_target(target).cycle_model, classes)
    kernel_bytes = sum((compiled.path / f).stat().st_size for f in compiled.desc["sources"])  # C source, not flash
    row = {
        "model": key, "file": path.name, "target": target, "weights": weights, "macs": int(macs),
        "macs_computed": int(computed),
        "instructions": int(instructions),
        "macs_per_instruction": round(macs / instructions, 3),
        "cycles_estimate": cycles["cycles"],
        "cycles_per_instruction_estimate": round(cycles["cycles_per_instruction"], 3),
        "cycles_by_class_estimate": cycles["by_class"], "instruction_classes": classes,
        "mve_estimate": cycles["mve"],
        "cycle_model": f"estimate: targets/{target}/target.json cycle_model ({cycles['model']})",
        "microtvm_cmsis_cycles_stm32l4r5": MICROTVM_CMSIS_CYCLES[key],
        "microtvm_cmsis_cycles_per_tflm_instruction": round(MICROTVM_CMSIS_CYCLES[key] / TFLM_CMSIS[key], 2),
        "bit_exact": bool(np.array_equal(got, want)),
        "arena_bytes": compiled.desc["arena_size"], "arena_budget_microtvm_cmsis": MICROTVM_WORKSPACE[key],
        "weight_bytes_model": compiled.desc["weight_bytes"], "firmware": _elf_sizes(elf),
        "tflm_cmsis_instructions": TFLM_CMSIS[key],
        "speedup_vs_tflm_cmsis": round(TFLM_CMSIS[key] / instructions, 2),
        "baseline_instructions": BASELINE[key], "library_source_bytes": kernel_bytes,
        "kernels": sorted({layer["symbol"] for layer in compiled.desc["layers"]}),
        "weight_storage": {s: sum(1 for layer in compiled.desc["layers"] if layer.get("weights") == s)
                           for s in sorted({layer["weights"] for layer in compiled.desc["layers"] if "weights" in layer})},
        "linked": linked_sizes(elf, compiled.path, load_target(target).cc)["groups"],
    }
    if per_layer:
        from edgeai.bench.per_layer import per_layer_instructions

        row["layers"] = per_layer_instructions(compiled.path, target, [x])
    return row


def table(rows: list[dict]) -> str:
    lines = ["| model | MACs | instructions | est. cycles (CPI) | MVE instr / beats / est. cycles (overlap) "
             "| MACs/instr | TFLM+CMSIS-NN | speed-up | before (naive) "
             "| arena (budget) | firmware text+data | bit-exact |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        fw, mve = r["firmware"], r["mve_estimate"]
        lines.append(f"| {r['model']} | {r['macs'] / 1e6:.2f} M | {r['instructions']:,} "
                     f"| {r['cycles_estimate']:,} ({r['cycles_per_instruction_estimate']:.2f}) "
                     f"| {mve['instructions']:,} / {mve['beats']:,} / {mve['cycles']:,} "
                     f"(−{mve['cycles_saved_by_overlap']:,}) "
                     f"| {r['macs_per_instruction']:.3f} "
                     f"| {r['tflm_cmsis_instructions']:,} ({r['macs'] / r['tflm_cmsis_instructions']:.2f}) "
                     f"| {r['speedup_vs_tflm_cmsis']:.2f}x | {r['baseline_instructions']:,} "
                     f"| {r['arena_bytes']:,} ({r['arena_budget_microtvm_cmsis']:,}) | {fw['text'] + fw['data']:,} "
                     f"| {'yes' if r['bit_exact'] else 'NO'} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="cortex-m4")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--per-layer", action="store_true", help="also count instructions per layer")
    ap.add_argument("--weights", choices=("int8", "int16", "auto"), default="int8",
                    help="weight storage of the DSP kernels (edgeai compile --weights; default int8)")
    ap.add_argument("--out", default=None, help="default: results.json (cortex-m4), results_<target>.json, with "
                                                "_<weights> before .json unless int8")
    args = ap.parse_args(argv)
    if args.out is None:
        stem = "results" if args.target == "cortex-m4" else f"results_{args.target}"
        args.out = str(HERE / (stem + ("" if args.weights == "int8" else f"_{args.weights}") + ".json"))
    from edgeai.targets import load_target

    machine = load_target(args.target).qemu["machine"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for key in args.models.split(","):
            row = measure(key, args.target, Path(tmp), args.per_layer, args.weights)
            print(f"{key}: {row['instructions']:,} instructions (exact), {row['cycles_estimate']:,} cycles "
                  f"(estimate, {row['cycles_per_instruction_estimate']:.2f} per instruction), "
                  f"{row['macs_per_instruction']:.3f} MACs/instr, bit-exact {row['bit_exact']}", flush=True)
            rows.append(row)
    print(table(rows))
    print("est. cycles: instruction classes x cycles per class, an estimate; costs and their sources in "
          f"targets/{args.target}/target.json cycle_model; MVE: instructions / beats (4 each) / cycles with the "
          "beat overlap of consecutive MVE instructions (cycles it saves), targets/qemu/mve_beats.h")
    result = {"benchmark": "cortex_m4_mlperf_tiny", "target": args.target, "commit": _git_commit(),
              "host": platform.node(),
              "harness": f"QEMU {machine} (qemu-system-arm), exact TCG-plugin instruction count between "
                         "edgeai_mark_begin/end around one <prefix>_run(), firmware -O2 (edgeai.build)",
              "input": "uniform random int8, numpy default_rng(0)", "results": rows}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if all(r["bit_exact"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
