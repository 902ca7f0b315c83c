"""A compile killed half way leaves nothing that a later run takes as a library: the output folder is either
absent or the previous complete library, model.json exists only in complete libraries, and the next compile
(or the cache) cleans up and produces a whole library. Kills are SIGKILL: no handler, no cleanup code runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import tflite
from edgeai import REPO_ROOT
from edgeai.cache import compiler_fingerprint, library_dir
from edgeai.cli import main
from edgeai.compile import compile_model

KWS, AD01 = tflite("kws_ref_model"), tflite("ad01_int8")
slow = pytest.mark.slow  # each starts a fresh interpreter that imports TVM


def is_complete(folder: Path, model: str) -> bool:
    desc = json.loads((folder / "model.json").read_text())
    return desc["model"] == model and all((folder / s).is_file() for s in desc["sources"])


def libraries_under(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob("model.json"))


def run_killed(code: str, *argv, env=None) -> subprocess.CompletedProcess:
    """Run `edgeai argv` in a fresh interpreter after `code` has armed a self-inflicted SIGKILL."""
    script = textwrap.dedent(code) + f"\nfrom edgeai.cli import main\nmain({[str(a) for a in argv]!r})\n"
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                          env=dict(os.environ, **(env or {})), timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    return proc


# SIGKILL on the third file written into the library: sources half written, model.json not yet.
KILL_MID_WRITE = """
import os, signal, pathlib
_write, _count = pathlib.Path.write_text, [0]
def write_text(self, *args, **kwargs):
    _count[0] += 1
    if _count[0] == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return _write(self, *args, **kwargs)
pathlib.Path.write_text = write_text
"""

# SIGKILL between setting the previous library aside and renaming the new one into place.
KILL_MID_SWAP = """
import os, signal
import edgeai.compile as c
class _Os:
    def __getattr__(self, name):
        return getattr(os, name)
    def replace(self, src, dst):
        os.replace(src, dst)
        os.kill(os.getpid(), signal.SIGKILL)
c.os = _Os()
"""


@pytest.fixture
def previous(tmp_path, tmp_cache) -> Path:
    """A complete library of ad01_int8 where the interrupted compile of kws will write."""
    out = tmp_path / "lib"
    compile_model(AD01, "host", out)
    assert is_complete(out, "ad01_int8")
    return out


@slow
@pytest.mark.parametrize("kill", [KILL_MID_WRITE, KILL_MID_SWAP], ids=["mid-write", "mid-swap"])
def test_killed_compile_keeps_the_previous_library(previous, tmp_path, kill):
    run_killed(kill, "compile", KWS, "-o", previous)
    if kill is KILL_MID_WRITE:  # it did die half way through writing the new library
        (half,) = [p for p in tmp_path.iterdir() if p.name.startswith(".lib.tmp")]
        assert any(half.iterdir()) and not (half / "model.json").exists()
    # Either the previous complete library, or nothing under that name (it is set aside, whole).
    assert not previous.exists() or is_complete(previous, "ad01_int8")
    for lib in libraries_under(tmp_path):
        assert is_complete(lib, json.loads((lib / "model.json").read_text())["model"]), lib
    # The next compile puts things right: the new library, and no leftovers beside it.
    compile_model(KWS, "host", previous)
    assert is_complete(previous, "kws_ref_model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib"]


@slow
def test_killed_swap_is_rolled_back_by_the_next_look(previous, tmp_path):
    """Killed between the two renames: the previous library is put back before anything else happens."""
    run_killed(KILL_MID_SWAP, "compile", KWS, "-o", previous)
    assert not previous.exists()
    compile_model(KWS, "host", tmp_path / "other")  # another output: no recovery of `lib` yet
    from edgeai.compile import _recover

    _recover(previous)
    assert is_complete(previous, "ad01_int8")


@slow
def test_killed_cache_compile_is_not_taken_from_the_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("EDGEAI_CACHE", str(cache))
    run_killed(KILL_MID_WRITE, "compile", KWS)
    compiler_fingerprint.cache_clear()  # the key the subprocess saw, should sources have changed since
    target = library_dir(KWS, "host", "model")
    leftovers = list(target.parent.iterdir())
    assert len(leftovers) == 1 and leftovers[0].name.startswith(f".{target.name}.tmp")
    assert any(leftovers[0].iterdir()) and libraries_under(cache) == []  # half written, and no model.json
    compiled = compile_model(KWS, "host")
    assert compiled.path == target and is_complete(target, "kws_ref_model")
    assert [p.name for p in target.parent.iterdir()] == [target.name]


def test_cache_ignores_a_folder_without_model_json(tmp_path, monkeypatch):
    """A folder under the cache's name that is not a complete library (copied by hand, cut by a full disk) is
    compiled again, not used."""
    monkeypatch.setenv("EDGEAI_CACHE", str(tmp_path / "cache"))
    target = library_dir(AD01, "host", "model")
    target.mkdir(parents=True)
    (target / "model_model.c").write_text("/* half */")
    stale = target.with_name(f".{target.name}.tmp999999999.abcd")  # a temp folder of a long-dead process
    stale.mkdir()
    (stale / "model.json").write_text("{}")
    compiled = compile_model(AD01, "host")
    assert compiled.path == target and is_complete(target, "ad01_int8")
    assert not stale.exists()


@slow
def test_external_sigkill_at_any_moment(previous, tmp_path):
    """SIGKILL from outside, as soon as the compile starts writing its temp folder (or whenever it gets there)."""
    proc = subprocess.Popen([sys.executable, "-m", "edgeai.cli", "compile", str(KWS), "-o", str(previous)],
                            cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if any(p.name.startswith(".lib.tmp") for p in tmp_path.iterdir()):
            break
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not previous.exists() or is_complete(previous, "ad01_int8") or is_complete(previous, "kws_ref_model")
    compile_model(KWS, "host", previous)
    assert is_complete(previous, "kws_ref_model") and sorted(p.name for p in tmp_path.iterdir()) == ["lib"]


def test_compile_refuses_to_replace_a_folder_that_is_not_a_library(tmp_path, capsys):
    precious = tmp_path / "src"
    precious.mkdir()
    (precious / "main.c").write_text("int main(void) { return 0; }\n")
    code = main(["compile", str(AD01), "-o", str(precious)])
    err = capsys.readouterr().err
    assert code == 1 and f"edgeai: error: {precious} exists and is not an edgeai library" in err
    assert [p.name for p in precious.iterdir()] == ["main.c"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]
