"""Reports of a model on a target: instructions, estimated cycles, latency and energy, memory, accuracy."""

from __future__ import annotations

from pathlib import Path

from edgeai.elfsize import memory_report
from edgeai.table import format_table


def energy_estimate(target, instructions: int | None, classes: dict | None = None) -> dict | None:
    """Cycles, latency and energy from the target's model. Always labelled estimates, with their sources.

    With the run's instruction classes (the QEMU plugin's class mode) and a target cycle model, the cycles are
    the class-by-class estimate (edgeai.cycles); otherwise the instruction count times the target's single
    cycles_per_instruction."""
    e = target.energy
    if not e or instructions is None or not target.clock_hz:
        return None
    model = getattr(target, "cycle_model", None)
    if classes and model:
        from edgeai.cycles import estimate_cycles

        by_class = estimate_cycles(model, classes)
        cycles, cpi = by_class["cycles"], by_class["cycles_per_instruction"]
        cycle_sources, how = by_class["sources"], "instruction classes x cycles per class (target cycle_model)"
        mve = by_class["mve"] if by_class["mve"]["instructions"] else None
    else:
        mve = None
        cycles, cpi = instructions * e["cycles_per_instruction"], e["cycles_per_instruction"]
        cycle_sources, how = [e.get("cycles_per_instruction_source", "")], "instructions x cycles_per_instruction"
    seconds = cycles / target.clock_hz
    return {
        "estimate": True,
        "cycles": round(cycles),
        "cycles_model": how,
        "latency_ms": seconds * 1e3,
        "energy_mj": seconds * e["active_power_w"] * 1e3,
        "cycles_per_instruction": cpi,
        "active_power_w": e["active_power_w"],
        "sources": [*cycle_sources, e.get("active_power_source", "")],
        **({"mve": mve} if mve else {}),  # MVE instructions by their beats, beside the count (edgeai.cycles)
    }


def device_report(model: Path, target, compiled, elf: Path, analysis, counts, agreement) -> dict:
    counts = [c for c in counts if c is not None]
    instructions = counts[-1] if counts else None
    memory = memory_report(elf, compiled.path, target.cc, compiled.desc["arena_size"])
    return {
        "model": Path(model).name,
        "target": target.name,
        "macs": analysis.macs,
        "instructions": instructions,
        "instructions_min": min(counts) if counts else None,
        "instructions_max": max(counts) if counts else None,
        "instructions_source": "QEMU TCG plugin, exact count between the inference markers" if counts else None,
        "macs_per_instruction": analysis.macs / instructions if instructions else None,
        "estimate": energy_estimate(target, instructions),
        "memory": {**memory, "input_bytes": compiled.desc["input_size"], "output_bytes": compiled.desc["output_size"]},
        "accuracy": [a.to_dict() for a in agreement],
        "reference": "LiteRT interpreter, reference kernels",
    }


def format_report(r: dict) -> str:
    rows = []
    if r["instructions"] is not None:
        spread = "" if r["instructions_min"] == r["instructions_max"] else \
            f"; {r['instructions_min']:,}..{r['instructions_max']:,} over the inputs"
        rows.append(["instructions / inference", f"{r['instructions']:,}", f"exact (QEMU plugin){spread}"])
        rows.append(["MACs / instruction", f"{r['macs_per_instruction']:.3f}", f"{r['macs']:,} MACs"])
    est = r.get("estimate")
    if est:
        rows.append(["cycles", f"{est['cycles']:,}", f"estimate: {est['cycles_per_instruction']:.3f} CPI"])
        rows.append(["latency", f"{est['latency_ms']:.2f} ms", "estimate at the target clock"])
        rows.append(["energy / inference", f"{est['energy_mj']:.3f} mJ", f"estimate: {est['active_power_w'] * 1e3:.1f} mW active"])
    m = r["memory"]
    rows.append(["flash (firmware)", f"{m['flash_bytes']:,} B",
                 f"linked: model weights {m['model_weight_bytes']:,} B + model code {m['model_code_bytes']:,} B, "
                 f"runtime {m['runtime_bytes']:,} B, libc {m['libc_bytes']:,} B"])
    rows.append(["flash (library alone)", f"{m['model_library_flash_bytes']:,} B",
                 "the model's weights and code as linked into the firmware"])
    rows.append(["RAM (firmware)", f"{m['ram_bytes']:,} B", f"arena {m['arena_bytes']:,} B, stack {m['stack_bytes']:,} B"])
    for a in r["accuracy"]:
        rows.append([f"agreement ({a['output'][:20]})", f"{a['bit_exact']}/{a['samples']} bit-exact",
                     f"max |err| {a['max_abs_error']:g}, top-1 {a['top1_agreement']}/{a['samples']}, "
                     f"min cosine {a['min_cosine']:.6f}"])
    return f"{r['model']} on {r['target']}\n" + format_table(["measure", "value", "how"], rows, "lrl")
