"""What both examples share: data caching, float reference runs, the edgeai pipeline (quantize, compile,
build, run under QEMU) and the device numbers (instructions, flash, RAM, estimated latency and energy).

Only public edgeai APIs are used: edgeai.quantize.quantize, edgeai.compile.compile_model,
edgeai.runtime.device.{build_firmware, QemuSession}, edgeai.report.energy_estimate,
edgeai.elfsize.memory_report, edgeai.targets.load_target.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script from a clone: the work tree's edgeai and examples
    sys.path.insert(0, str(REPO_ROOT))


def cached(path: Path, make, log=print) -> dict[str, np.ndarray]:
    """Arrays from `path` (.npz) if it exists, else `make()` written there first. Generators are deterministic,
    so the cache only saves time; delete it to regenerate."""
    path = Path(path)
    if path.is_file():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    start = time.monotonic()
    arrays = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)
    log(f"  data          generated {path.name} ({time.monotonic() - start:.1f} s)")
    return arrays


def write_calibration(folder: Path, samples: np.ndarray) -> Path:
    """One .npy file per sample ([1, ...] batch-1 arrays), the folder format edgeai.quantize reads."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    want = {f"sample_{i:04d}.npy" for i in range(len(samples))}
    for old in folder.glob("*.npy"):
        if old.name not in want:
            old.unlink()
    for i, s in enumerate(samples):
        np.save(folder / f"sample_{i:04d}.npy", s[None].astype(np.float32))
    return folder


def onnx_outputs(model_path: Path, x: np.ndarray) -> np.ndarray:
    """Run an ONNX model (static batch 1) with onnxruntime over a batch, one sample at a time: [N, ...].

    Graph optimisations are off: a QDQ model then runs as the ONNX operators define it (DequantizeLinear, the
    float op, QuantizeLinear), the numerics edgeai's ONNX path follows. With them on, onnxruntime fuses QDQ into
    int8 kernels whose results depend on the host CPU (AVX2's u8s8 multiply-add saturates, VNNI does not): on
    an AVX2-only machine the safety-zones classifier lost 8 of 600 decisions that way and none this way."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.stack([sess.run(None, {name: s[None].astype(np.float32)})[0][0] for s in x])


def quantize_model(float_onnx: Path, calibration: Path, out: Path, observer: str = "minmax"):
    """edgeai.quantize: float ONNX + a folder of .npy samples -> QDQ int8 ONNX at `out`."""
    try:
        from edgeai.quantize import quantize
    except ImportError as e:  # the quantizer is new; say what is missing rather than a traceback
        raise SystemExit(f"edgeai.quantize is not available in this checkout ({e}); update edgeai") from None
    return quantize(float_onnx, calibration, out, observer=observer)


def quantize_input(x: np.ndarray, spec) -> np.ndarray:
    """Real values -> the int8 input tensor the compiled model takes (its scale and zero point)."""
    if spec.scale is None:
        return x.astype(spec.dtype)
    info = np.iinfo(np.dtype(spec.dtype))
    return np.clip(np.round(x / spec.scale) + spec.zero_point, info.min, info.max).astype(spec.dtype)


def dequantize(q: np.ndarray, spec) -> np.ndarray:
    if spec.scale is None:
        return q.astype(np.float32)
    return (q.astype(np.float32) - spec.zero_point) * np.float32(spec.scale)


@dataclass
class DeviceRun:
    target: str
    outputs: np.ndarray  # [N, ...] dequantized real values
    raw: np.ndarray  # [N, ...] the output tensor as the device wrote it
    instructions: list = field(default_factory=list)
    memory: dict | None = None
    estimate: dict | None = None
    lib_dir: Path | None = None
    arena_bytes: int = 0
    input_spec: object = None  # TensorSpec: dtype, shape, scale, zero point
    output_spec: object = None


def compile_for(model: Path, target: str, out_dir: Path, log=print):
    """edgeai.compile_model of the QDQ model with int8 input and output (see int8_io), and its benchmark
    firmware. The library goes to out_dir/<model>-<target>."""
    from edgeai import load
    from edgeai.compile import compile_model
    from edgeai.runtime.device import build_firmware
    from edgeai.targets import load_target

    tgt = load_target(target)
    start = time.monotonic()
    compiled = compile_model(int8_io(load(model)), tgt.name, out_dir=Path(out_dir) / f"{model.stem}-{tgt.name}")
    elf = build_firmware(compiled.path, tgt)
    log(f"  compiled      {model.name} for {tgt.name}: {len(compiled.desc['layers'])} kernel calls, "
        f"arena {compiled.desc['arena_size']:,} B ({time.monotonic() - start:.1f} s)")
    return tgt, compiled, elf


def run_device(model: Path, target: str, x: np.ndarray, out_dir: Path, log=print) -> DeviceRun:
    """Compile `model` for `target`, run every sample of `x` on the firmware under QEMU over the serial protocol
    (real values are quantized with the input's scale; int8 arrays are sent as they are; a callable gets the
    input's TensorSpec and returns the array), and read instructions
    (Cortex-M: exact, QEMU plugin), flash/RAM and the energy estimate."""
    from edgeai.elfsize import memory_report
    from edgeai.report import energy_estimate
    from edgeai.runtime.device import QemuSession

    tgt, compiled, elf = compile_for(model, target, out_dir, log)
    raw, counts = [], []
    start = time.monotonic()
    with QemuSession(compiled.path, tgt.name, elf=elf) as session:
        spec_in, spec_out = session.inputs[0], session.outputs[0]
        if callable(x):
            x = x(spec_in)
        for s in x:
            q = s[None] if s.dtype == np.int8 else quantize_input(s[None], spec_in)
            raw.append(session.run([q])[0][0])
            counts.append(session.stats.instructions)
    log(f"  ran           {len(x)} inferences on {tgt.name} under QEMU ({time.monotonic() - start:.1f} s)")
    raw = np.stack(raw)
    counts = [c for c in counts if c is not None]
    memory = memory_report(elf, compiled.path, tgt.cc, compiled.desc["arena_size"]) if tgt.is_cortex_m else None
    return DeviceRun(tgt.name, dequantize(raw, spec_out), raw, counts, memory,
                     energy_estimate(tgt, max(counts) if counts else None), compiled.path,
                     compiled.desc["arena_size"], spec_in, spec_out)


def device_rows(run: DeviceRun) -> list[list[str]]:
    """Table rows of what a device run measured, each saying how it was obtained."""
    rows = []
    if run.instructions:
        lo, hi = min(run.instructions), max(run.instructions)
        spread = "" if lo == hi else f" ({lo:,}..{hi:,} over the inputs)"
        rows.append(["instructions / inference", f"{hi:,}", f"exact, QEMU plugin{spread}"])
    if run.estimate:
        e = run.estimate
        rows.append(["latency / inference", f"{e['latency_ms']:.3f} ms",
                     f"estimate: {e['cycles']:,} cycles at {e['cycles_per_instruction']} CPI"])
        rows.append(["energy / inference", f"{e['energy_mj'] * 1e3:.1f} uJ",
                     f"estimate: {e['active_power_w'] * 1e3:.1f} mW active"])
    if run.memory:
        m = run.memory
        rows.append(["flash (firmware)", f"{m['flash_bytes']:,} B",
                     f"model weights {m['model_weight_bytes']:,} B + model code {m['model_code_bytes']:,} B"])
        rows.append(["RAM (firmware)", f"{m['ram_bytes']:,} B",
                     f"arena {m['arena_bytes']:,} B, stack {m['stack_bytes']:,} B"])
    return rows


def device_dict(run: DeviceRun) -> dict:
    return {"target": run.target, "instructions": max(run.instructions) if run.instructions else None,
            "estimate": run.estimate, "memory": run.memory, "arena_bytes": run.arena_bytes}


def int8_io(graph):
    """The graph with its float boundary removed: a QuantizeLinear right after an input and a DequantizeLinear
    right before an output are dropped, so the library takes and returns int8 tensors with their scale and zero
    point (as an int8 TFLite model does). On a microcontroller the sensor code quantizes its data anyway, and
    the float quantize kernel would need libm's nearbyintf, which the Cortex-M firmware does not link."""
    consumers, producers = graph.consumers(), graph.producers()
    drop, inputs, outputs = set(), [], []
    for name in graph.inputs:
        users = consumers.get(name, [])
        if len(users) == 1 and users[0].op == "quantize":
            drop.add(id(users[0]))
            inputs.append(users[0].outputs[0])
        else:
            inputs.append(name)
    for name in graph.outputs:
        node = producers.get(name)
        if node is not None and node.op == "dequantize" and len(consumers.get(node.inputs[0], [])) == 1:
            drop.add(id(node))
            outputs.append(node.inputs[0])
        else:
            outputs.append(name)
    nodes = [n for n in graph.nodes if id(n) not in drop]
    keep = {t for n in nodes for t in (*n.inputs, *n.outputs)} | set(inputs) | set(outputs)
    tensors = {t: graph.tensor(t) for t in keep if t}
    return graph.replace(nodes=nodes, tensors=tensors, inputs=inputs, outputs=outputs)
