"""Runs a suite's jobs: QEMU jobs in parallel (processes here, or tasks on a Ray cluster when an address is
given), host jobs one at a time afterwards so their wall times are not disturbed by the others."""

from __future__ import annotations

import datetime
import platform
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed

from edgeai.bench.jobs import measure, measure_board
from edgeai.bench.suite import Suite
from edgeai.errors import EdgeAIError


def _progress(total: int, enabled: bool, desc: str):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="job", file=sys.stderr)


def run_suite(suite: Suite, jobs: int = 2, ray_address: str | None = None, progress: bool = True,
              ray_retries: int = 2) -> dict:
    pairs = [(m, t) for m in suite.models for t in suite.targets]
    emulated = [(m, t) for m, t in pairs if t != "host"]
    hosted = [(m, t) for m, t in pairs if t == "host"]
    bar = _progress(len(pairs) + len(suite.models) * len(suite.boards), progress, suite.name)
    results: list[dict] = []

    def done(batch):
        results.extend(batch)
        if bar:
            bar.update(1)

    notes = []
    peers = suite.peers and any(_is_linux_device(t) for t in suite.targets)
    if peers:
        from edgeai.bench.peer_setup import setup_problem

        problem = setup_problem()
        if problem is not None:
            peers = False
            notes.append(f"peers (LiteRT, onnxruntime on aarch64) skipped: {problem}")
            print(f"edgeai bench: {notes[-1]}", file=sys.stderr)
    args = (suite.samples, suite.repeats, suite.host_backends, peers)
    if ray_address:
        for batch in _run_on_ray(ray_address, emulated, args, ray_retries):
            done(batch)
    elif jobs > 1 and len(emulated) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(measure, m, t, *args) for m, t in emulated]
            for future in as_completed(futures):
                done(future.result())
    else:
        for m, t in emulated:
            done(measure(m, t, *args))
    for m, t in hosted:
        done(measure(m, t, *args))
    for board in suite.boards:  # one board, one link: its jobs run one after the other
        for m in suite.models:
            done(measure_board(m, board, suite.samples))
    if bar:
        bar.close()
    order = {(m.name, t): i for i, (m, t) in enumerate(pairs)}
    results.sort(key=lambda r: (order.get((r["model"], r["target"]), len(pairs)), r["backend"]))
    return {
        "format": "edgeai-bench/1",
        "suite": suite.name,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "processor": platform.machine()},
        "results": results,
        **({"notes": notes} if notes else {}),
    }


def _is_linux_device(target: str) -> bool:
    from edgeai.targets import load_target

    try:
        tgt = load_target(target)
    except EdgeAIError:
        return False  # the job reports the unknown target
    return not tgt.is_host and not tgt.is_cortex_m


def _run_on_ray(address: str, pairs, args, retries: int):
    """One Ray task per job. A worker that dies mid-job (killed, out of memory, its node lost) is retried by Ray up
    to `retries` times; past that the job becomes an error result naming it, and the sweep goes on."""
    try:
        import ray
        from ray.exceptions import RayError
    except ImportError:
        raise EdgeAIError("--ray needs the ray package (pip install ray) on this machine and the cluster") from None
    owned = not ray.is_initialized()  # a caller's own connection is left as it was
    if owned:
        try:
            ray.init(address=address, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise EdgeAIError(f"cannot join the Ray cluster at {address}: {e}") from None
    try:
        # retry_exceptions stays off: measure() turns a job's own errors into results, so only a dead worker retries.
        remote = ray.remote(max_retries=retries, retry_exceptions=False)(measure)
        jobs = {remote.remote(m, t, *args): (m, t) for m, t in pairs}
        pending = list(jobs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                try:
                    yield ray.get(ref)
                except RayError as e:
                    model, target = jobs[ref]
                    cause = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                    yield [{"model": model.name, "target": target, "backend": "edgeai", "status": "error",
                            "error": f"job {model.name} on {target} failed on the Ray cluster at {address} after "
                                     f"{retries} retries: {type(e).__name__}: {cause}"}]
    finally:
        if owned:
            ray.shutdown()
