"""Runs inside the arm64 guest Python (edgeai.bench.peer_setup) under qemu-aarch64 with the icount plugin: each
peer runtime on each input, the one call that infers bracketed by the launcher's markers.

    python peer_guest.py JOB.json

JOB: {"calibrate": N, "runs": [{"peer", "model", "inputs": [[.npy per tensor] per sample], "out": folder}]}.
Writes out/<peer>-<sample>-<output>.npy and, last, JOB's "result" file: the label of every counted region in the
order the plugin numbers them. Standalone on purpose: the guest has numpy and the runtimes, not edgeai.
"""

import ctypes
import json
import sys
from pathlib import Path

import numpy as np

_marks = ctypes.CDLL(None)  # the launcher exports them
begin, end = _marks.edgeai_mark_begin, _marks.edgeai_mark_end
begin.restype = end.restype = None
begin.argtypes = end.argtypes = []


def calibrate(count, regions):
    """Empty regions, counted the same way: what the marker calls themselves cost, to subtract."""
    for i in range(count):
        begin()
        end()
        regions.append({"peer": "empty", "sample": i})


def litert(run, regions, kernels):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = {"litert-xnnpack": OpResolverType.AUTO,
                "litert-builtin": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}[kernels]
    it = Interpreter(model_path=run["model"], experimental_op_resolver_type=resolver, num_threads=1)
    it.allocate_tensors()
    ins, outs = it.get_input_details(), it.get_output_details()
    samples = [[np.load(f) for f in files] for files in run["inputs"]]

    def feed(arrays):
        for d, a in zip(ins, arrays):
            it.set_tensor(d["index"], a)

    feed(samples[0])
    it.invoke()  # warm-up: first-call work (XNNPACK packs weights) is not the inference's
    for k, arrays in enumerate(samples):
        feed(arrays)
        begin()
        it.invoke()
        end()
        regions.append({"peer": kernels, "sample": k})
        for j, d in enumerate(outs):
            np.save(Path(run["out"]) / f"{kernels}-{k}-{j}.npy", it.get_tensor(d["index"]))


def onnxruntime(run, regions):
    import onnxruntime as ort

    # Its Linux build sends telemetry (1DS) from threads of its own, on timers: events logged from the inference
    # call made its count vary run to run.
    ort.disable_telemetry_events()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(run["model"], opts, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    samples = [{n: np.load(f) for n, f in zip(names, files)} for files in run["inputs"]]
    sess.run(None, samples[0])  # warm-up
    for k, feed in enumerate(samples):
        begin()
        outputs = sess.run(None, feed)
        end()
        regions.append({"peer": "onnxruntime", "sample": k})
        for j, o in enumerate(outputs):
            np.save(Path(run["out"]) / f"onnxruntime-{k}-{j}.npy", np.asarray(o))


def main(job_path):
    job = json.loads(Path(job_path).read_text())
    regions = []
    calibrate(job["calibrate"], regions)
    for run in job["runs"]:
        if run["peer"] == "onnxruntime":
            onnxruntime(run, regions)
        else:
            litert(run, regions, run["peer"])
    Path(job["result"]).write_text(json.dumps({"regions": regions}))


if __name__ == "__main__":
    main(sys.argv[1])
