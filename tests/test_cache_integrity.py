"""The library cache is checked, not trusted: an entry whose files were edited, cut short or garbled after it was
built is compiled or built again (stderr says so) and gives the reference's result; an ONNX model's external data
is part of the key; processes using one entry at once never break each other's builds; and a missing model, a
full disk or a forged .npy header is a clear message with its own exit code, through `edgeai.cli.main`."""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import tflite
from edgeai import REPO_ROOT
from edgeai.cli import main
from edgeai.runtime.reference import reference_session

AD01 = tflite("ad01_int8")  # input_1: int8 [1, 640]
MODEL, STORAGE = 2, 9  # exit codes of edgeai/errors.py


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """A cache of this test's own: every test starts from nothing, as a user's first run does."""
    path = tmp_path / "cache"
    monkeypatch.setenv("EDGEAI_CACHE", str(path))
    return path


@pytest.fixture(scope="module")
def x(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("inputs") / "x.npy"
    np.save(path, np.random.default_rng(1).integers(-128, 128, (1, 640)).astype(np.int8))
    return path


def reference(model: Path, x: Path) -> np.ndarray:
    return reference_session(model).run([np.load(x)])[0]


def edgeai(*argv, env=None, preexec_fn=None, timeout=300) -> subprocess.CompletedProcess:
    """`edgeai argv` in a process of its own (the code under test first on the path)."""
    environ = dict(os.environ, PYTHONPATH=f"{REPO_ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", **(env or {}))
    return subprocess.run([sys.executable, "-m", "edgeai.cli", *map(str, argv)], cwd=REPO_ROOT, capture_output=True,
                          text=True, env=environ, preexec_fn=preexec_fn, timeout=timeout)


def run_out(capsys, model: Path, x: Path, tmp_path: Path, *extra) -> tuple[np.ndarray, str]:
    """`edgeai run` in this process: (the first output, stderr)."""
    out = tmp_path / "y.npy"
    code = main(["run", str(model), "--input", str(x), "--output", str(out), "--json", *map(str, extra)])
    err = capsys.readouterr().err
    assert code == 0, err
    return np.load(out), err


def entry_of(cache: Path) -> Path:
    (entry,) = [p for p in (cache / "libraries").iterdir() if not p.name.startswith(".")]
    return entry


# -- damaged entries are built again ------------------------------------------------------------------------
@pytest.mark.toolchain
def test_edited_weight_in_a_cached_library_is_compiled_again(cache, x, tmp_path, capsys):
    want = reference(AD01, x)
    got, _ = run_out(capsys, AD01, x, tmp_path)
    assert np.array_equal(got, want)
    weights = entry_of(cache) / "model_weights.c"
    text = weights.read_text()
    start, end = text.index("= {") + 3, text.index("};")
    weights.write_text(text[:start] + re.sub(r"-?\d+", "100", text[start:end]) + text[end:])  # first layer's weights
    got, err = run_out(capsys, AD01, x, tmp_path)
    assert np.array_equal(got, want) and weights.read_text() == text
    assert (f"edgeai: warning: cached library {entry_of(cache)} is damaged (model_weights.c differs from the sha256 "
            f"recorded when it was built); compiling it again") in err


@pytest.mark.toolchain
def test_truncated_shared_object_is_built_again_not_mapped(cache, x, tmp_path, capsys):
    """A .so cut short maps, then dies of SIGBUS on first touch: in a process of its own, so pytest survives."""
    want = reference(AD01, x)
    # built, not loaded (pytest must not map it), and by a CLI process as `edgeai run` below: under EDGEAI_HOST_ASAN
    # a pytest worker builds another .so (with ASan), which `edgeai run` would never read
    built = edgeai("compile", AD01, "--target", "host", "--build", "--json")
    assert built.returncode == 0, built.stderr[-2000:]
    so = Path(json.loads(built.stdout)["built"])
    size = so.stat().st_size
    with open(so, "r+b") as f:
        f.truncate(size * 6 // 10)
    proc = edgeai("run", AD01, "--input", x, "--output", tmp_path / "y.npy")
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert np.array_equal(np.load(tmp_path / "y.npy"), want) and so.stat().st_size == size
    assert f"edgeai: warning: host build {so.parent} is damaged ({so.name} differs from the sha256" in proc.stderr


@pytest.mark.toolchain
def test_corrupt_model_json_is_compiled_again(cache, x, tmp_path, capsys):
    want = reference(AD01, x)
    run_out(capsys, AD01, x, tmp_path)
    desc = entry_of(cache) / "model.json"
    text = desc.read_text()
    desc.write_text(text[: len(text) // 2])
    got, err = run_out(capsys, AD01, x, tmp_path)
    assert np.array_equal(got, want) and desc.read_text() == text
    assert f"edgeai: warning: cached library {entry_of(cache)} is damaged (" in err


def test_manifest_lists_every_file_with_its_sha256(cache):
    import hashlib

    from edgeai.compile import compile_model

    lib = compile_model(AD01, "host").path
    lines = (lib / "SHA256SUMS").read_text().splitlines()
    # every file, in subfolders too (runtime/ holds the shim), but the manifest itself and the build folders
    names = sorted(p.relative_to(lib).as_posix() for p in lib.rglob("*")
                   if p.is_file() and p.name != "SHA256SUMS" and p.relative_to(lib).parts[0] != "build")
    assert [line.split("  ")[1] for line in lines] == names and "model.json" in names
    for line in lines:
        digest, name = line.split("  ")
        assert hashlib.sha256((lib / name).read_bytes()).hexdigest() == digest
    (lib / "stray.h").write_text("#define X 1\n")  # a header that would shadow the runtime's
    from edgeai.manifest import manifest_problem

    assert manifest_problem(lib, skip=("build",)) == "stray.h is not part of it"


# -- ONNX external data is part of the model ----------------------------------------------------------------
def _external_model(folder: Path, w: np.ndarray, location: str = "data.bin") -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul")], "ext",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], initializer=[numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = folder / "ext.onnx"
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location="data.bin",
                    size_threshold=0)
    if location != "data.bin":  # onnx writes no other location than a plain file name: set it by hand
        model = onnx.load(str(path), load_external_data=False)
        (entry,) = [e for e in model.graph.initializer[0].external_data if e.key == "location"]
        entry.value = location
        path.write_bytes(model.SerializeToString())
        os.replace(folder / "data.bin", folder / location)
    return path


@pytest.mark.toolchain
def test_changed_external_data_gives_a_new_key_and_the_new_result(cache, tmp_path, capsys):
    rng = np.random.default_rng(2)
    x = tmp_path / "xf.npy"
    np.save(x, rng.standard_normal((1, 8)).astype(np.float32))
    model = _external_model(tmp_path, rng.standard_normal((8, 4)).astype(np.float32))
    first, _ = run_out(capsys, model, x, tmp_path)
    np.testing.assert_allclose(first, reference(model, x), rtol=1e-5, atol=1e-6)
    # The same .onnx file, other weights in data.bin (its only tensor, from offset 0).
    assert (tmp_path / "data.bin").stat().st_size == 8 * 4 * 4
    (tmp_path / "data.bin").write_bytes(rng.standard_normal((8, 4)).astype(np.float32).tobytes())
    second, _ = run_out(capsys, model, x, tmp_path)
    np.testing.assert_allclose(second, reference(model, x), rtol=1e-5, atol=1e-6)
    assert not np.allclose(first, second)
    assert len([p for p in (cache / "libraries").iterdir() if not p.name.startswith(".")]) == 2


@pytest.mark.parametrize("location, message", [
    ("../outside.bin", "keeps its data in external file '../outside.bin', outside the model's folder: refused"),
    ("gone.bin", "keeps its data in external file 'gone.bin', which does not exist next to the model"),
], ids=["escaping", "missing"])
def test_external_data_outside_the_folder_or_missing_is_refused(cache, tmp_path, capsys, location, message):
    folder = tmp_path / "m"
    folder.mkdir()
    model = _external_model(folder, np.ones((8, 4), np.float32), location)
    if location == "gone.bin":
        (folder / "gone.bin").unlink()
    code = main(["compile", str(model)])
    err = capsys.readouterr().err
    assert code == MODEL and err == f"edgeai: error: {model}: tensor 'w' {message}\n", err


# -- concurrent processes on one entry ----------------------------------------------------------------------
def _wait_for(path: Path, timeout: float = 240.0, procs=()) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(f"process exited {p.returncode} early: {p.stderr.read()[-3000:]}")
        assert time.monotonic() < deadline, f"timed out waiting for {path}"
        time.sleep(0.02)


def _hooked(hook: str, *argv, **env) -> subprocess.Popen:
    """`edgeai argv` in a fresh interpreter after `hook` has patched in its pause points."""
    script = (textwrap.dedent(hook) + "\nimport sys\nfrom edgeai.cli import main\n"
              f"sys.exit(main({[str(a) for a in argv]!r}))\n")
    environ = dict(os.environ, PYTHONPATH=f"{REPO_ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", **env)
    return subprocess.Popen([sys.executable, "-c", script], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=environ)


# The compile stops after writing its library, before putting it in place, until GO exists.
PAUSE_BEFORE_PUBLISHING = """
import os, time, pathlib
import compilers.c.emit as emit
_emit = emit.emit_library
def emit_library(*args, **kwargs):
    desc = _emit(*args, **kwargs)
    pathlib.Path(os.environ["READY"]).touch()
    while not os.path.exists(os.environ["GO"]):
        time.sleep(0.02)
    return desc
emit.emit_library = emit_library
"""

# Each call of a C compiler or of cmake first waits until GO exists, or until PARTIES processes wait (a barrier);
# READY<pid> says that this one waits.
PAUSE_BEFORE_BUILDING = """
import glob, os, time, pathlib, subprocess
import edgeai.children as children
_ready = os.environ["READY"]
def pausing(_run):
    def run(cmd, *args, **kwargs):
        if isinstance(cmd, list) and os.path.basename(str(cmd[0])) in ("cc", "gcc", "cmake"):
            pathlib.Path(_ready + str(os.getpid())).touch()
            while not os.path.exists(os.environ["GO"]) and len(glob.glob(_ready + "*")) < int(os.environ.get("PARTIES", "99")):
                time.sleep(0.02)
        return _run(cmd, *args, **kwargs)
    return run
subprocess.run = pausing(subprocess.run)
children.run = pausing(children.run)  # builds start their compilers through it (own process group)
"""


@pytest.mark.slow
@pytest.mark.toolchain
def test_compile_publishing_while_a_run_builds_in_the_entry(cache, x, tmp_path):
    """A compile that started on an empty cache finishes while a run of the same model builds in the entry the
    run published meanwhile: the run's build must survive, and both succeed."""
    want = reference(AD01, x)
    sig = tmp_path / "sig"
    sig.mkdir()
    compile_ = _hooked(PAUSE_BEFORE_PUBLISHING, "compile", AD01, READY=str(sig / "compiled"), GO=str(sig / "publish"))
    _wait_for(sig / "compiled", procs=[compile_])
    run = _hooked(PAUSE_BEFORE_BUILDING, "run", AD01, "--input", x, "--output", tmp_path / "y.npy",
                  READY=str(sig / "building"), GO=str(sig / "published"))
    deadline = time.monotonic() + 240
    while not list(sig.glob("building*")):
        assert run.poll() is None and time.monotonic() < deadline, run.stderr.read()[-3000:] if run.poll() else ""
        time.sleep(0.02)
    (sig / "publish").touch()
    assert compile_.wait(240) == 0, compile_.stderr.read()[-3000:]
    (sig / "published").touch()
    assert run.wait(240) == 0, run.stderr.read()[-3000:]
    assert np.array_equal(np.load(tmp_path / "y.npy"), want)
    assert [p.name for p in (cache / "libraries").iterdir()] == [entry_of(cache).name]  # no leftovers


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.toolchain
def test_two_concurrent_qemu_runs_of_one_model(cache, x, tmp_path):
    """Two `run --target qemu:cortex-m4` of one model, their builds let go at the same moment."""
    from edgeai.compile import compile_model

    want = reference(AD01, x)
    compile_model(AD01, "cortex-m4")  # the entry both use
    sig = tmp_path / "sig"
    sig.mkdir()
    runs = [_hooked(PAUSE_BEFORE_BUILDING, "run", AD01, "--target", "qemu:cortex-m4", "--input", x, "--output",
                    tmp_path / f"y{i}.npy", READY=str(sig / "building"), GO=str(sig / "never"), PARTIES="2")
            for i in range(2)]
    for i, run in enumerate(runs):
        assert run.wait(300) == 0, run.stderr.read()[-3000:]
        assert np.array_equal(np.load(tmp_path / f"y{i}.npy"), want)
    assert len(list(sig.glob("building*"))) >= 2  # both did build, at once


# -- clear messages and exit codes --------------------------------------------------------------------------
def test_cache_folder_that_is_a_file(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "cache"
    blocker.write_text("not a folder")
    monkeypatch.setenv("EDGEAI_CACHE", str(blocker))
    code = main(["compile", str(AD01)])
    err = capsys.readouterr().err
    assert code == STORAGE and err.startswith(f"edgeai: error: cannot write the library {blocker}/libraries/"), err
    assert "Not a directory" in err


def _file_size_limit(limit: int):
    def set_limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return set_limit


@pytest.mark.slow
def test_disk_full_while_compiling_into_the_cache(cache):
    """A file size limit (EFBIG, what a full disk is to one file) hit writing the 1.1 MB weights file."""
    proc = edgeai("compile", AD01, preexec_fn=_file_size_limit(256 * 1024), env={"PYTHONDONTWRITEBYTECODE": "1"})
    assert proc.returncode == STORAGE, proc.stderr[-2000:]
    assert re.fullmatch(rf"edgeai: error: file size limit exceeded writing the library {cache}/libraries/"
                        rf"ad01_int8-host-\w+: free some space \(or raise the limit\) and rerun\n", proc.stderr), \
        proc.stderr
    assert list((cache / "libraries").iterdir()) == []  # nothing half written is left, nor taken later


@pytest.mark.slow
@pytest.mark.toolchain
def test_disk_full_writing_the_output(cache, x, tmp_path):
    from edgeai.compile import compile_model
    from edgeai.runtime.host import build_shared_library

    build_shared_library(compile_model(AD01, "host").path)  # the run itself then writes nothing but its output
    out = tmp_path / "y.npy"
    proc = edgeai("run", AD01, "--input", x, "--output", out, preexec_fn=_file_size_limit(100),
                  env={"PYTHONDONTWRITEBYTECODE": "1"})
    assert proc.returncode == STORAGE, proc.stderr
    assert proc.stderr == f"edgeai: error: file size limit exceeded writing {out}: free some space (or raise the limit) " \
                          f"and rerun\n", proc.stderr


@pytest.fixture
def small_disk(tmp_path):
    """A file system of its own, 4 MiB, that the test shrinks (tmpfs: mounting needs root, as the CI container is)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a tmpfs needs root")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def _shrink(disk: Path, free: int) -> None:
    """Leave `free` bytes of space on the tmpfs at `disk`."""
    used = (os.statvfs(disk).f_blocks - os.statvfs(disk).f_bfree) * os.statvfs(disk).f_frsize
    subprocess.run(["mount", "-o", f"remount,size={used + free}", str(disk)], check=True)


@pytest.mark.toolchain
def test_no_space_left_on_device(small_disk, x, capsys, monkeypatch):
    """A real full disk (ENOSPC): first under the 1.1 MB library, then under the host build of a library that fit."""
    monkeypatch.setenv("EDGEAI_CACHE", str(small_disk))
    _shrink(small_disk, 256 * 1024)
    code = main(["compile", str(AD01)])
    err = capsys.readouterr().err
    assert code == STORAGE and re.fullmatch(rf"edgeai: error: no space left on device writing the library "
                                            rf"{small_disk}/libraries/ad01_int8-host-\w+: free some space \(or "
                                            rf"raise the limit\) and rerun\n", err), err
    assert list((small_disk / "libraries").iterdir()) == []  # nothing half written is left, nor taken later
    subprocess.run(["mount", "-o", "remount,size=4m", str(small_disk)], check=True)
    assert main(["compile", str(AD01)]) == 0
    _shrink(small_disk, 16 * 1024)  # the library fits; its .so (about 100 KB) does not
    code = main(["run", str(AD01), "--input", str(x)])
    err = capsys.readouterr().err
    assert code == STORAGE and err.startswith(f"edgeai: error: no space left on device writing {small_disk}/"), err
    assert err.endswith(".so: free some space (or raise the limit) and rerun\n"), err
    assert [p.name for p in (entry_of(small_disk) / "build").iterdir()] == []
