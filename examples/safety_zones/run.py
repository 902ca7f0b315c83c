"""Safety zones, end to end: a multizone ToF sensor model (status, signal, ambient per zone) -> the protective
field decided by geometry against a taught background (C, firmware/zone_logic.c, with its Python mirror), a
latched stop with a restart interlock and a frame watchdog; a small classifier (float ONNX -> edgeai.quantize int8
-> edgeai compile for cortex-m4) that may only raise a warning; the firmware under QEMU; ISO 13855 S from stated
values; and the evidence: approach sequences with 0 missed stop frames.

    python examples/safety_zones/run.py [--approaches 1000] [--firmware-approaches 8] [--robot-stop-ms 300]

Exits 1 on any missed stop frame, when the reaction-time budget or the sensor's rated range is exceeded, or when
the firmware, the C logic built for this machine and the Python mirror disagree on any call.
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

from examples.common import cached, device_dict, device_rows, quantize_model, run_device, write_calibration  # noqa: E402
from examples.safety_zones import evidence, firmware, scenarios, sensor, zones  # noqa: E402
from examples.safety_zones.data import FRAME_HZ, generate, to_input  # noqa: E402

DATA = HERE / "data"
SHIPPED = HERE / "model.onnx"
CALIBRATION_COUNT = 300
WORST_CPI = 6.0  # every fetch missing ST's ART accelerator at 5 flash wait states (RM0432): the cycle model's worst
# reading one 8x8 frame at 1 MHz I2C (9 bits a byte): distance, status, ambient (~520 B) and the ULD driver's
# signal_per_spad (64 x uint32 = 256 B), ~776 B
I2C_READ_US = 7000
OUTPUT_SOURCE = ("Pilz PNOZ s4.1 safety relay datasheet (Pilz GmbH & Co. KG, 2016-09, catalogue page 628), 'Times', "
                 "'Delay-on de-energisation, with E-STOP': typ. 10 ms, max. 20 ms (750124/750154/751124/751154); "
                 "the max.; the robot controller's safety input is not included")


def classifier(qdq: Path):
    """The int8 QDQ model under onnxruntime as the mirror's classifier: sequence -> [F, 2] (presence per mille,
    distance mm) via zone_float_milli."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(qdq), opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name

    def run(seq):
        out = []
        for f in seq["frames"]:
            x = to_input(zones.model_ranges(f["range_mm"], f["status"]).reshape(1, 8, 8))
            p, d = sess.run(None, {name: x})[0][0]
            out.append((zones.float_milli(p), zones.float_milli(d)))
        return np.array(out, np.int64)
    return run


def budget_rows(cfg, lim, fw_instr: int | None, target: str, z: dict) -> list[list[str]]:
    per_frame = (f"{fw_instr:,} instructions (zone firmware: quantize + model + logic, QEMU) x {WORST_CPI:g} "
                 f"cycles at 120 MHz + {I2C_READ_US / 1000:.1f} ms I2C frame read; estimate") if fw_instr else "-"
    return [
        ["robot stopping time", f"{cfg.robot_stop_us / 1000:.1f} ms",
         "the robot's worst-case stopping time (maker's data at max speed, payload, extension; --robot-stop-ms)"],
        ["sensor", f"{cfg.sensor_frames} x {cfg.frame_period_us / 1000:.3f} ms",
         "1 frame shows an intrusion (no debounce); +1 frame for the worst phase (intrusion just after integration"
         " began)"],
        ["polling", f"3 x {cfg.poll_us / 1000:.1f} ms", "frame read up to 1 poll late; watchdog trips up to 2 polls "
                                                          "later than a frame would"],
        [f"per-frame path on {target}", f"{cfg.inference_us / 1000:.3f} ms", per_frame],
        ["output", f"{cfg.output_us / 1000:.1f} ms", OUTPUT_SOURCE],
        ["system reaction", f"{lim.system_reaction_us / 1000:.3f} ms",
         f"estimate; budget {cfg.reaction_budget_us / 1000:.1f} ms: "
         f"{'OK' if lim.system_reaction_us <= cfg.reaction_budget_us else 'OVER'}"
         f" (margin {(cfg.reaction_budget_us - lim.system_reaction_us) / 1000:.3f} ms)"],
        ["T", f"{lim.total_us / 1000:.3f} ms", "robot stop + system reaction"],
        ["K", f"{zones.K_MM_PER_S} mm/s", "ISO 13855:2010 6.3 / ISO 13855:2024 clause 9, approach parallel to the "
                                          "detection zone (as gt-engineering.it quotes them; README)"],
        ["C", f"{cfg.intrusion_c_mm} mm", "ISO 13855:2010 6.3: C = 1200 - 0.4 H at detection height H = 0; "
                                          "ISO 13855:2024 clause 9: D_DS = 1200 mm, + Z (README)"],
        ["Z", f"{cfg.z_mm} mm", f"measured: one-sided {z['quantile']} % quantile of the range error, {z['returns']:,} "
                                "valid returns of dark targets at the field edge (evidence.measure_z)"],
        ["S = K T + C + Z", f"{lim.stop_mm} mm", "from the edge of the robot's restricted space"],
        ["restricted space edge", f"{cfg.restricted_mm} mm", "the arm swings 0.3-0.7 m in front of the sensor"],
        ["protective field edge", f"{lim.field_edge_mm} mm",
         f"forward from the sensor; the sensor model's rated dark (1.8 %) range is {cfg.detect_range_mm} mm"],
        ["warning edge", f"{lim.warning_mm} mm", f"field edge + {cfg.warning_margin_mm} mm"],
        ["watchdog", f"{lim.watchdog_us / 1000:.3f} ms", "a new frame (counter, not \"data not updated\") within"
                                                          " 1 frame period + 1 poll, else STOP"],
    ]


def main(argv=None, log=print) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", action="store_true", help="retrain the classifier first (needs torch)")
    ap.add_argument("--approaches", type=int, default=1000, help="approach sequences through the Python mirror")
    ap.add_argument("--firmware-approaches", type=int, default=8,
                    help="of them also replayed on the firmware under QEMU (with all the named scenarios)")
    ap.add_argument("--frames", type=int, default=75, help="frames per approach sequence (5 s at 15 Hz)")
    ap.add_argument("--session-frames", type=int, default=20, help="frames also run over the serial protocol")
    ap.add_argument("--observer", default="minmax")
    ap.add_argument("--target", default="cortex-m4")
    ap.add_argument("--robot-stop-ms", type=float, default=300.0, help="the robot's worst-case stopping time")
    ap.add_argument("--budget-ms", type=float, default=170.0, help="reaction-time budget for the system reaction")
    ap.add_argument("--field-robot-stop-ms", type=float, default=None,
                    help="the stopping time the protective field is sized for (default: --robot-stop-ms); less "
                         "than the robot's shows the evidence failing")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    failures = []

    log(f"safety zones: 8x8 ToF frames at {FRAME_HZ:g} Hz; protective field by geometry, classifier for warning only")
    z = evidence.measure_z()
    log(f"  Z             {z['z_mm']} mm: one-sided {z['quantile']} % range-error quantile over {z['returns']:,} "
        f"returns (median {z['p50_mm']:.0f} mm, p99 {z['p99_mm']:.0f} mm, max {z['max_mm']:.0f} mm)")
    calibration = write_calibration(DATA / "calibration", to_input(
        cached(DATA / "calibration.npz", lambda: {"frames": generate("val", CALIBRATION_COUNT)["frames"]},
               log)["frames"]))
    model = SHIPPED
    if args.train:
        from examples.safety_zones import train

        model = DATA / "model_trained.onnx"
        train.main(["--out", str(model), "--log", str(DATA / "train_log.txt")])
    start = time.monotonic()
    qdq = DATA / f"{model.stem}_int8_{args.observer}.onnx"
    quantize_model(model, calibration, qdq, observer=args.observer)
    log(f"  quantized     {model.name} -> {qdq.name} ({time.monotonic() - start:.1f} s)")

    fw_seqs = [sensor.approach([7000, k], args.frames) for k in range(args.firmware_approaches)]
    session_x = np.stack([zones.model_ranges(f["range_mm"], f["status"]).reshape(8, 8)
                          for s in fw_seqs[:1] for f in s["frames"]] or [np.zeros((8, 8), np.uint16)])

    def quantized(spec):  # the firmware's integer quantization of the ranges (zone_quantize_mm)
        mult, shift = zones.input_multiplier(spec.scale)
        return zones.quantize_mm(session_x[:args.session_frames], mult, shift, spec.zero_point)[..., None]

    device = run_device(qdq, args.target, quantized, DATA / "build", log)

    field_stop_ms = args.robot_stop_ms if args.field_robot_stop_ms is None else args.field_robot_stop_ms
    cfg = zones.Config(robot_stop_us=round(field_stop_ms * 1000), reaction_budget_us=round(args.budget_ms * 1000),
                       frame_period_us=sensor.PERIOD_US, z_mm=z["z_mm"])
    named = {name: make() for name, (make, _) in scenarios.SCENARIOS.items()}
    calls = [c for s in named.values() for c in s.calls] + [c for s in fw_seqs for c in firmware.sequence_calls(s)]
    out_dir = DATA / "build" / f"zone-{args.target}"

    # Pass 1: the firmware's whole per-frame path, measured, gives the per-frame estimate in T.
    # (with a configuration that passes every check: only the instructions are wanted here)
    probe_calls = [c for s in named.values() for c in s.calls]
    probe_cfg = zones.Config(**{**vars(cfg), "robot_stop_us": 0, "reaction_budget_us": 10_000_000})
    probe = firmware.build_and_run(device.lib_dir, probe_calls, probe_cfg, out_dir, args.target)
    if probe.status != 0:
        raise SystemExit(f"FAIL: the zone firmware exited with {probe.status}:\n{probe.text[-2000:]}")
    # the longest path seen on the scenarios, + 10 % for paths they did not take (checked on all calls below)
    probe_instr = math.ceil((max(probe.model_instructions) + max(probe.logic_instructions)) * 1.1)
    cfg.inference_us = math.ceil(probe_instr * WORST_CPI / 120.0) + I2C_READ_US
    status, lim = zones.limits(cfg)
    if lim is None:
        raise SystemExit(f"zone configuration rejected: {zones.STATUS_NAMES[status]}")
    from edgeai.table import format_table

    if status != zones.OK:
        fw = firmware.build_and_run(device.lib_dir, named["power-up in stop"].calls, cfg, out_dir, args.target)
        log("\n" + format_table(["term", "value", "source"], budget_rows(cfg, lim, probe_instr, args.target, z),
                                "lrl"))
        refused = fw.status == 3 and len(fw.calls) == 0
        msg = (f"CONFIGURATION CHECK FAILED: {zones.STATUS_NAMES[status]} (system reaction "
               f"{lim.system_reaction_us / 1000:.3f} ms against a budget of {cfg.reaction_budget_us / 1000:.1f} ms; "
               f"field edge {lim.field_edge_mm} mm against the rated {cfg.detect_range_mm} mm)")
        log(f"\nFAIL: {msg}")
        log(f"firmware on {args.target}: " + ("refused to run (exit 3), as it must" if refused else
                                              f"exit {fw.status} with {len(fw.calls)} calls decided: it must refuse"))
        return {"budget_status": zones.STATUS_NAMES[status], "limits": vars(lim), "config": vars(cfg),
                "firmware_refused": refused, "failures": [msg], "ok": False}

    # Pass 2: every named scenario and the firmware's share of the approaches, on the target.
    start = time.monotonic()
    fw = firmware.build_and_run(device.lib_dir, calls, cfg, out_dir, args.target)
    n_run = sum(c["op"] == "run" for c in calls)
    log(f"  firmware      classifier + zone logic on {args.target}: {len(fw.calls)} calls under QEMU "
        f"({time.monotonic() - start:.1f} s)")
    if fw.status != 0 or len(fw.calls) != n_run:
        raise SystemExit(f"FAIL: the zone firmware on {args.target} exited with {fw.status} after {len(fw.calls)} "
                         f"calls:\n{fw.text[-2000:]}")
    fw_instr = max(fw.model_instructions) + max(fw.logic_instructions)
    if fw_instr > probe_instr:
        failures.append(f"the per-frame path took {fw_instr:,} instructions, more than the {probe_instr:,} in T")
    mirror = firmware.replay(cfg, lim, calls, fw.calls[:, :3])
    fw_same = int(sum(tuple(m) == (int(a), int(b)) for m, (a, b) in zip(mirror, fw.calls[:, 3:5])))
    if fw_same != n_run:
        failures.append(f"firmware and Python mirror disagree: {fw_same}/{n_run} calls identical")

    # The named scenarios, as the firmware decided them.
    rows, k = [], 0
    for name, (_, check) in scenarios.SCENARIOS.items():
        s = named[name]
        n = len(s.run_calls())
        zs, st = [int(v) for v in fw.calls[k:k + n, 4]], [int(v) for v in fw.calls[k:k + n, 3]]
        k += n
        try:
            check(s, zs, st)
            verdict = "OK"
        except AssertionError:
            verdict = "FAIL"
            failures.append(f"scenario '{name}' on {args.target}: {''.join('.wS'[v] for v in zs)}")
        extra = f"; STOP {s.detect_us / 1000:.1f} ms after the last new frame" if hasattr(s, "detect_us") else ""
        rows.append([name, "".join(".wS"[v] for v in zs)[:40], verdict + extra])
    log("\nnamed scenarios on the firmware (. free, w warning, S stop; each starts with the power-up stop and a reset)")
    log(format_table(["scenario", "decisions", "check"], rows, "lll"))

    # The C logic built for this machine against the mirror, on the same calls.
    c_agree = None
    try:
        from examples.safety_zones import zones_c

        logic = zones_c.ZoneLogicC(zones_c.build(DATA / "host"))
        c_status, c_lim = logic.limits(cfg)
        c_out, k = [], 0
        for seq_calls in [s.calls for s in named.values()] + [firmware.sequence_calls(s) for s in fw_seqs]:
            teach = [c for c in seq_calls if c["op"] == "teach"]
            run_c = [c for c in seq_calls if c["op"] == "run"]
            bg = logic.teach(teach)[1]
            rows_c = fw.calls[k:k + len(run_c)]
            k += len(run_c)
            c_out += logic.run(cfg, c_lim, bg, [(c, c["now_us"], r[0], r[1], r[2], c["reset"])
                                                for c, r in zip(run_c, rows_c)])
        c_agree = int(sum(tuple(a) == tuple(b) for a, b in zip(c_out, mirror)))
        if c_status != status or c_lim != lim or c_agree != n_run:
            failures.append(f"C and Python zone logic disagree ({c_agree}/{n_run} calls)")
    except (OSError, FileNotFoundError) as e:
        log(f"  (C zone logic not checked here: {e})")

    # The evidence: approach sequences through the mirror.
    start = time.monotonic()
    # The truth comes from the robot's real stopping time, whatever the device was configured with.
    cell_lim = zones.limits(zones.Config(**{**vars(cfg), "robot_stop_us": round(args.robot_stop_ms * 1000)}))[1]
    need_edge = cell_lim.field_edge_mm - cfg.z_mm
    sc, seqs, dec = evidence.run(cfg, lim, args.approaches, frames=args.frames, classifier=classifier(qdq),
                                 need_edge=need_edge)
    log(f"  evidence      {sc.sequences} approach sequences, {sc.frames:,} frames through the mirror "
        f"({time.monotonic() - start:.1f} s)")
    if sc.missed_stop_frames:
        failures.append(f"MISSED STOP: {sc.missed_stop_frames} frames in {len(sc.missed_sequences)} sequences "
                        f"(first: {sc.missed_sequences[:5]}); an object moved {sc.late_stop_mm:.0f} mm further in "
                        "before its stop")
    not_needed = sc.frames - sc.required_stop_frames
    by_posture = {}
    for p in sensor.POSTURES:
        idx = [i for i, s in enumerate(seqs) if s["posture"] == p]
        by_posture[p] = len(idx)
    rated = sum(s["ambient"] * 1.2 <= cfg.max_ambient for s in seqs)

    log("\n" + format_table(["term", "value", "source"], budget_rows(cfg, lim, probe_instr, args.target, z), "lrl"))
    log("\nprotective-field evidence (Python mirror, sensor.approach seeds [7000, k])")
    log(format_table(["measure", "value"], [
        ["approach sequences", f"{sc.sequences:,} ({', '.join(f'{v} {k}' for k, v in by_posture.items())}); "
                               f"speed 0.3-2.0 m/s, angle +-40 deg, reflectance 1.8-90 %, ambient 2-533"],
        ["frames", f"{sc.frames:,}"],
        ["frames that needed a STOP", f"{sc.required_stop_frames:,} (object within {need_edge} mm: restricted + "
                                      "K T + C, T with the robot's stopping time)"],
        ["missed stop frames", f"{sc.missed_stop_frames}"],
        ["stop later than needed", f"{sc.late_stop_mm:.0f} mm"],
        ["too strict (STOP not needed)", f"{sc.too_strict_frames:,} of {not_needed:,} frames "
                                         f"({sc.too_strict_frames / max(not_needed, 1) * 100:.1f} %; "
                                         f"{sc.too_strict_power_up:,} of them the power-up stop before the first "
                                         "reset)"],
        ["frames with a fault", f"{sc.fault_frames:,} (sequences within the rated ambient: {rated})"],
    ], "ll"))
    log("(too strict: the power-up stop until the first reset, stops held until the operator's next reset once a "
        "second, faults, sunlight over the rated level; the cell's availability, not its safety)")
    log("\n" + format_table(["measure", "value", "how"], device_rows(device) + [
        ["instructions / frame, zone firmware", f"{max(fw.model_instructions):,} + "
                                                f"{min(fw.logic_instructions):,}..{max(fw.logic_instructions):,}",
         "quantize 64 ranges + model, + zone logic; exact, QEMU plugin"],
        ["zone logic flash", f"{fw.logic_flash_bytes} B", "zone_logic.c object for the target"]], "lrl"))
    log(f"firmware vs Python mirror: {fw_same}/{n_run} calls identical; C (gcc, this machine) vs mirror: "
        f"{c_agree}/{n_run}")
    for f in failures:
        log(f"\nFAIL: {f}")
    results = {"z": z, "limits": vars(lim), "config": vars(cfg), "budget_status": zones.STATUS_NAMES[status],
               "evidence": sc.as_dict(), "scenarios": {r[0]: r[2] for r in rows},
               "firmware": {"calls": n_run, "identical": fw_same, "model_instructions": max(fw.model_instructions),
                            "logic_instructions_max": max(fw.logic_instructions),
                            "logic_flash_bytes": fw.logic_flash_bytes},
               "c_python_agreement": c_agree, "device": device_dict(device), "failures": failures,
               "ok": not failures}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float) + "\n")
    return results


if __name__ == "__main__":
    sys.exit(0 if main()["ok"] else 1)
