"""Host wall time per inference, single thread, of the MLPerf Tiny int8 and float32 models: edgeai's host library
next to LiteRT with XNNPACK and onnxruntime, interleaved (each round runs every backend once on the same input, in
an order that turns each round, so a machine's load changes and the first run's cold caches hit all three alike),
with the spread (quartiles) of each.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/x86/host_wall.py [--rounds 300] [--extra-flag -DEDGEAI_X86_NO_VNNI]

Prints a Markdown table (median and quartiles in microseconds, edgeai / XNNPACK and edgeai / onnxruntime ratios of
the medians) and checks edgeai on the inputs it times: an int8 model bit-exact with LiteRT's reference kernels, a
float32 one within the float tests' tolerance (rtol 1e-5, atol 1e-5 of the largest output) of LiteRT and of
onnxruntime (summation order differs); kws_ref_model_float32 is a hybrid model (LiteRT quantizes its activations
at run time), so it is checked against onnxruntime alone."""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from edgeai import models_root
from edgeai.compile import compile_model
from edgeai.runtime.host import HostSession
from edgeai.runtime.reference import LiteRTSession, OnnxRuntimeSession
from edgeai.validate import random_inputs

MODELS = {"kws": "kws_ref_model", "vww": "vww_96_int8", "ic": "pretrainedResnet_quant", "ad": "ad01_int8",
          "vww_f32": "vww_96_float", "ic_f32": "pretrainedResnet", "ad_f32": "ad01_fp32",
          "kws_f32": "kws_ref_model_float32"}
HYBRID = {"kws_f32"}  # LiteRT's results are not float32 ones


def _check(short: str, float_model: bool, got, references) -> None:
    for want_all in references:
        for a, b in zip(got, want_all):
            if float_model:
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * float(np.abs(b).max()), err_msg=short)
            else:
                assert np.array_equal(a, b), f"{short}: not bit-exact"


def _quartiles(times: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(times, n=4)
    return q[0] * 1e6, statistics.median(times) * 1e6, q[2] * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--extra-flag", action="append", default=[], help="a compile flag of the host library")
    args = parser.parse_args()
    root = models_root()
    print("| model | edgeai µs (q1–q3) | XNNPACK µs (q1–q3) | onnxruntime µs (q1–q3) | edgeai/XNNPACK | edgeai/ORT |")
    print("|---|---|---|---|---|---|")
    for short in args.models:
        name = MODELS[short]
        tfl, onnx = root / "mlperf_tiny" / f"{name}.tflite", root / "mlperf_tiny_onnx" / f"{name}.onnx"
        edge = HostSession(compile_model(tfl, "host").path, extra_flags=tuple(args.extra_flag))
        reference = LiteRTSession(tfl)
        inputs = random_inputs(reference.inputs, 5, seed=7)
        ort = OnnxRuntimeSession(onnx)
        float_model = short.endswith("_f32")
        for x in inputs:
            want = ([] if short in HYBRID else [reference.run(x)]) + ([ort.run(x)] if float_model else [])
            _check(short, float_model, edge.run(x), want)
        backends = {"edgeai": edge.run, "xnnpack": LiteRTSession(tfl, kernels="xnnpack").run, "onnxruntime": ort.run}
        times: dict[str, list[float]] = {b: [] for b in backends}
        for run in backends.values():
            run(inputs[0])  # warm-up
        order = list(backends)
        for r in range(args.rounds):
            x = inputs[r % len(inputs)]
            # the order turns each round: the backend run first meets caches the others' last run left cold (a
            # fixed order cost edgeai, always first, up to 1.3x on ad01)
            for b in order[r % len(order):] + order[:r % len(order)]:
                start = time.perf_counter()
                backends[b](x)
                times[b].append(time.perf_counter() - start)
        q = {b: _quartiles(t) for b, t in times.items()}
        cells = [f"{m:.1f} ({lo:.1f}–{hi:.1f})" for lo, m, hi in q.values()]
        print(f"| {short} | {' | '.join(cells)} | {q['edgeai'][1] / q['xnnpack'][1]:.2f} | "
              f"{q['edgeai'][1] / q['onnxruntime'][1]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
