"""Serial-link throughput: how fast the host uploads a model input to the benchmark firmware and reads its output
back, over the links a lab and CI use.

    python benchmarks/serial_link/run.py [--model vww_96_float] [--target cortex-m4] [--seconds 5]
                                         [--out benchmarks/serial_link/results.json]

Links measured: QemuSession's default (the firmware built with the semihosting link: its bytes on QEMU's
stdin/stdout in blocks), the board firmware's UART0 on a TCP socket (QemuSession with the `compile --build` ELF),
and a board on a device node (that same firmware in QEMU with `-serial pty`, opened by pyserial). Each
figure is bytes of the input blob over the wall time of complete WRITE_INPUT uploads (every chunk acknowledged),
and the time of one whole inference (upload, RUN, READ_OUTPUT) next to the RUN alone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from edgeai import models_root  # noqa: E402  (after the path set-up above)

MODELS = models_root() / "mlperf_tiny"


def measure(session, seconds: float) -> dict:
    import numpy as np

    client = session.client
    blob = bytes(np.random.default_rng(0).integers(0, 256, session.desc["input_size"], dtype=np.uint8))
    client.write_input(blob)  # warm-up
    uploads, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or uploads < 2:
        client.write_input(blob)
        uploads += 1
    upload_s = (time.perf_counter() - start) / uploads
    x = [np.frombuffer(blob[t["offset"]: t["offset"] + t["nbytes"]], t["dtype"]).reshape(t["shape"])
         for t in session.desc["inputs"]]
    x = [np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0) if a.dtype.kind == "f" else a for a in x]
    start = time.perf_counter()
    session.run(x)
    whole = time.perf_counter() - start
    return {"input_bytes": len(blob), "max_payload": client.info.max_payload,
            "upload_seconds": upload_s, "upload_kib_per_s": len(blob) / upload_s / 1024,
            "inference_seconds": whole, "run_seconds": session.stats.wall_seconds}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="vww_96_float")
    ap.add_argument("--target", default="cortex-m4")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--out", default=str(HERE / "results.json"))
    args = ap.parse_args()

    from edgeai.compile import compile_model
    from edgeai.runtime.device import QemuSession, SerialSession, build_firmware
    from qemu_board import QemuBoard

    lib = compile_model(MODELS / f"{args.model}.tflite", args.target).path
    elf = build_firmware(lib, args.target)  # the UART firmware a board runs
    results = {"model": args.model, "target": args.target, "machine": platform.machine(),
               "cpus": os.cpu_count(), "load_average_1min": os.getloadavg()[0], "links": {}}
    with QemuSession(lib, args.target) as session:
        results["links"]["qemu semihosting console (QemuSession default)"] = measure(session, args.seconds)
    with QemuSession(lib, args.target, elf=elf) as session:
        results["links"]["qemu UART0 on a tcp socket (board firmware)"] = measure(session, args.seconds)
    with tempfile.TemporaryDirectory() as tmp:
        board = QemuBoard(elf, args.target, Path(tmp))
        try:
            with SerialSession(lib, board.pty, 115200) as session:
                results["links"][f"qemu -serial pty ({board.pty}, pyserial)"] = measure(session, args.seconds)
        finally:
            board.stop()
    for name, r in results["links"].items():
        print(f"{name:48} upload {r['input_bytes']:,} B in {r['upload_seconds'] * 1e3:.1f} ms = "
              f"{r['upload_kib_per_s']:.1f} KiB/s; whole inference {r['inference_seconds']:.2f} s "
              f"(RUN {r['run_seconds']:.2f} s)")
    results["load_average_1min_after"] = os.getloadavg()[0]  # the link's speed depends on the host's load
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
