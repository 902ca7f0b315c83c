"""Per-layer instruction counts of a compiled library on a Cortex-M target under QEMU.

The firmware is rebuilt with -DEDGEAI_PROFILE and compilers/c/runtime/profile_hooks.c, which make every layer
one region of the exact QEMU icount plugin (targets/qemu/icount_plugin.c); each count includes the two marker
calls around the layer (a handful of instructions).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from edgeai import REPO_ROOT
from edgeai.fallbacks import format_generic, generic_layers


def _layer_macs(desc: dict) -> dict[str, int]:
    """MACs per node name, from the model the library was compiled from (0 when it cannot be loaded)."""
    from edgeai.frontends import load
    from edgeai.ops import get_op

    try:
        graph = load(desc["source"])
    except Exception:  # noqa: BLE001 - the source may have moved; counts stay useful without MACs
        return {}
    return {n.name: int(get_op(n.op).macs(n, graph)) for n in graph.nodes}


def build_profiling_firmware(lib_dir: str | Path, target: str) -> Path:
    from edgeai.build import build_program
    from edgeai.firmware import RUNTIME_DIR, bench_binding, firmware_sources
    from edgeai.runtime.device import CORTEX_M_PORT, PORTS_DIR
    from edgeai.targets import load_target

    tgt = load_target(target)
    lib_dir = Path(lib_dir)
    return build_program(tgt, firmware_sources(lib_dir) + CORTEX_M_PORT + [RUNTIME_DIR / "profile_hooks.c"],
                         lib_dir / "build",
                         include_dirs=[lib_dir, RUNTIME_DIR, PORTS_DIR, REPO_ROOT / "targets" / "common"],
                         defines={"EDGEAI_PROFILE": None}, name=f"profile-{tgt.name}",
                         generated=bench_binding(lib_dir, tgt.clock_hz or 0, tgt.name))


def per_layer_instructions(lib_dir: str | Path, target: str = "cortex-m4", inputs=None) -> list[dict]:
    """Instructions per layer for one inference (random int8/float inputs unless `inputs` is given)."""
    from edgeai.runtime.device import QemuSession

    lib_dir = Path(lib_dir)
    desc = json.loads((lib_dir / "model.json").read_text())
    layers = desc["layers"]
    elf = build_profiling_firmware(lib_dir, target)
    with QemuSession(lib_dir, target, elf=elf) as session:
        if inputs is None:
            rng = np.random.default_rng(0)
            inputs = []
            for t in session.inputs:
                if np.dtype(t.dtype).kind == "f":
                    inputs.append(rng.standard_normal(t.shape).astype(t.dtype))
                else:
                    info = np.iinfo(t.dtype)
                    inputs.append(rng.integers(info.min, info.max + 1, size=t.shape).astype(t.dtype))
        session.run(inputs)
        deadline = time.monotonic() + 5.0
        counts = session.emulator.instruction_counts()
        while len(counts) < len(layers) and time.monotonic() < deadline:
            time.sleep(0.01)
            counts = session.emulator.instruction_counts()
    if len(counts) != len(layers):
        raise RuntimeError(f"expected {len(layers)} per-layer counts, the plugin reported {len(counts)}")
    macs = _layer_macs(desc)
    rows = []
    for i, (layer, n) in enumerate(zip(layers, counts)):
        m = macs.get(layer["node"], 0)
        rows.append({"index": i, "node": layer["node"], "op": layer["op"], "symbol": layer["symbol"], "macs": m,
                     "instructions": int(n), "macs_per_instruction": round(m / n, 3) if n and m else None})
        if "generic_kernel" in layer:
            rows[-1]["generic_kernel"] = layer["generic_kernel"]
    return rows


def format_table(rows: list[dict]) -> str:
    total_i = sum(r["instructions"] for r in rows)
    total_m = sum(r["macs"] for r in rows)
    lines = [f"{'#':>3} {'op':<18} {'kernel':<18} {'MACs':>10} {'instructions':>13} {'MACs/instr':>10} {'share':>6}"]
    for r in rows:
        mpi = f"{r['macs_per_instruction']:.3f}" if r["macs_per_instruction"] else "-"
        lines.append(f"{r['index']:>3} {r['op']:<18} {r['symbol'][:18]:<18} {r['macs']:>10,} {r['instructions']:>13,} "
                     f"{mpi:>10} {100 * r['instructions'] / total_i:>5.1f}%")
    lines.append(f"{'':>3} {'total':<18} {'':<18} {total_m:>10,} {total_i:>13,} "
                 f"{total_m / total_i if total_i else 0:>10.3f}")
    lines += format_generic(generic_layers(rows, [r["instructions"] for r in rows]))
    return "\n".join(lines)
