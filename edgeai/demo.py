"""The main job end to end: a shipped MLPerf Tiny int8 model compiled for a Cortex-M target, run under
QEMU over the serial protocol, checked against LiteRT, with its report."""

from __future__ import annotations

import json
import time
from pathlib import Path

from edgeai import REPO_ROOT

DEMO_MODEL = REPO_ROOT / "models" / "mlperf_tiny" / "kws_ref_model.tflite"


def run_demo(model: Path = DEMO_MODEL, target: str = "cortex-m4", samples: int = 10, out: Path | None = None,
             log=print) -> dict:
    from edgeai.compile import compile_model
    from edgeai.analyze import analyze
    from edgeai.frontends import load
    from edgeai.report import device_report, format_report
    from edgeai.runtime.device import QemuSession, build_firmware
    from edgeai.runtime.reference import reference_session
    from edgeai.targets import load_target
    from edgeai.validate import compare, random_inputs

    tgt = load_target(target)
    log(f"edgeai demo: {model.name} on {tgt.name} ({_where(tgt)})")
    start = time.monotonic()
    compiled = compile_model(model, tgt.name)
    analysis = analyze(load(model))
    log(f"  compiled      {len(compiled.desc['layers'])} kernel calls, {analysis.macs:,} MACs "
        f"-> {compiled.path} ({time.monotonic() - start:.1f} s)")
    start = time.monotonic()
    elf = build_firmware(compiled.path, tgt)
    log(f"  firmware      {elf} ({time.monotonic() - start:.1f} s)")
    reference = reference_session(model)
    inputs = random_inputs(reference.inputs, samples, seed=2026)
    want = [reference.run(x) for x in inputs]
    got, counts = [], []
    start = time.monotonic()
    with QemuSession(compiled.path, tgt.name, elf=elf) as session:
        for x in inputs:
            got.append(session.run(x))
            counts.append(session.stats.instructions)
    log(f"  ran           {samples} inferences under QEMU over the serial protocol ({time.monotonic() - start:.1f} s)")
    agreement = compare(session.outputs, got, want)
    report = device_report(model, tgt, compiled, elf, analysis, counts, agreement)
    out = Path(out or Path("build") / "demo")
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    log("")
    log(format_report(report))
    log(f"\nreport: {out / 'report.json'}")
    return report


def _where(tgt) -> str:
    q = tgt.qemu or {}
    return f"QEMU {q['machine']}" if "machine" in q else q.get("user", "this machine")
