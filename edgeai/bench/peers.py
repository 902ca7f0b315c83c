"""The peer metric: instructions per inference of LiteRT (XNNPACK, and its builtin kernels) and onnxruntime, built
for aarch64, counted the way edgeai's are: qemu-aarch64 on the target's CPU with the icount plugin.

One guest process per model and target runs the three peers on the bench's inputs (edgeai.bench.peer_guest),
each inference bracketed by marker calls from Python. The regions it counts first are empty ones (the markers
alone: the ctypes calls and the Python between them); their count, measured in the same run, is subtracted from
every peer's. Each peer's outputs are checked against the same runtime and kernels on this desktop (same release,
same inputs) and against the reference kernels edgeai is held to.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from edgeai.errors import RuntimeFailure, ToolchainError

PEERS = ("litert-xnnpack", "litert-builtin", "onnxruntime")
CALIBRATION_REGIONS = 5  # empty regions counted before the peers; the cheapest is the markers' cost
GUEST = Path(__file__).with_name("peer_guest.py")


class PeersUnavailable(ToolchainError):
    """No peer set-up (or emulator) here: bench skips the peers and says how to create it."""


def _job(model, inputs, work: Path) -> dict:
    files = []
    for k, sample in enumerate(inputs):
        names = []
        for j, array in enumerate(sample):
            path = work / f"input-{k}-{j}.npy"
            np.save(path, np.ascontiguousarray(array))
            names.append(str(path))
        files.append(names)
    runs = []
    for peer in PEERS:
        source = model.onnx if peer == "onnxruntime" else model.tflite
        if source is not None:
            runs.append({"peer": peer, "model": str(Path(source).resolve()), "inputs": files, "out": str(work)})
    return {"calibrate": CALIBRATION_REGIONS, "runs": runs, "result": str(work / "regions.json")}


def count_peers(model, target, inputs, timeout: float = 900.0) -> dict:
    """Per peer: its per-input instruction counts (markers' cost subtracted) and outputs, from one guest run.
    Returns {"marker_instructions", "command", "peers": {peer: {"counts": [...], "outputs": [[array]...]}}}."""
    from edgeai.bench.peer_setup import guest_environment, launcher, prefix, setup_problem
    from edgeai.emulator import read_counts, user_mode_command
    from edgeai.targets import load_target

    tgt = load_target(target)
    problem = setup_problem()
    if problem is not None:
        raise PeersUnavailable(problem)
    with tempfile.TemporaryDirectory(prefix="edgeai-peers-") as tmp:
        work = Path(tmp)
        job = _job(model, inputs, work)
        (work / "job.json").write_text(json.dumps(job))
        count_file = work / "counts.txt"
        cpu = tgt.qemu.get("cpu", tgt.cpu)
        cmd = user_mode_command(tgt, launcher(), count_file, prefix=prefix(cpu),
                                require_count=True, program_args=[str(GUEST), str(work / "job.json")],
                                marked_thread_only=True)
        cmd = _without_aslr(cmd)
        try:
            proc = subprocess.run(cmd, env=guest_environment(), capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeFailure(f"the peers of {model.name} on {tgt.name} did not finish within {timeout:g} s "
                                 f"(killed)") from None
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).decode(errors="replace").strip().splitlines()[-12:])
            raise RuntimeFailure(f"the peers of {model.name} on {tgt.name} failed (exit {proc.returncode}):\n{tail}")
        regions = json.loads((work / "regions.json").read_text())["regions"]
        counts = read_counts(count_file)
        if len(counts) != len(regions):
            raise RuntimeFailure(f"the plugin counted {len(counts)} regions, the guest marked {len(regions)}")
        marker = min(c for c, r in zip(counts, regions) if r["peer"] == "empty")
        peers: dict[str, dict] = {}
        for c, r in zip(counts, regions):
            if r["peer"] == "empty":
                continue
            entry = peers.setdefault(r["peer"], {"counts": [], "outputs": []})
            entry["counts"].append(c - marker)
            k = r["sample"]
            entry["outputs"].append([np.load(p) for p in sorted(work.glob(f"{r['peer']}-{k}-*.npy"),
                                                                key=lambda p: int(p.stem.rsplit("-", 1)[1]))])
    return {"marker_instructions": marker, "command": f"qemu-aarch64 -cpu {cpu}", "peers": peers}


def _without_aslr(cmd: list[str]) -> list[str]:
    """Address-space randomisation off (setarch -R): the guest's mmap addresses come from the host's, and
    onnxruntime's work depends on where its allocations land (counts varied by ~0.4% run to run without)."""
    setarch = shutil.which("setarch")
    if setarch is None:
        raise PeersUnavailable("setarch (util-linux) not found: it turns address randomisation off for the count")
    return [setarch, "-R", *cmd]


def desktop_outputs(model, peer: str, inputs) -> list[list[np.ndarray]]:
    """The same peer and kernels on this machine, on the same inputs: what the aarch64 build should reproduce."""
    from edgeai.runtime.reference import LiteRTSession, OnnxRuntimeSession

    if peer == "onnxruntime":
        session = OnnxRuntimeSession(model.onnx)
    else:
        session = LiteRTSession(model.tflite, kernels=peer.split("-", 1)[1])
    return [session.run(x) for x in inputs]


def peer_results(model, target, inputs, want, output_specs, base: dict, edgeai_instructions: int | None) -> list[dict]:
    """One bench result per peer, side by side with edgeai's (`edgeai_ratio`: edgeai ÷ peer instructions)."""
    from edgeai.bench.jobs import _accuracy
    from edgeai.validate import compare

    counted = count_peers(model, target, inputs)
    results = []
    for peer, got in counted["peers"].items():
        desktop = desktop_outputs(model, peer, inputs)
        same = sum(all(np.array_equal(g, d) for g, d in zip(gs, ds)) for gs, ds in zip(got["outputs"], desktop))
        apart = max(float(np.max(np.abs(g.astype(np.float64) - d.astype(np.float64)), initial=0.0))
                    for gs, ds in zip(got["outputs"], desktop) for g, d in zip(gs, ds))
        worst = max(got["counts"])
        results.append({**base, "backend": peer, "status": "ok", "instructions": worst,
                        "instructions_min": min(got["counts"]), "instructions_per_sample": got["counts"],
                        "marker_instructions": counted["marker_instructions"],
                        "edgeai_ratio": edgeai_instructions / worst if edgeai_instructions and worst else None,
                        "desktop_identical": same, "desktop_max_abs_diff": apart,
                        **_accuracy(compare(output_specs, got["outputs"], want)[0]),
                        "runs_on": counted["command"]})
    return results
