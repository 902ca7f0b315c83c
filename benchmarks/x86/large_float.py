"""Host wall time per inference, single thread, of larger float ONNX models (the onnx wheel's light_* files with
random weights, tests/field_models/light_weights.py): edgeai's host library next to onnxruntime, interleaved in a
turning order each round, with quartiles; every output checked against onnxruntime first.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/x86/large_float.py [--rounds 30] [--models light_squeezenet ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime

from edgeai import REPO_ROOT
from edgeai.compile import compile_model
from edgeai.runtime.host import HostSession
from edgeai.runtime.reference import OnnxRuntimeSession
from edgeai.validate import random_inputs

sys.path.insert(0, str(REPO_ROOT / "tests"))  # the random-weight builder the tests use
from field_models.light_weights import light_with_random_weights  # noqa: E402

MODELS = ("light_squeezenet", "light_shufflenet", "light_inception_v1", "light_densenet121", "light_inception_v2",
          "light_resnet50")


def _quartiles(times: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(times, n=4)
    return q[0] * 1e3, statistics.median(times) * 1e3, q[2] * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--models", nargs="*", choices=MODELS,
                        default=["light_squeezenet", "light_shufflenet", "light_inception_v1", "light_resnet50"])
    args = parser.parse_args()
    onnxruntime.set_default_logger_severity(3)  # the light files' unused shape initializers: one warning each
    print("| model | MACs | edgeai ms | onnxruntime ms | edgeai / onnxruntime | max abs error / max abs output |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            path = Path(tmp) / f"{name}.onnx"
            onnx.save(light_with_random_weights(name), str(path))
            reference = OnnxRuntimeSession(path)  # one thread, as the session is made
            compiled = compile_model(path, "host", Path(tmp) / f"{name}-lib")
            edgeai = HostSession(compiled.path)
            inputs = random_inputs(reference.inputs, 3, seed=7)
            worst = 0.0
            for x in inputs:
                for a, b in zip(edgeai.run(x), reference.run(x)):
                    worst = max(worst, float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)))
            timed = {"edgeai": edgeai.run, "onnxruntime": reference.run}
            names = list(timed)
            for run in timed.values():
                run(inputs[0])
            times = {n: [] for n in names}
            for i in range(args.rounds):
                for n in names[i % 2:] + names[:i % 2]:
                    start = time.perf_counter()
                    timed[n](inputs[i % len(inputs)])
                    times[n].append(time.perf_counter() - start)
            (e1, em, e3), (o1, om, o3) = _quartiles(times["edgeai"]), _quartiles(times["onnxruntime"])
            macs = compiled.desc.get("macs")
            print(f"| {name} | {macs:,} | {em:.2f} ({e1:.2f}-{e3:.2f}) | {om:.2f} ({o1:.2f}-{o3:.2f}) | "
                  f"{em / om:.2f} | {worst:.1e} |" if macs else
                  f"| {name} | – | {em:.2f} ({e1:.2f}-{e3:.2f}) | {om:.2f} ({o1:.2f}-{o3:.2f}) | {em / om:.2f} | "
                  f"{worst:.1e} |", flush=True)


if __name__ == "__main__":
    main()
