"""Safety zones, end to end: synthetic 8x8 ToF walking sequences -> float ONNX -> edgeai.quantize (int8 QDQ)
-> edgeai compile for cortex-m4 -> the firmware under QEMU -> person presence/distance per frame -> the ISO 13855
zone logic with hysteresis (C, firmware/zone_logic.c; checked against its Python mirror) -> zone decisions vs
ground truth, and the reaction-time budget check with the inference time measured on the target.

    python examples/safety_zones/run.py [--train] [--sequences 18] [--robot-stop-ms 300] [--budget-ms 150]

Exits 1 when the reaction-time budget (or the sensor range) is exceeded, or when the firmware, the C logic built
for this machine and the Python mirror disagree on any frame.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from examples.common import (cached, device_dict, device_rows, onnx_outputs, quantize_model,  # noqa: E402
                             run_device, write_calibration)
from examples.safety_zones import zones  # noqa: E402
from examples.safety_zones.data import FRAME_HZ, generate, generate_sequences, to_input  # noqa: E402

DATA = HERE / "data"
SHIPPED = HERE / "model.onnx"
SEQUENCES, FRAMES, CALIBRATION_COUNT = 18, 90, 300


def to_milli(outputs: np.ndarray, spec=None) -> np.ndarray:
    """Model outputs [N, 2] -> (presence per mille, distance mm) as the firmware computes them: int8 outputs with
    zone_dequant_milli (spec: the output's scale and zero point), float outputs with zone_float_milli."""
    if spec is not None and spec.scale is not None:
        micro = round(spec.scale * 1e6)
        return np.array([[zones.dequant_milli(q, spec.zero_point, micro) for q in row] for row in outputs], np.int64)
    return np.array([[zones.float_milli(p), zones.float_milli(d)] for p, d in outputs], np.int64)


def decide(cfg, lim, milli: np.ndarray, valid: np.ndarray, seq_len: int) -> np.ndarray:
    """The Python mirror over sequences (state reset at each sequence start): [N] zones."""
    out = []
    for s in range(0, len(milli), seq_len):
        state = zones.ZoneState()
        out += [state.update(cfg, lim, int(p), int(d), int(v))[1]
                for (p, d), v in zip(milli[s:s + seq_len], valid[s:s + seq_len])]
    return np.array(out)


def zone_changes(z: np.ndarray, seq_len: int) -> int:
    z = z.reshape(-1, seq_len)
    return int((z[:, 1:] != z[:, :-1]).sum())


def budget_table(log, cfg, lim, device, target: str) -> None:
    from edgeai.table import format_table

    log("\nreaction time and separation distance (ISO 13855: S = K x T + C)")
    log(format_table(["term", "value", "source"], [
        ["robot stopping time", f"{cfg.robot_stop_us / 1000:.1f} ms", "robot maker's stop-time data (--robot-stop-ms)"],
        ["sensor latency", f"{cfg.sensor_frames * cfg.frame_period_us / 1000:.1f} ms",
         f"{cfg.sensor_frames} frame periods at {FRAME_HZ:g} Hz (worst-case phase)"],
        ["inference", f"{cfg.inference_us / 1000:.3f} ms",
         f"{target}: {max(device.instructions):,} instructions (QEMU), estimated at the target clock"
         if device.instructions else "not measured"],
        ["logic + output switching", f"{cfg.output_us / 1000:.1f} ms", "allowance"],
        ["system reaction", f"{lim.system_reaction_us / 1000:.3f} ms",
         f"budget {cfg.reaction_budget_us / 1000:.1f} ms: {'OK' if lim.system_reaction_us <= cfg.reaction_budget_us else 'OVER'}"
         f" (margin {(cfg.reaction_budget_us - lim.system_reaction_us) / 1000:.3f} ms)"],
        ["T", f"{lim.total_us / 1000:.3f} ms", "robot stop + system reaction"],
        ["C", f"{lim.intrusion_mm} mm", f"detection capability {cfg.detection_capability_mm} mm > 40 mm: body"],
        ["S (minimum separation)", f"{lim.stop_mm} mm", "K = 2000 mm/s gives > 500 mm, so K = 1600 mm/s"
         if lim.stop_mm >= 500 and 2 * lim.total_us // 1000 + lim.intrusion_mm > 500 else "K = 2000 mm/s"],
        ["protective-stop edge", f"{lim.stop_edge_mm} mm", f"S + {cfg.tolerance_mm} mm detector tolerance"],
        ["warning zone edge", f"{lim.warning_mm} mm", f"stop edge + {cfg.warning_margin_mm} mm"],
        ["hysteresis", f"+{cfg.exit_margin_mm} mm, {cfg.exit_frames} frames", "to leave a zone; entering is immediate"],
    ], "lrl"))



def main(argv=None, log=print) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", action="store_true", help="train the model first (needs torch)")
    ap.add_argument("--sequences", type=int, default=SEQUENCES, help="held-out walking sequences of 90 frames (6 s)")
    ap.add_argument("--session-frames", type=int, default=90,
                    help="frames also run one by one over the serial protocol (QemuSession); the zone firmware "
                         "runs all of them")
    ap.add_argument("--observer", default="minmax")
    ap.add_argument("--target", default="cortex-m4")
    ap.add_argument("--robot-stop-ms", type=float, default=300.0, help="robot stopping time (maker's data)")
    ap.add_argument("--budget-ms", type=float, default=150.0,
                    help="reaction-time budget for sensor latency + inference + output")
    ap.add_argument("--tolerance-mm", type=int, default=300,
                    help="the detector's distance tolerance, added to S for the stop edge")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    failures = []

    log(f"safety zones: 8x8 ToF frames at {FRAME_HZ:g} Hz, person presence + distance, ISO 13855 zones")
    seq = cached(DATA / "test_sequences.npz", lambda: generate_sequences("test", SEQUENCES, FRAMES), log)
    if args.sequences > SEQUENCES:
        seq = generate_sequences("test", args.sequences, FRAMES)
    k = args.sequences
    frames = seq["frames"][:k].reshape(-1, 8, 8)
    present, distance = seq["present"][:k].reshape(-1), seq["distance"][:k].reshape(-1)
    valid = (frames > 0).sum(axis=(1, 2))
    x = to_input(frames)
    calibration = write_calibration(DATA / "calibration", to_input(
        cached(DATA / "calibration.npz", lambda: {"frames": generate("val", CALIBRATION_COUNT)["frames"]}, log)["frames"]))

    model = SHIPPED
    if args.train:
        from examples.safety_zones import train

        model = DATA / "model_trained.onnx"
        train.main(["--out", str(model), "--log", str(DATA / "train_log.txt")])

    start = time.monotonic()
    float_out = onnx_outputs(model, x)
    qdq = DATA / f"{model.stem}_int8_{args.observer}.onnx"
    quantize_model(model, calibration, qdq, observer=args.observer)
    log(f"  quantized     {model.name} -> {qdq.name} ({args.observer}, {CALIBRATION_COUNT} calibration frames; "
        f"{time.monotonic() - start:.1f} s)")

    def quantized_frames(spec):  # the firmware's integer quantization of the ranges (zone_quantize_mm)
        mult, shift = zones.input_multiplier(spec.scale)
        return zones.quantize_mm(frames, mult, shift, spec.zero_point)[..., None]

    m = min(args.session_frames, len(frames))
    device = run_device(qdq, args.target, lambda spec: quantized_frames(spec)[:m], DATA / "build", log)

    # Reaction time: the inference time measured on the target goes into T.
    cfg = zones.Config(robot_stop_us=round(args.robot_stop_ms * 1000), reaction_budget_us=round(args.budget_ms * 1000),
                       frame_period_us=round(1e6 / FRAME_HZ), tolerance_mm=args.tolerance_mm)
    est = device.estimate
    cfg.inference_us = math.ceil(est["latency_ms"] * 1000) if est else 0
    status, lim = zones.limits(cfg)
    if lim is None:
        raise SystemExit(f"zone configuration rejected: {zones.STATUS_NAMES[status]}")
    from examples.safety_zones import firmware

    if status != zones.OK:
        # Fail loudly, and show that the firmware refuses to decide anything with this configuration.
        fw = firmware.build_and_run(device.lib_dir, frames[:FRAMES], FRAMES, cfg,
                                    DATA / "build" / f"zone-{args.target}", args.target)
        budget_table(log, cfg, lim, device, args.target)
        refused = fw.status == 3 and len(fw.frames) == 0
        msg = (f"REACTION-TIME BUDGET CHECK FAILED: {zones.STATUS_NAMES[status]} (system reaction "
               f"{lim.system_reaction_us / 1000:.3f} ms against a budget of {cfg.reaction_budget_us / 1000:.1f} ms; "
               f"warning edge + exit margin {lim.warning_mm + cfg.exit_margin_mm} mm against "
               f"{cfg.max_range_mm} mm of sensor range)")
        log(f"\nFAIL: {msg}")
        log(f"firmware on {args.target}: " + ("refused to run (exit 3), as it must" if refused else
                                              f"exit {fw.status} with {len(fw.frames)} frames decided: it must refuse"))
        return {"model": model.name, "budget_status": zones.STATUS_NAMES[status], "limits": vars(lim),
                "config": vars(cfg), "firmware_refused": refused, "failures": [msg], "ok": False}

    session_milli = to_milli(device.raw, device.output_spec)  # the benchmark firmware's outputs, as the logic reads them

    # The same model and the C zone logic together in one firmware on the target, over the same frames.
    start = time.monotonic()
    fw = firmware.build_and_run(device.lib_dir, frames, FRAMES, cfg, DATA / "build" / f"zone-{args.target}",
                                args.target)
    log(f"  firmware      model + zone logic on {args.target}: {len(fw.frames)} frames under QEMU "
        f"({time.monotonic() - start:.1f} s)")
    if fw.status != 0 or len(fw.frames) != len(frames):
        raise SystemExit(f"FAIL: the zone firmware on {args.target} exited with {fw.status} after {len(fw.frames)} "
                         f"frames:\n{fw.text[-2000:]}")
    # Its model outputs (all frames) must equal what the benchmark firmware returned over the protocol (first m).
    milli = fw.frames[:, 1:3]
    fw_outputs_same = int((milli[:m] == session_milli).all(axis=1).sum())
    py_zone = decide(cfg, lim, milli, valid, FRAMES)
    fw_zone_same = int((fw.frames[:, 4] == py_zone).sum())
    if fw_zone_same != len(py_zone) or fw_outputs_same != m:
        failures.append(f"the firmware on {args.target} disagrees: model outputs {fw_outputs_same}/{m} equal to the "
                        f"QEMU session's, zones {fw_zone_same}/{len(py_zone)} equal to the Python mirror's")
    int8_out = milli / 1000.0  # (presence, distance in m) as the firmware computed them

    # The C logic built for this machine against the Python mirror, on every frame of the firmware's outputs.
    c_agree = None
    try:
        from examples.safety_zones import zones_c

        logic = zones_c.ZoneLogicC(zones_c.build(DATA / "host"))
        c_status, c_lim = logic.limits(cfg)
        c_zone = []
        for s in range(0, len(milli), FRAMES):
            c_zone += [z for _, z in logic.run(cfg, c_lim, [(p, d, v) for (p, d), v in
                                                            zip(milli[s:s + FRAMES], valid[s:s + FRAMES])])]
        c_agree = int((np.array(c_zone) == py_zone).sum())
        if c_status != status or c_lim != lim or c_agree != len(py_zone):
            failures.append(f"C and Python zone logic disagree ({c_agree}/{len(py_zone)} frames)")
    except (OSError, FileNotFoundError) as e:
        log(f"  (C zone logic not checked here: {e})")

    truth = np.array([zones.ground_truth_zone(cfg, lim, p, d) for p, d in zip(present, distance)])
    float_zone = decide(cfg, lim, to_milli(float_out), valid, FRAMES)
    raw_cfg = zones.Config(**{**vars(cfg), "exit_frames": 1, "exit_margin_mm": 0})
    no_hyst = decide(raw_cfg, lim, milli, valid, FRAMES)

    def zone_stats(z):
        return {"accuracy": float((z == truth).mean()),
                "less_severe_than_truth": int((z < truth).sum()),  # the unsafe side
                "more_severe_than_truth": int((z > truth).sum()),  # false alarms, hysteresis, start-up
                "missed_stop_frames": int(((truth == zones.STOP) & (z < zones.STOP)).sum()),
                "missed_deep_stop_frames": int(((distance * 1000 <= lim.stop_mm - 300) & present
                                                & (z < zones.STOP)).sum()),
                "zone_changes": zone_changes(z, FRAMES)}

    stats = {"int8 device": zone_stats(py_zone), "float": zone_stats(float_zone),
             "int8 device, no hysteresis": zone_stats(no_hyst)}
    def detection(o):
        # the error that matters: people detected up to the warning edge, where the decisions are made
        seen = present & (o[:, 0] >= 0.5) & (distance * 1000 <= lim.warning_mm)
        err = np.abs(o[seen, 1] - distance[seen]) * 1000
        return {"presence_accuracy": float(((o[:, 0] >= 0.5) == present).mean()),
                "distance_mae_mm": float(np.abs(o[present, 1] - distance[present]).mean() * 1000),
                "distance_p95_mm": float(np.percentile(err, 95)) if len(err) else 0.0}

    det = {name: detection(o) for name, o in (("float", float_out), ("int8 device", int8_out))}

    from edgeai.table import format_table

    n = len(frames)
    log("")
    rows = [[f"presence accuracy, {k2}", f"{v['presence_accuracy'] * 100:.2f} %",
             f"{n} held-out frames ({int(present.sum())} with a person)"] for k2, v in det.items()]
    rows += [[f"distance MAE, {k2}", f"{v['distance_mae_mm']:.0f} mm", "frames with a person"] for k2, v in det.items()]
    rows += [[f"distance error p95, {k2}", f"{v['distance_p95_mm']:.0f} mm",
              f"person detected within the warning edge ({lim.warning_mm} mm)"] for k2, v in det.items()]
    rows += device_rows(device)
    log(format_table(["measure", "value", "how"], rows, "lrl"))
    budget_table(log, cfg, lim, device, args.target)

    log("\nzone decisions per frame against the ground-truth zone of the true distance")
    log(format_table(["decisions", "accuracy", "too lax", "too strict", "missed stop", "> 300 mm inside S",
                      "zone changes"],
                     [[k2, f"{v['accuracy'] * 100:.2f} %", v["less_severe_than_truth"], v["more_severe_than_truth"],
                       v["missed_stop_frames"], v["missed_deep_stop_frames"], v["zone_changes"]]
                      for k2, v in stats.items()]
                     + [["ground truth", "", "", "", int((truth == zones.STOP).sum()), "", zone_changes(truth, FRAMES)]],
                     "lrrrrrr"))
    log("(frames; too lax = a less severe zone than the truth, too strict = a more severe one: false alarms, the "
        "hysteresis holding a zone, and the start in STOP)")
    confusion = np.zeros((3, 3), int)
    for t, z in zip(truth, py_zone):
        confusion[t, z] += 1
    log(format_table(["truth \\ decided", *zones.ZONE_NAMES],
                     [[zones.ZONE_NAMES[i], *confusion[i].tolist()] for i in range(3)], "lrrr"))
    log("\none sequence of each kind, frame by frame (. free, w warning, S stop; truth above, firmware below):")
    kinds = ("approach and leave", "linger near an edge", "empty cell")
    for kind in range(3):
        idx = [i for i in range(len(truth) // FRAMES) if seq["kind"][i] == kind][:1]
        for i in idx:
            sl = slice(i * FRAMES, (i + 1) * FRAMES)
            log(f"  {kinds[kind]:<20} truth    {''.join('.wS'[z] for z in truth[sl])}")
            log(f"  {'':<20} decided  {''.join('.wS'[z] for z in fw.frames[sl, 4])}")
    if c_agree is not None:
        log(f"C zone logic (gcc, this machine) vs Python mirror: {c_agree}/{len(py_zone)} frames identical")
    log(f"firmware on {args.target} (model + C zone logic, QEMU): zones {fw_zone_same}/{len(py_zone)} and model outputs "
        f"{fw_outputs_same}/{m} identical to the session + Python mirror; instructions per frame: "
        f"quantize + model {max(fw.model_instructions, default=0):,}, zone logic "
        f"{min(fw.logic_instructions, default=0):,}..{max(fw.logic_instructions, default=0):,}; zone logic flash "
        f"{fw.logic_flash_bytes if fw.logic_flash_bytes is not None else '?'} B")

    if det["int8 device"]["distance_p95_mm"] > cfg.tolerance_mm:
        log(f"\nWARNING: the detector's 95th-percentile distance error ({det['int8 device']['distance_p95_mm']:.0f} mm) "
            f"exceeds the {cfg.tolerance_mm} mm tolerance added to S (--tolerance-mm)")
    for f in failures:
        log(f"\nFAIL: {f}")
    results = {"model": model.name, "frames": n, "detection": det, "zones": stats, "confusion": confusion.tolist(),
               "limits": vars(lim), "config": vars(cfg), "budget_status": zones.STATUS_NAMES[status],
               "c_python_agreement": c_agree, "device": device_dict(device), "failures": failures,
               "firmware": {"zones_identical": fw_zone_same, "outputs_identical": fw_outputs_same,
                            "model_instructions": max(fw.model_instructions, default=None),
                            "logic_instructions_max": max(fw.logic_instructions, default=None),
                            "logic_flash_bytes": fw.logic_flash_bytes},
               "ok": not failures}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float) + "\n")
    return results


if __name__ == "__main__":
    sys.exit(0 if main()["ok"] else 1)
