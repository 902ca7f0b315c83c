"""One benchmark job: a model compiled for one target, measured, and checked against the reference."""

from __future__ import annotations

import json
import os
import socket
import statistics
import time
import traceback
from pathlib import Path


def _interleaved_ms(timed: dict, inputs, repeats: int) -> dict[str, tuple[float, float, float]]:
    """(first quartile, median, third quartile) in ms per backend. Each round runs every backend once on the same
    input, in an order that turns each round: a machine's load changes, and the caches the previous backend left
    cold, fall on all of them alike."""
    names = list(timed)
    for name in names:
        timed[name](inputs[0])  # warm-up: first-call costs are not the model's
    times = {name: [] for name in names}
    for i in range(repeats):
        for name in names[i % len(names):] + names[:i % len(names)]:
            start = time.perf_counter()
            timed[name](inputs[i % len(inputs)])
            times[name].append(time.perf_counter() - start)
    spread = {}
    for name, t in times.items():
        q = statistics.quantiles(t, n=4) if len(t) > 1 else [t[0]] * 3
        spread[name] = (q[0] * 1e3, statistics.median(t) * 1e3, q[2] * 1e3)
    return spread


def measure(model, target: str, samples: int, repeats: int, host_backends=("edgeai", "litert", "onnxruntime"),
            peers: bool = False) -> list[dict]:
    """Every result of one (model, target) pair; errors become results with status "error", never exceptions.
    Each names the process that measured it ("worker": host:pid), so a cluster's failing node can be found.
    `peers`: on aarch64 Linux targets, also count LiteRT and onnxruntime (edgeai.bench.peers) on the same inputs."""
    try:
        results = _measure(model, target, samples, repeats, host_backends, peers)
    except Exception as e:  # a job must report, not take the whole sweep down
        from edgeai.errors import EdgeAIError

        detail = str(e) if isinstance(e, EdgeAIError) else f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}"
        results = [{"model": model.name, "target": target, "backend": "edgeai", "status": "error", "error": detail}]
    worker = f"{socket.gethostname()}:{os.getpid()}"
    return [{**r, "worker": worker} for r in results]


def _measure(model, target: str, samples: int, repeats: int, host_backends, peers: bool = False) -> list[dict]:
    from edgeai.analyze import analyze
    from edgeai.compile import compile_model
    from edgeai.frontends import load
    from edgeai.report import energy_estimate
    from edgeai.runtime.reference import LiteRTSession, OnnxRuntimeSession
    from edgeai.targets import load_target
    from edgeai.validate import compare, random_inputs

    source = model.tflite or model.onnx
    tgt = load_target(target)
    macs = analyze(load(source)).macs
    reference = LiteRTSession(source) if model.tflite else OnnxRuntimeSession(source, optimize=False)
    inputs = random_inputs(reference.inputs, max(samples, 1), seed=7)
    want = [reference.run(x) for x in inputs]
    start = time.monotonic()
    compiled = compile_model(source, tgt.name)
    compile_s = time.monotonic() - start
    base = {"model": model.name, "target": tgt.name, "macs": macs, "status": "ok",
            "arena_bytes": compiled.desc["arena_size"],
            "io_bytes": compiled.desc["input_size"] + compiled.desc["output_size"]}
    results = []
    if tgt.is_host:
        from edgeai.runtime.host import HostSession

        session = HostSession(compiled.path)
        got = [session.run(x) for x in inputs]
        agreement = compare(session.outputs, got, want)[0]
        record = {**base, "backend": "edgeai", "compile_seconds": compile_s,
                  "weight_bytes": compiled.desc["weight_bytes"], **_accuracy(agreement)}
        timed = {"edgeai": session.run}
        if "litert" in host_backends and model.tflite:
            timed["litert"] = LiteRTSession(model.tflite, kernels="xnnpack").run
        if "onnxruntime" in host_backends and model.onnx:
            timed["onnxruntime"] = OnnxRuntimeSession(model.onnx).run
        # Side by side in one process, interleaved: ratios are what compare across machines.
        spread = _interleaved_ms(timed, inputs, repeats)
        record["wall_ms"], record["wall_ms_quartiles"] = spread["edgeai"][1], [spread["edgeai"][0], spread["edgeai"][2]]
        results.append(record)
        for name in ("litert", "onnxruntime"):
            if name in spread:
                q1, median, q3 = spread[name]
                results.append({**base, "backend": name, "wall_ms": median, "wall_ms_quartiles": [q1, q3],
                                "edgeai_speedup": median / spread["edgeai"][1]})
        return results

    from edgeai.elfsize import memory_report
    from edgeai.runtime.device import QemuSession, build_firmware

    elf = build_firmware(compiled.path, tgt)
    got, counts, classes = [], [], []
    # Cortex-M: the plugin also counts instruction classes, for the class-by-class cycle estimate.
    with QemuSession(compiled.path, tgt.name, elf=elf, count_classes=tgt.is_cortex_m) as session:
        for x in inputs:
            got.append(session.run(x))
            counts.append(session.stats.instructions)
            classes.append(session.stats.extra.get("instruction_classes"))
    agreement = compare(session.outputs, got, want)[0]
    memory = memory_report(elf, compiled.path, tgt.cc, compiled.desc["arena_size"])
    counted = [c for c in counts if c is not None]
    instructions = max(counted) if counted else None  # the worst input: a budget must hold for all
    worst_classes = classes[counts.index(instructions)] if counted else None
    record = {**base, "backend": "edgeai", "compile_seconds": compile_s, **memory, **_accuracy(agreement),
              "instructions": instructions, "instructions_min": min(counted) if counted else None,
              "macs_per_instruction": macs / instructions if instructions else None,
              "runs_on": _runs_on(tgt, counted), "instruction_classes": worst_classes,
              "estimate": energy_estimate(tgt, instructions, worst_classes)}
    results.append(record)
    if peers and not tgt.is_cortex_m:
        from edgeai.bench.peers import peer_results

        try:
            results += peer_results(model, tgt.name, inputs, want, reference.outputs, base, instructions)
        except Exception as e:  # edgeai's own result stands; the peers' failure is a result of its own
            from edgeai.errors import EdgeAIError

            detail = (str(e) if isinstance(e, EdgeAIError)
                      else f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}")
            results.append({"model": model.name, "target": tgt.name, "backend": "peers", "status": "error",
                            "error": detail})
    return results


def _runs_on(tgt, counted) -> str:
    if tgt.is_cortex_m:
        return "qemu-system-arm"
    return f"qemu-aarch64 -cpu {tgt.qemu.get('cpu', tgt.cpu)}" if counted else "qemu-aarch64-static"


def measure_board(model, board: dict, samples: int) -> list[dict]:
    """A real board on a serial port running the firmware built for board["target"] (flashed by the user), with
    energy from the power monitor named in board["power"] when one is attached."""
    try:
        return _measure_board(model, board, samples)
    except Exception as e:
        from edgeai.errors import EdgeAIError

        detail = str(e) if isinstance(e, EdgeAIError) else f"{type(e).__name__}: {e}"
        return [{"model": model.name, "target": board_name(board), "backend": "edgeai", "status": "error",
                 "error": detail}]


def board_name(board: dict) -> str:
    """A suite's board: a serial port ({"port", "target"}) or a labgrid place ({"labgrid": "ENV.yaml[:ROLE]"})."""
    return f"labgrid:{board['labgrid']}" if "labgrid" in board else f"serial:{board['port']}"


def _open_board(compiled_path, board: dict):
    if "labgrid" in board:
        from edgeai.farm.place import LabgridPlace, LabgridSession, parse_place

        return LabgridSession(compiled_path, LabgridPlace(*parse_place(board["labgrid"])), board["target"])
    from edgeai.runtime.device import SerialSession, parse_serial

    port, baud = parse_serial(board["port"], board.get("baudrate"))
    options = {"timeout": float(board["timeout"])} if board.get("timeout") else {}
    return SerialSession(compiled_path, port, baud, **options)


def _measure_board(model, board: dict, samples: int) -> list[dict]:
    from edgeai.compile import compile_model
    from edgeai.runtime.reference import LiteRTSession, OnnxRuntimeSession
    from edgeai.validate import compare, random_inputs

    source = model.tflite or model.onnx
    reference = LiteRTSession(source) if model.tflite else OnnxRuntimeSession(source, optimize=False)
    inputs = random_inputs(reference.inputs, max(samples, 1), seed=7)
    want = [reference.run(x) for x in inputs]
    if "labgrid" in board and "target" not in board:
        from edgeai.farm.place import LabgridPlace, parse_place

        board = {**board, "target": LabgridPlace(*parse_place(board["labgrid"])).edgeai_target()}
    # The board's firmware must be this model's: its own library folder, or the same compile (cached) again.
    library = Path(board["library"]) if board.get("library") else compile_model(source, board["target"]).path
    desc = json.loads((library / "model.json").read_text())
    record = {"model": model.name, "target": board_name(board), "board_target": board["target"],
              "backend": "edgeai", "status": "ok", "arena_bytes": desc["arena_size"]}
    with _open_board(library, board) as session:
        got, counts = [], []
        for x in inputs:
            got.append(session.run(x))
            counts.append(session.stats.instructions)
        record.update(_accuracy(compare(session.outputs, got, want)[0]))
        record["device_ticks"] = session.stats.extra.get("ticks")
        if all(c is not None for c in counts):  # a place in QEMU counts them
            record["instructions"] = max(counts)
        if board.get("power"):
            from edgeai.power import measure_energy, open_monitor

            repeat = int(board.get("repeat", 100))
            energy = measure_energy(open_monitor(board["power"]), lambda: session.client.run(repeat) and repeat)
            record["energy"] = {"energy_per_inference_mj": energy.energy_per_inference_j * 1e3,
                                "active_power_w": energy.active_power_w, "idle_power_w": energy.idle_power_w,
                                "monitor": energy.monitor, "estimate": False}
    return [record]


def _accuracy(a) -> dict:
    return {"samples": a.samples, "bit_exact": a.bit_exact, "max_abs_error": a.max_abs_error,
            "top1_agreement": a.top1_agreement, "min_cosine": a.min_cosine}


def job_key(result: dict) -> str:
    return f"{result['model']}|{result['target']}|{result['backend']}"

