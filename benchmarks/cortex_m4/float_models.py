"""Float32 models on a Cortex-M under QEMU: instructions per inference (exact icount plugin), the cycle estimate
with its MVE beat accounting, the layers' kernels, and the largest difference from LiteRT's reference kernels
and from onnxruntime on the model's ONNX export (float: the sums' order differs, so close, not bit-exact).

    .venv/bin/python benchmarks/cortex_m4/float_models.py [--target cortex-m55] [--models ad,vww,ic]
                                                          [--out benchmarks/cortex_m4/results_float_<target>.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from edgeai import models_root  # noqa: E402

MODELS = {"ad": "ad01_fp32", "vww": "vww_96_float", "ic": "pretrainedResnet"}


def measure(key: str, target: str, work: Path) -> dict:
    from edgeai.compile import compile_model
    from edgeai.cycles import estimate_cycles
    from edgeai.runtime.device import QemuSession
    from edgeai.runtime.reference import LiteRTSession, OnnxRuntimeSession
    from edgeai.targets import load_target
    from edgeai.validate import random_inputs

    path = models_root() / "mlperf_tiny" / f"{MODELS[key]}.tflite"
    compiled = compile_model(path, target, work / key)
    ref = LiteRTSession(path)
    inputs = next(iter(random_inputs(ref.inputs, 1, seed=0)))
    want = ref.run(inputs)
    ort = OnnxRuntimeSession(models_root() / "mlperf_tiny_onnx" / f"{MODELS[key]}.onnx").run(inputs)
    with QemuSession(compiled.path, target, count_classes=True) as session:
        got = session.run(inputs)
        instructions, classes = session.stats.instructions, session.stats.extra["instruction_classes"]
    cycles = estimate_cycles(load_target(target).cycle_model, classes)
    scale = max(float(np.abs(w).max()) for w in want)
    return {"model": key, "file": path.name, "target": target, "instructions": int(instructions),
            "cycles_estimate": cycles["cycles"], "mve_estimate": cycles.get("mve"),
            "max_abs_diff_vs_litert": max(float(np.abs(g - w).max()) for g, w in zip(got, want)),
            "max_abs_diff_vs_onnxruntime": max(float(np.abs(g - w).max()) for g, w in zip(got, ort)),
            "litert_output_max_abs": scale,
            "kernels": sorted({f"{layer['op']}: {layer['symbol']}" for layer in compiled.desc["layers"]})}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="cortex-m55")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    out = Path(args.out or HERE / f"results_float_{args.target}.json")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for key in args.models.split(","):
            row = measure(key, args.target, Path(tmp))
            mve = row["mve_estimate"] or {}
            print(f"{key}: {row['instructions']:,} instructions (exact), {row['cycles_estimate']:,} cycles (estimate; "
                  f"MVE {mve.get('instructions', 0):,} instructions, {mve.get('beats', 0):,} beats, "
                  f"{mve.get('cycles', 0):,} cycles, {mve.get('cycles_saved_by_overlap', 0):,} saved by overlap), "
                  f"max |edgeai - LiteRT| {row['max_abs_diff_vs_litert']:.3g}, |edgeai - onnxruntime| "
                  f"{row['max_abs_diff_vs_onnxruntime']:.3g}, of {row['litert_output_max_abs']:.3g}",
                  flush=True)
            rows.append(row)
    out.write_text(json.dumps({"benchmark": "float32 MLPerf Tiny models", "target": args.target,
                               "input": "edgeai.validate.random_inputs, seed 0", "results": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
