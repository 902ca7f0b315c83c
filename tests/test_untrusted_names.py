"""Untrusted model files: names never reach the C unescaped, a reserved prefix or an unbuildable folder is refused.

Hostile names are planted in real models (an ONNX graph made with onnx.helper, the MLPerf Tiny ad01 int8 TFLite
file with its tensors renamed) and the library is compiled, built with -Wall -Wextra -Werror, run, and compared
with the reference runtime (onnxruntime, LiteRT's reference kernels): a name that closed a comment and planted
`return EDGEAI_OK;` or a `#define` would leave the output unwritten or skip the kernels, so it cannot pass.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import tflite
from edgeai.cli import main
from fuzz import tflite_writer as tw
from test_bad_inputs import cli

# gcc takes a lone CR as a line break, so a backslash before it splices `*` and `/` into `*/`: the comment ends and
# `return EDGEAI_OK;` runs before any kernel. Under -std=c99 `??/` is a backslash too.
CR_CLOSER = "r*\\\r/ return EDGEAI_OK; /*"
TRIGRAPH_CLOSER = "t*??/\r/ return EDGEAI_OK; /*"
# In the header: closes the comment and defines `if` so that model.c never calls a kernel.
DEFINE = "x*\\\r/\r#define if(c) if(0)\r/*"
BIDI = "logits\u202e/* evil */"
NOT_UTF8 = b"w\xff\xfe*/\x80"  # planted as raw bytes in the file

HOSTILE = [CR_CLOSER, TRIGRAPH_CLOSER, DEFINE, BIDI, "a*/b/*c", "??=??(??/", "\\", '"', "\x00\x01\n\r\t\x7f",
           "n\u00e9\u4e2d\ufffd", "\ud800", "x" * 500, "*", "/", "?"]
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")

# Exit codes of edgeai/errors.py
EDGEAI = 1


def _no_escape(text: str) -> None:
    """What the emitted C may hold where a model-supplied name was."""
    assert all(0x20 <= ord(c) < 0x7F for c in text), repr(text)
    for bad in ("*/", "/*", "??", "\\", '"'):
        assert bad not in text, (bad, text)


@pytest.mark.toolchain
def test_c_text_is_printable_ascii_and_inert(tmp_path):
    from compilers.c.names import TEXT_LIMIT, c_text

    for name in HOSTILE + [NOT_UTF8]:
        text = c_text(name)
        _no_escape(text)
        assert 0 < len(text) <= TEXT_LIMIT
    assert c_text("functional_1/dense/MatMul;x:0 (relu) [1, 2]") == "functional_1/dense/MatMul;x:0 (relu) [1, 2]"
    assert c_text("x" * 500) == "x" * (TEXT_LIMIT - 3) + "..."
    assert c_text("a*/b", 4) == "a*_b" and c_text("a/*b") == "a/_b" and c_text("??/") == "?_/"

    if shutil.which("gcc") is None:
        return
    # In a comment and in a string literal, every sanitised name compiles warning-free and reads back unchanged.
    texts = [c_text(n) for n in HOSTILE + [NOT_UTF8]]
    lines = ["#include <stdio.h>", "static const char *const names[] = {"]
    lines += [f'    /* {t} */ "{t}", /* {t}*/' for t in texts]
    lines += ["};", "int main(void) {", "    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {",
              '        printf("%s\\n", names[i]);', "    }", "    return 0;", "}", ""]
    src = tmp_path / "names.c"
    src.write_text("\n".join(lines), encoding="ascii")
    exe = tmp_path / "names"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-Wtrigraphs", "-pedantic", str(src), "-o",
                    str(exe)], check=True)
    assert subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.splitlines() == texts


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(), st.binary()), st.integers(4, 80))
def test_c_text_of_any_text_or_bytes_is_inert(name, limit):
    from compilers.c.names import c_text

    text = c_text(name, limit)
    _no_escape(text)
    assert len(text) <= limit
    if isinstance(name, str) and len(name) <= limit and all(0x20 <= ord(c) < 0x7F for c in name) and not any(
            bad in name for bad in ("*/", "/*", "??", "\\", '"')):
        assert text == name  # plain names are kept as they are


# -- hostile ONNX -------------------------------------------------------------------------------------------
PLACEHOLDER = "QQQQQQ"  # replaced by NOT_UTF8 bytes in the serialized file (same length, so no length prefix moves)
assert len(PLACEHOLDER) == len(NOT_UTF8)


PLAIN = {"input": "x", "node0": "fc1", "hidden": "h", "node1": "relu", "act": "a", "node2": "fc2", "output": "y",
         "w1": "w1", "b1": "b1", "w2": "w2"}
# One hostile name per case, where it reaches the C: the layer comments (node names), the header (input, output).
ONNX_CASES = {
    "cr_closes_layer_comment": {"node0": CR_CLOSER},
    "trigraph_closes_layer_comment": {"node2": TRIGRAPH_CLOSER},
    "define_in_input_name": {"input": DEFINE},
    "bidi_override": {"node1": BIDI, "output": BIDI + "y", "act": BIDI + "a"},
    "not_utf8": {"node2": PLACEHOLDER, "w1": PLACEHOLDER + "w", "hidden": PLACEHOLDER + "h"},
}


def hostile_onnx(path: Path, **hostile: str) -> Path:
    """y = W2 relu(W1 x + b1) on [1, 8]; `hostile` renames inputs, nodes, tensors and weights (see PLAIN)."""
    from onnx import TensorProto, helper, numpy_helper

    n = {**PLAIN, **hostile}
    rng = np.random.default_rng(3)
    w1, b1, w2 = (rng.standard_normal(s).astype(np.float32) for s in ((6, 8), (6,), (4, 6)))
    inits = [numpy_helper.from_array(w1, n["w1"]), numpy_helper.from_array(b1, n["b1"]),
             numpy_helper.from_array(w2, n["w2"])]
    nodes = [helper.make_node("Gemm", [n["input"], n["w1"], n["b1"]], [n["hidden"]], name=n["node0"], transB=1),
             helper.make_node("Relu", [n["hidden"]], [n["act"]], name=n["node1"]),
             helper.make_node("Gemm", [n["act"], n["w2"]], [n["output"]], name=n["node2"], transB=1)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(n["input"], TensorProto.FLOAT, [1, 8])],
                              [helper.make_tensor_value_info(n["output"], TensorProto.FLOAT, [1, 4])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path.write_bytes(model.SerializeToString().replace(PLACEHOLDER.encode(), NOT_UTF8))
    return path


def _check_library_text(lib: Path) -> None:
    """Every file the compile generated (C, CMake, make) is printable ASCII: no CR, no trigraph, no planted line."""
    for p in lib.iterdir():
        generated = p.name.startswith("model") or p.name in ("CMakeLists.txt", "edgeai_model-config.cmake")
        if generated and p.is_file() and p.suffix in (".c", ".h", ".txt", ".cmake", ".mk"):
            data = p.read_bytes()
            assert all(0x20 <= b < 0x7F or b == 0x0A for b in data), f"{p.name}: a CR, control or non-ASCII byte"
            assert b"??" not in data and b"\n#define if" not in data, p.name  # present only as inert text


def _matches_onnxruntime(session, path: Path, runs: int = 3, seed: int = 0) -> None:
    from edgeai.runtime.reference import OnnxRuntimeSession

    ref = OnnxRuntimeSession(path)
    rng = np.random.default_rng(seed)
    for _ in range(runs):
        x = rng.standard_normal((1, 8)).astype(np.float32)
        got, want = session.run([x])[0], ref.run([x])[0]
        assert np.abs(want).max() > 0.1  # an unwritten (zero) output cannot pass
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.toolchain
@needs_gcc
@pytest.mark.parametrize("case", ONNX_CASES)
def test_hostile_onnx_names_build_and_match_onnxruntime(case, tmp_path):
    from edgeai.compile import compile_model
    from edgeai.runtime.host import HostSession

    path = hostile_onnx(tmp_path / "hostile.onnx", **ONNX_CASES[case])
    lib = compile_model(path, "host", tmp_path / "lib").path
    _matches_onnxruntime(HostSession(lib), path)  # built with -Wall -Wextra -Werror
    _check_library_text(lib)
    if case == "cr_closes_layer_comment":
        assert "layer 0: fully_connected r*__/ return EDGEAI_OK; /_ */" in (lib / "model_model.c").read_text()


def test_onnx_names_that_are_not_utf8_import_as_text(tmp_path):
    """protobuf returns such a string as bytes: the frontend keeps it as \\xNN text, distinct from its neighbours."""
    import edgeai

    graph = edgeai.load(hostile_onnx(tmp_path / "hostile.onnx", input=PLACEHOLDER + "x", w1=PLACEHOLDER))
    names = [graph.inputs[0], *(n.name for n in graph.nodes), *graph.tensors]
    assert all(isinstance(n, str) for n in names)
    assert graph.inputs[0] == "w\\xff\\xfe*/\\x80x"
    assert "w\\xff\\xfe*/\\x80" in graph.tensors


# -- hostile TFLite: the real ad01 int8 model with its tensors renamed ----------------------------------------
def rename_tensors(buf: bytes, names: dict[int, bytes]) -> bytes:
    """The TFLite file with tensor `index` named `names[index]`: each new string is appended to the flatbuffer
    and the tensor's name offset pointed at it (offsets are forward, so the old tables stay valid)."""
    import tflite

    out = bytearray(buf)
    subgraph = tflite.Model.GetRootAsModel(buf, 0).Subgraphs(0)
    for index, name in names.items():
        table = subgraph.Tensors(index)._tab
        slot = table.Offset(4 + 2 * 3)  # Tensor.name is field 3 of schema.fbs
        assert slot, f"tensor {index} has no name field"
        field = table.Pos + slot
        out += bytes(-len(out) % 4)
        struct.pack_into("<I", out, field, len(out) - field)
        out += struct.pack("<I", len(name)) + name + b"\x00"
    return bytes(out)


# ad01: tensor 0 is the input, 21-29 the outputs of layers 0-8 (the node names), 30 the output.
AD01_CASES = {
    "comment_closers": {0: DEFINE.encode(), 21: CR_CLOSER.encode()},  # today: silently all zeros
    "trigraph_bidi_not_utf8": {22: BIDI.encode(), 23: TRIGRAPH_CLOSER.encode(), 24: NOT_UTF8, 25: b"\xff",
                               26: b"\xfe", 30: (BIDI + "y").encode()},  # today: the build fails, or the import
}


def hostile_ad01(path: Path, names: dict[int, bytes]) -> Path:
    path.write_bytes(rename_tensors(tflite("ad01_int8").read_bytes(), names))
    return path


@pytest.mark.toolchain
@pytest.mark.slow
@needs_gcc
@pytest.mark.parametrize("case", AD01_CASES)
def test_hostile_tflite_names_build_and_match_litert(case, tmp_path):
    from edgeai.compile import compile_model
    from edgeai.runtime.host import HostSession
    from edgeai.runtime.reference import LiteRTSession

    names = AD01_CASES[case]
    path = hostile_ad01(tmp_path / "ad01_hostile.tflite", names)
    lib = compile_model(path, "host", tmp_path / "lib").path
    session = HostSession(lib)
    ref = LiteRTSession(path)  # LiteRT reads the renamed file: the names are all that changed
    if 0 in names:
        assert ref.inputs[0].name.encode() == names[0]
    rng = np.random.default_rng(1)
    for _ in range(3):
        x = rng.integers(-128, 128, size=ref.inputs[0].shape).astype(np.int8)
        np.testing.assert_array_equal(session.run([x])[0], ref.run([x])[0])
    _check_library_text(lib)


def test_tflite_names_that_are_not_utf8_stay_distinct(tmp_path):
    """b'\\xff' and b'\\xfe' used to decode to the same U+FFFD and the file was refused as naming a tensor twice."""
    import edgeai

    names = {**AD01_CASES["trigraph_bidi_not_utf8"], 0: DEFINE.encode()}
    graph = edgeai.load(hostile_ad01(tmp_path / "ad01_hostile.tflite", names))
    assert graph.inputs[0] == DEFINE and graph.outputs[0] == BIDI + "y"
    assert {"\\xff", "\\xfe", "w\\xff\\xfe*/\\x80"} <= set(graph.tensors)


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="needs qemu-system-arm and arm-none-eabi-gcc")
def test_hostile_onnx_names_on_cortex_m4_match_onnxruntime(tmp_path):
    from edgeai.compile import compile_model
    from edgeai.runtime.device import QemuSession

    # The file's path reaches the C too (the banners; its name is the firmware's BENCH_NAME string literal).
    folder = tmp_path / "x*\\\r" / " return EDGEAI_OK; " / "*"
    folder.mkdir(parents=True)
    path = hostile_onnx(folder / 'm"\r#define if(c) if(0)\r??=.onnx', input=DEFINE, node0=CR_CLOSER, node1=BIDI,
                        node2=TRIGRAPH_CLOSER, output="out\r/*", w1=PLACEHOLDER)
    lib = compile_model(path, "cortex-m4", tmp_path / "lib").path
    with QemuSession(lib, "cortex-m4") as session:  # the firmware builds with -Wall -Wextra -Werror
        _matches_onnxruntime(session, path, runs=2, seed=2)
        assert session.stats.instructions > 0
    _check_library_text(lib)
    bindings = list(lib.glob("build/**/edgeai_bench_model.h"))  # BENCH_NAME: the file's name, in a string literal
    assert bindings and all(0x20 <= b < 0x7F or b == 0x0A for b in bindings[0].read_bytes())
    assert b'#define BENCH_NAME "m__#define if(c) if(0)_?_="' in bindings[0].read_bytes()


# -- the prefix and the output folder, through the CLI ---------------------------------------------------------
def tiny_tflite(tmp_path: Path) -> Path:
    path = tmp_path / "dense.tflite"
    path.write_bytes(tw.write(tw.fully_connected(4, 3)))
    return path


@pytest.mark.parametrize("prefix", ["edgeai_bench", "EDGEAI_BENCH", "edgeai_runtime", "edgeai_proto", "edgeai",
                                    "Edgeai_x", "bench", "BENCH", "_model", "__x"])
def test_prefix_reserved_by_the_runtime_is_refused(prefix, tmp_path, capsys):
    out = tmp_path / "out"
    code, err = cli(capsys, "compile", tiny_tflite(tmp_path), "--target", "cortex-m4", "-o", out, "--prefix", prefix)
    assert code == EDGEAI and f"prefix {prefix!r} is reserved" in err, err
    assert not out.exists()


@pytest.mark.parametrize("char", [";", "$", '"', "\\", "\n", "\r", "|", "?", "[", "]", "%", ","])
def test_output_folder_the_build_cannot_take_is_refused_before_compiling(char, tmp_path, capsys, monkeypatch):
    import edgeai.frontends

    def no_load(path):
        raise AssertionError("the model was loaded before the folder was checked")

    monkeypatch.setattr(edgeai.frontends, "load", no_load)
    out = tmp_path / f"lib{char}x"
    code, err = cli(capsys, "compile", tiny_tflite(tmp_path), "--target", "cortex-m4", "-o", out, "--build")
    assert code == EDGEAI and f"contains {char!r}, which the CMake/ninja build cannot take" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dense.tflite"]


@pytest.mark.toolchain
@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
def test_output_folder_with_other_punctuation_builds_for_cortex_m4(tmp_path, capsys):
    out = tmp_path / "lib a#(b)'c&d"
    assert main(["compile", str(tiny_tflite(tmp_path)), "--target", "cortex-m4", "-o", str(out), "--build"]) == 0
    assert list(out.glob("build/**/bench-cortex-m4.elf"))


@pytest.mark.toolchain
@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
def test_model_file_name_the_build_cannot_take_still_builds_from_the_cache(tmp_path, monkeypatch):
    """The cache folder is named after the model file: its name is made buildable, the key keeps it unique."""
    from edgeai.compile import compile_model
    from edgeai.runtime.device import build_firmware

    monkeypatch.setenv("EDGEAI_CACHE", str(tmp_path / "cache"))
    path = tmp_path / 'm;$"x,%.tflite'
    path.write_bytes(tw.write(tw.fully_connected(4, 3)))
    compiled = compile_model(path, "cortex-m4")
    assert compiled.path.name.startswith("m___x__-cortex-m4-")
    assert build_firmware(compiled.path, "cortex-m4").is_file()


def test_library_cache_folder_the_build_cannot_take_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EDGEAI_CACHE", str(tmp_path / "cache;x"))
    np.save(tmp_path / "x.npy", np.zeros((1, 4), np.float32))
    code, err = cli(capsys, "run", tiny_tflite(tmp_path), "--target", "qemu:cortex-m4", "--input", tmp_path / "x.npy")
    assert code == EDGEAI and "library cache folder (EDGEAI_CACHE)" in err and "contains ';'" in err, err


def test_reference_runtime_refuses_io_names_that_are_not_utf8(tmp_path, capsys):
    """LiteRT and onnxruntime cannot hand such a name to Python: `validate` says so instead of crashing."""
    files = [hostile_ad01(tmp_path / "ad01.tflite", {0: b"\xffin"}),
             hostile_onnx(tmp_path / "m.onnx", input=PLACEHOLDER, w1="w1")]
    for path, runtime, name in zip(files, ("LiteRT", "onnxruntime"), (b"\xffin", NOT_UTF8)):
        code, err = cli(capsys, "validate", path, "--target", "host")
        assert code == 2 and f"{runtime} cannot name the tensor {name!r}: the name is not UTF-8" in err, err


@pytest.mark.toolchain
@pytest.mark.skipif(any(shutil.which(t) is None for t in ("cmake", "make", "gcc")), reason="needs cmake, make, gcc")
def test_model_file_name_plants_no_cmake_or_make_line(tmp_path):
    """The integration files' banners name the model: a line break in its file name started a live line there."""
    from edgeai.compile import compile_model

    def library(name: str) -> Path:
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        folder.mkdir()
        (folder / name).write_bytes(tw.write(tw.fully_connected(4, 3)))
        lib = compile_model(folder / name, "host", folder / "lib").path
        _check_library_text(lib)
        return lib

    lib = library("m\nmessage(FATAL_ERROR injected)\n#.tflite")  # the "#" comments out the rest of the line
    project = tmp_path / "cmake_user"
    project.mkdir()
    (project / "CMakeLists.txt").write_text(f'cmake_minimum_required(VERSION 3.13)\nproject(user C)\n'
                                            f'add_subdirectory("{lib}" lib)\n')
    cmake = subprocess.run(["cmake", "-S", str(project), "-B", str(project / "build"), "-Wno-dev"],
                           capture_output=True, text=True)
    assert cmake.returncode == 0, cmake.stderr

    lib = library("m\n$(error injected)\n#.tflite")
    makefile = f"include {lib}/model.mk\nall:\n\t@echo $(EDGEAI_MODEL_SRCS)\n"
    make = subprocess.run(["make", "-s", "-f", "-"], input=makefile,
                          capture_output=True, text=True, cwd=tmp_path)
    assert make.returncode == 0 and "model_model.c" in make.stdout, make.stderr
