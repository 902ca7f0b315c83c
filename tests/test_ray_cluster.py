"""Sweeps on a real Ray cluster: a head node with 2 CPUs started on 127.0.0.1 for this module and stopped after it.

The sweep's results must equal the local process pool's to the instruction, and a job whose worker is killed
mid-run must come back, either retried by Ray to the same result or as an error naming the job."""

import json
import os
import signal
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from edgeai.bench import load_suite, run_suite
from edgeai.emulator import free_port

pytestmark = [pytest.mark.slow, pytest.mark.toolchain, pytest.mark.qemu]

# Fields a job measures deterministically; wall times, compile times and the worker's pid are not among them.
MEASURED = ("status", "instructions", "instructions_min", "bit_exact", "samples", "max_abs_error", "top1_agreement",
            "min_cosine", "arena_bytes", "io_bytes", "flash_bytes", "ram_bytes", "model_weight_bytes",
            "model_code_bytes", "macs", "estimate")


@pytest.fixture(scope="module")
def ray_head(tmp_cache):
    """`ray start --head --block` as a child process group; the address of its GCS. Stopped even on failure."""
    # Ray replaces a loopback node address by the machine's network address unless told it is a one-machine
    # cluster; keep every Ray socket on 127.0.0.1, for the workers and for this process, which joins as driver
    # (Ray reads the variable when it is imported).
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray  # noqa: F401  (a dependency: a missing package fails here, it is never skipped)

    # Ray's session folder holds AF_UNIX sockets, whose paths may not exceed 107 bytes: pytest's folders are too
    # deep for them under pytest-xdist (.../pytest-N/popen-gwK/ray0/t/session_<date>_<pid>/sockets/plasma_store).
    work = Path(tempfile.mkdtemp(prefix="edgeai-ray-"))
    port = free_port()
    ray_bin = Path(sys.executable).with_name("ray")
    cmd = [str(ray_bin), "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1",
           "--num-cpus=2", "--object-store-memory=100000000", "--include-dashboard=false", "--disable-usage-stats",
           f"--temp-dir={work / 't'}", f"--dashboard-agent-listen-port={free_port()}",
           f"--dashboard-agent-grpc-port={free_port()}", f"--runtime-env-agent-port={free_port()}",
           f"--metrics-export-port={free_port()}", f"--ray-client-server-port={free_port()}"]
    log_path = work / "ray-start.log"
    # The workers inherit this environment: the code under test (PYTHONPATH) and the test's library cache.
    with open(log_path, "wb") as log:
        head = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 90
        while b"Ray runtime started" not in log_path.read_bytes():
            if head.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ray start did not come up:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        yield {"address": f"127.0.0.1:{port}", "pid": head.pid, "logs": work / "t" / "session_latest" / "logs"}
    finally:
        head.terminate()  # ray start stops the processes it started, then exits
        try:
            head.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(head.pid, signal.SIGKILL)  # whatever of its group is left
        except ProcessLookupError:
            pass
        head.wait()
        os.environ.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)
        shutil.rmtree(work, ignore_errors=True)


def _suite(tmp_path, targets):
    path = tmp_path / "suite.json"
    path.write_text(json.dumps({"name": "ray", "samples": 2, "repeats": 1, "targets": targets,
                                "models": [{"name": "ad", "tflite": "mlperf_tiny/ad01_int8.tflite"}]}))
    return load_suite(path)


def _by_job(data):
    return {(r["model"], r["target"], r["backend"]): r for r in data["results"]}


def _parent(pid):
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _descends_from(pid, ancestor):
    while pid > 1:
        pid = _parent(pid)
        if pid == ancestor:
            return True
    return False


@pytest.fixture(scope="module")
def local_pool(tmp_path_factory, tmp_cache):
    return run_suite(_suite(tmp_path_factory.mktemp("local"), ["cortex-m4", "cortex-m7"]), jobs=2, progress=False)


def test_ray_sweep_equals_the_local_process_pool(ray_head, local_pool, tmp_path):
    on_ray = run_suite(_suite(tmp_path, ["cortex-m4", "cortex-m7"]), ray_address=ray_head["address"], progress=False)
    local, remote = _by_job(local_pool), _by_job(on_ray)
    assert set(local) == set(remote) == {("ad", "cortex-m4", "edgeai"), ("ad", "cortex-m7", "edgeai")}
    for job, r in remote.items():
        assert r["status"] == "ok", r.get("error")
        assert r["instructions"] > 100_000 and r["bit_exact"] == r["samples"] == 2
        assert {k: r.get(k) for k in MEASURED} == {k: local[job].get(k) for k in MEASURED}, job
        # Measured by a worker process of the cluster (Ray names each worker's log by its pid), not here.
        pid = r["worker"].rsplit(":", 1)[1]
        logs = sorted(f.name for f in ray_head["logs"].iterdir())
        assert any(name.endswith(f"_{pid}.log") for name in logs), logs


def _ray_task_pids(head, name="ray::measure"):
    """Workers of the cluster whose process title says they are running a measure task."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        if title.startswith(name) and _descends_from(int(entry.name), head):
            pids.append(int(entry.name))
    return pids


def _children(pid):
    return [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit() and _parent(int(e.name)) == pid]


class _WorkerKiller(threading.Thread):
    """Kills (SIGKILL) the first cluster worker seen running a job, and the emulator it had started."""

    def __init__(self, head):
        super().__init__(daemon=True)
        self.head, self.killed, self.stop = head, None, threading.Event()

    def run(self):
        while not self.stop.is_set() and self.killed is None:
            for pid in _ray_task_pids(self.head):
                orphans = _children(pid)  # its QEMU would outlive it, serving nobody
                os.kill(pid, signal.SIGKILL)
                self.killed = pid
                for child in orphans:
                    try:
                        os.kill(child, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                break
            time.sleep(0.01)


@pytest.mark.parametrize("retries", [1, 0])
def test_a_job_whose_worker_is_killed(ray_head, local_pool, tmp_path, retries):
    killer = _WorkerKiller(ray_head["pid"])
    killer.start()
    try:
        data = run_suite(_suite(tmp_path, ["cortex-m4"]), ray_address=ray_head["address"], progress=False,
                         ray_retries=retries)
    finally:
        killer.stop.set()
        killer.join()
    assert killer.killed is not None, "no worker was seen running the job"
    (r,) = data["results"]
    if retries:  # Ray ran it again on another worker, to the same result
        assert r["status"] == "ok", r.get("error")
        assert int(r["worker"].rsplit(":", 1)[1]) != killer.killed
        want = _by_job(local_pool)[("ad", "cortex-m4", "edgeai")]
        assert {k: r.get(k) for k in MEASURED} == {k: want.get(k) for k in MEASURED}
    else:  # no retry left: an error result that names the job and the cluster
        assert r["status"] == "error" and (r["model"], r["target"]) == ("ad", "cortex-m4")
        assert "job ad on cortex-m4 failed on the Ray cluster" in r["error"] and "after 0 retries" in r["error"]
        assert "Worker" in r["error"] or "worker" in r["error"]
