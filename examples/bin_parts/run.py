"""Bin parts, end to end. Two variants:

- tiny (the default): one part per 32 x 32 image, classified. Synthetic held-out images -> float ONNX ->
  edgeai.quantize (int8 QDQ) -> edgeai compile for cortex-m4 (and rpi4) -> the firmware under QEMU over the
  serial protocol -> accuracy float vs int8, instructions, flash, RAM, estimated latency and energy.
- fomo: several parts per 96 x 96 bin, located by a MobileNetV2 + FOMO detector (run_fomo.py).

    python examples/bin_parts/run.py [--train] [--samples 600] [--observer minmax] [--json results.json]
    python examples/bin_parts/run.py --variant fomo [--samples 300] [--targets ...] [--json results_fomo.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from examples.bin_parts.data import CLASSES, generate  # noqa: E402
from examples.common import (cached, device_dict, device_rows, onnx_outputs, quantize_model,  # noqa: E402
                             run_device, write_calibration)

DATA = HERE / "data"
SHIPPED = HERE / "model.onnx"
TEST_COUNT, CALIBRATION_COUNT = 600, 200
MAX_DROP_PP = 1.0  # int8 on the device may lose at most this many percentage points against float


def main(argv=None, log=print) -> dict:
    pick = argparse.ArgumentParser(add_help=False)
    pick.add_argument("--variant", choices=("tiny", "fomo"), default="tiny")
    variant, argv = pick.parse_known_args(argv)
    if variant.variant == "fomo":
        from examples.bin_parts import run_fomo

        return run_fomo.main(argv, log)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variant", choices=("tiny", "fomo"), default="tiny",
                    help="tiny: the 32x32 classifier (these options); fomo: the 96x96 detector (--variant fomo --help)")
    ap.add_argument("--train", action="store_true", help="train the CNN first (needs torch) instead of the shipped ONNX")
    ap.add_argument("--samples", type=int, default=300,
                    help=f"held-out images to run on the device (onnxruntime runs all {TEST_COUNT})")
    ap.add_argument("--observer", default="percentile",
                    help="edgeai.quantize observer: minmax, percentile (default: the best here), entropy")
    ap.add_argument("--target", default="cortex-m4")
    ap.add_argument("--also", default="rpi4", help="second target to check bit-exactness on ('' to skip)")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    n = min(args.samples, TEST_COUNT)

    log(f"bin parts: {len(CLASSES)} classes ({', '.join(CLASSES)}), 32x32 grayscale, NHWC")
    test = cached(DATA / "test.npz", lambda: dict(zip(("x", "y"), generate("test", TEST_COUNT))), log)
    x_all, y_all = test["x"], test["y"]
    x, y = x_all[:n], y_all[:n]
    calibration = write_calibration(DATA / "calibration",
                                    cached(DATA / "calibration.npz",
                                           lambda: {"x": generate("val", CALIBRATION_COUNT)[0]}, log)["x"])

    model = SHIPPED
    if args.train:
        from examples.bin_parts import train

        model = DATA / "model_trained.onnx"
        train.main(["--out", str(model), "--log", str(DATA / "train_log.txt")])

    start = time.monotonic()
    float_all = onnx_outputs(model, x_all).argmax(1)
    float_pred = float_all[:n]
    qdq = DATA / f"{model.stem}_int8_{args.observer}.onnx"
    result = quantize_model(model, calibration, qdq, observer=args.observer)
    sim_all = onnx_outputs(qdq, x_all).argmax(1)
    sim_pred = sim_all[:n]
    log(f"  quantized     {model.name} -> {qdq.name} ({args.observer} observer, {CALIBRATION_COUNT} calibration "
        f"images; {time.monotonic() - start:.1f} s)")
    log("  " + next((line for line in result.report.to_text().splitlines() if line.startswith("output")), "").strip())

    device = run_device(qdq, args.target, x, DATA / "build", log)
    dev_pred = device.outputs.argmax(1)
    acc_all = {"float (onnxruntime)": float((float_all == y_all).mean()),
               "int8 QDQ (onnxruntime)": float((sim_all == y_all).mean())}
    acc = {"float (onnxruntime)": float((float_pred == y).mean()),
           f"int8 on {args.target} (QEMU)": float((dev_pred == y).mean())}
    drop_pp = (acc["float (onnxruntime)"] - acc[f"int8 on {args.target} (QEMU)"]) * 100
    drop_all_pp = (acc_all["float (onnxruntime)"] - acc_all["int8 QDQ (onnxruntime)"]) * 100

    also = None
    if args.also:
        k = min(n, 20)
        other = run_device(qdq, args.also, x[:k], DATA / "build", log)
        same = int(sum(np.array_equal(a, b) for a, b in zip(other.raw, device.raw[:k])))
        also = {"target": args.also, "samples": k, "bit_exact_vs_" + args.target: same}

    from edgeai.table import format_table

    rows = [[f"accuracy, {k}", f"{v * 100:.2f} %", f"all {TEST_COUNT} held-out images"] for k, v in acc_all.items()]
    rows.append(["int8 QDQ - float", f"{0.0 - drop_all_pp + 0.0:+.2f} pp", f"limit -{MAX_DROP_PP:g} pp"])
    rows += [[f"accuracy, {k}", f"{v * 100:.2f} %", f"first {n} held-out images"] for k, v in acc.items()]
    rows.append([f"int8 on {args.target} - float", f"{0.0 - drop_pp + 0.0:+.2f} pp", f"limit -{MAX_DROP_PP:g} pp"])
    rows.append(["top-1 agreement device vs QDQ", f"{int((dev_pred == sim_pred).sum())}/{n}", "onnxruntime QDQ model"])
    rows += device_rows(device)
    if also:
        rows.append([f"{args.also} (qemu-aarch64)", f"{also['bit_exact_vs_' + args.target]}/{also['samples']}",
                     f"outputs bit-exact with {args.target}"])
    log("")
    log(format_table(["measure", "value", "how"], rows, "lrl"))
    confusion = np.zeros((len(CLASSES), len(CLASSES)), int)
    for t, p in zip(y, dev_pred):
        confusion[t, p] += 1
    log("\nconfusion on the device (rows: truth, columns: predicted)")
    log(format_table(["", *CLASSES], [[c, *confusion[i].tolist()] for i, c in enumerate(CLASSES)], "l" + "r" * 6))

    results = {"model": str(model.relative_to(HERE.parents[1]) if model.is_relative_to(HERE.parents[1]) else model),
               "samples": n, "accuracy": acc, "int8_minus_float_pp": -drop_pp, "accuracy_all": acc_all,
               "int8_qdq_minus_float_pp_all": -drop_all_pp, "device": device_dict(device),
               "also": also, "confusion": confusion.tolist(), "quantization": result.report.to_dict(),
               "ok": drop_pp <= MAX_DROP_PP and drop_all_pp <= MAX_DROP_PP}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float) + "\n")
    if drop_pp > MAX_DROP_PP:
        log(f"\nFAIL: int8 on {args.target} loses {drop_pp:.2f} pp of accuracy against float (limit {MAX_DROP_PP:g} pp)")
    if drop_all_pp > MAX_DROP_PP:
        log(f"\nFAIL: the int8 QDQ model loses {drop_all_pp:.2f} pp against float on {TEST_COUNT} images")
    return results


if __name__ == "__main__":
    sys.exit(0 if main()["ok"] else 1)
