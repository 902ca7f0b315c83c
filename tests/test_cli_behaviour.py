"""The CLI's manners: --version, help on every option, JSON errors under --json, progress only for a person at a
terminal, and SIGTERM during a compile ending the C compiler children and leaving no temp folder."""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from conftest import model_path, tflite
from edgeai import REPO_ROOT, __version__
from edgeai.cli import build_parser, main


def edgeai(*argv, env=None, **kwargs) -> subprocess.CompletedProcess:
    """The CLI in a fresh interpreter, with this tree's code first on the path."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), **(env or {}))
    return subprocess.run([sys.executable, "-m", "edgeai.cli", *map(str, argv)], env=env, capture_output=True,
                          text=True, timeout=300, **kwargs)


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"edgeai {__version__}"


def _options(parser: argparse.ArgumentParser, where: str = "edgeai"):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, f"{where} {name}")
        elif not isinstance(action, argparse._HelpAction):
            yield where, action


def test_every_option_has_help():
    missing = [f"{where} {'/'.join(a.option_strings) or a.dest}" for where, a in _options(build_parser())
               if not a.help or a.help == argparse.SUPPRESS]
    assert missing == []


def _one_json_object(text: str) -> dict:
    data = json.loads(text)  # the whole of stdout is one object
    assert set(data) == {"error"}
    return data["error"]


def test_json_error_for_a_missing_model(capsys, tmp_path):
    missing = tmp_path / "no_such_model.tflite"
    code = main(["compile", str(missing), "--target", "host", "--json"])
    err = _one_json_object(capsys.readouterr().out)
    assert code == err["code"] == 2  # a ModelError, not the internal error (70) it was
    assert err["type"] == "ModelError" and err["file"] == str(missing) and str(missing) in err["message"]


def test_json_error_names_the_node(tmp_path, capsys):
    # A convolution whose weights want 3 input channels fed a 2-channel input: refused, naming the node.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 6, 6])
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 3, 3, 3], np.zeros(108, np.float32))
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="the_bad_conv")], "g", [x], [y], [w])
    path = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    code = main(["analyze", str(path), "--json"])
    err = _one_json_object(capsys.readouterr().out)
    assert code == err["code"] != 0
    assert err["node"] == "the_bad_conv" and err["file"] == str(path)


def test_json_error_for_a_bad_command_line():
    proc = edgeai("compile", "--target", "host", "--json")  # no model
    err = _one_json_object(proc.stdout)
    assert proc.returncode == err["code"] == 2 and err["type"] == "UsageError" and "model" in err["message"]
    assert proc.stderr == ""


def test_errors_without_json_stay_text(tmp_path):
    proc = edgeai("compile", tmp_path / "none.tflite")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("edgeai: error: ") and "none.tflite" in proc.stderr


def _on_a_terminal(*argv, env) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal (a person watching); returns (exit code, what stderr showed)."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 0-column one shows no bar
    full_env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), **env)
    proc = subprocess.Popen([sys.executable, "-m", "edgeai.cli", *map(str, argv)], env=full_env,
                            stdout=subprocess.DEVNULL, stderr=terminal, stdin=subprocess.DEVNULL)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    return proc.wait(timeout=300), shown.decode(errors="replace")


@pytest.mark.slow
def test_progress_only_on_a_terminal_and_never_under_json(tmp_path, tmp_cache):
    model = tflite("ad01_int8")
    env = {"EDGEAI_CACHE": str(tmp_cache)}
    # Into the cache: the first compiles, the others find it there (and still show or hide the bar).
    code, shown = _on_a_terminal("compile", model, "--target", "host", env=env)
    assert code == 0 and "compile" in shown and "stage" in shown  # the tqdm bar over the stages
    code, shown = _on_a_terminal("compile", model, "--target", "host", "--json", env=env)
    assert code == 0 and shown == ""
    proc = edgeai("compile", model, "--target", "host", env=env)  # stderr a pipe
    assert proc.returncode == 0 and proc.stderr == ""
    # validate: a bar over the reference's runs and one over the target's (a one-layer model: its host build is
    # quick, where ad01's 1.1 MB of weights take ~10 s to build)
    from fuzz import tflite_writer as tw

    dense = tmp_path / "dense.tflite"
    dense.write_bytes(tw.write(tw.fully_connected(4, 3)))
    code, shown = _on_a_terminal("validate", dense, "--target", "host", "--count", "3", env=env)
    assert code == 0 and "reference:" in shown and "run on host:" in shown and "/3 [" in shown, shown
    # quantize: a bar over its stages (the shipped float AD model, 4 calibration samples), none under --json
    calibration = tmp_path / "calibration"
    calibration.mkdir()
    for k in range(4):
        np.save(calibration / f"x{k}.npy", np.random.default_rng(k).uniform(-80, 15, (640,)).astype(np.float32))
    float_ad = model_path("ad01_fp32.onnx")
    code, shown = _on_a_terminal("quantize", float_ad, "--calibration", calibration, "-o", tmp_path / "q.onnx",
                                 env=env)
    assert code == 0 and "quantize" in shown and "stage" in shown, shown
    code, shown = _on_a_terminal("quantize", float_ad, "--calibration", calibration, "-o", tmp_path / "q.onnx",
                                 "--json", env=env)
    assert code == 0 and shown == ""


def _processes_mentioning(marker: str) -> list[str]:
    """Live (not zombie) processes whose command line contains `marker`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(f"{entry}: {cmdline[:200]}")
    return found


def _descendants(pid: int) -> list[str]:
    """Names (comm) of every process below `pid`."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            name, rest = stat.split(" (", 1)[1].rsplit(")", 1)
            parents[int(entry)] = (int(rest.split()[1]), name)
    below, frontier = [], {pid}
    while frontier:
        frontier = {p for p, (ppid, _) in parents.items() if ppid in frontier}
        below += [parents[p][1] for p in frontier]
    return below


def test_a_childs_temp_files_go_with_its_own_tmpdir(tmp_path, monkeypatch):
    """Whatever a child leaves in $TMPDIR (a gcc killed mid-link: its linker's ccXXXXXX.res) is removed with the
    folder edgeai.children gave it, under edgeai's own temp folder."""
    import tempfile

    from edgeai import children

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    done = children.run(["sh", "-c", 'echo x > "$TMPDIR/ccleft.res" && echo "$TMPDIR"'], stdout=subprocess.PIPE,
                        text=True)
    assert done.returncode == 0 and Path(done.stdout.strip()).parent == tmp_path
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.toolchain
@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("cmake") is None,
                    reason="needs arm-none-eabi-gcc and cmake")
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "Ctrl-C"])
def test_sigterm_mid_build_ends_the_compilers_and_leaves_no_temp_folder(sig, code, tmp_path, tmp_cache):
    out = tmp_path / "library"  # every child's command line names a path under it
    private_tmp = tmp_path / "tmp"  # $TMPDIR of edgeai and of gcc: must be empty afterwards
    private_tmp.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), EDGEAI_CACHE=str(tmp_cache), TMPDIR=str(private_tmp))
    cmd = [sys.executable, "-m", "edgeai.cli", "compile", str(tflite("kws_ref_model")), "--target", "cortex-m4",
           "-o", str(out), "--prefix", "kws", "--build"]
    # SIGINT as a terminal's Ctrl-C delivers it (a background job may inherit it ignored: restore the default).
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler))
    try:
        deadline = time.monotonic() + 240
        while "cc1" not in _descendants(proc.pid):
            assert proc.poll() is None and time.monotonic() < deadline, "the build ended before cc1 ran"
            time.sleep(0.01)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        # Whatever is alive now outlived edgeai (a cc1 compiling a big kernel file runs for seconds more).
        assert _processes_mentioning(str(tmp_path)) == []
        assert sorted(p.name for p in private_tmp.iterdir()) == []
        assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []
        assert proc.returncode == code, err  # 143 / 130: neither is an EdgeAIError code
        assert ("terminated" if sig == signal.SIGTERM else "interrupted") in err
    finally:
        for line in _processes_mentioning(str(tmp_path)):
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if sig != signal.SIGTERM:
        return
    # What the interrupted build left is a library a second run builds into firmware.
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert list((out / "build").glob("**/bench-cortex-m4.elf"))  # each build in a folder of its own


def test_example_subcommand_runs_the_example_from_anywhere(tmp_path):
    proc = edgeai("example", "safety_zones", "--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: edgeai example safety_zones")
    assert "--budget-ms" in proc.stdout  # the example's own options


def test_example_readmes_give_commands_that_work_as_written():
    """`python examples/...` fails outside the venv (no numpy, no edgeai): every command line in the examples'
    READMEs starts with the venv's edgeai or python."""
    bad = []
    for readme in sorted((REPO_ROOT / "examples").rglob("README.md")):
        for line in readme.read_text().splitlines():
            for cmd in re_commands(line):
                if not cmd.startswith((".venv/bin/edgeai ", ".venv/bin/python ")):
                    bad.append(f"{readme.relative_to(REPO_ROOT)}: {cmd}")
    assert bad == []


def re_commands(line: str) -> list[str]:
    """Shell commands in a README line: a code block's line, or `inline code` running python or edgeai."""
    import re

    stripped = line.strip()
    found = [stripped.split("  #")[0].strip()] if re.match(r"(\S*/)?(python3?|edgeai) ", stripped) else []
    found += [c for c in re.findall(r"`([^`]+)`", line) if re.match(r"(\S*/)?(python3?|edgeai) ", c)]
    return found


@pytest.mark.parametrize("content", [None, "{"], ids=["missing", "not JSON"])
def test_json_error_for_a_bad_results_file(content, tmp_path, capsys):
    results = tmp_path / "results.json"
    if content is not None:
        results.write_text(content)
    code = main(["bench", "--results", str(results), "--json"])
    err = _one_json_object(capsys.readouterr().out)
    assert code == err["code"] == 7 and err["type"] == "DataError" and err["file"] == str(results)


def _term_mid_write(argv: list[str]) -> str:
    """A script running `edgeai argv` that sends itself SIGTERM on the third file written into the library
    (sources half written, model.json not yet): the SIGKILL of the interrupted-compile tests, made SIGTERM."""
    from test_fuzz_interrupted_compile import KILL_MID_WRITE

    run = f"from edgeai.cli import main\nraise SystemExit(main({argv!r}))\n"
    return KILL_MID_WRITE.replace("SIGKILL", "SIGTERM") + run


@pytest.mark.slow
def test_sigterm_while_writing_the_library_removes_its_temp_folder(tmp_path, tmp_cache):
    out = tmp_path / "lib"
    argv = ["compile", str(tflite("ad01_int8")), "--target", "host", "-o", str(out)]
    proc = subprocess.run([sys.executable, "-c", _term_mid_write(argv)], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO_ROOT), EDGEAI_CACHE=str(tmp_cache)), timeout=300)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # neither the library nor its temp folder
    assert proc.returncode == 143, proc.stderr
