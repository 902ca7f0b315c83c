"""Bad and hostile input, one case per kind: each gives one clear message naming the file, node or tensor and the
reason, and a non-zero exit code from the `edgeai` command, never a traceback.

Every case goes through `edgeai.cli.main` as a user would; the message is asserted, not just the exit code."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from conftest import model_path, tflite
from edgeai import REPO_ROOT
from edgeai.cli import main
from fuzz import tflite_writer as tw

HAVE_ONNX_FRONTEND = (REPO_ROOT / "edgeai" / "frontends" / "onnx.py").is_file()
needs_onnx = pytest.mark.skipif(not HAVE_ONNX_FRONTEND, reason="edgeai/frontends/onnx.py has not landed yet")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00" + bytes(64)

# Exit codes of edgeai/errors.py
MODEL, UNSUPPORTED, TARGET, DATA = 2, 3, 4, 7


def cli(capsys, *argv) -> tuple[int, str]:
    """Run `edgeai argv...`; returns (exit code, stderr) after checking that it failed cleanly, in one line."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code != 0, f"edgeai {' '.join(map(str, argv))} succeeded on bad input"
    assert "Traceback" not in err and "internal error" not in err, err
    assert err.startswith("edgeai: error: "), err
    return code, err


# -- patching real TFLite models in place -------------------------------------------------------------------
def tflite_kws() -> bytes:
    return tflite("kws_ref_model").read_bytes()


def _model(buf):
    import tflite

    return tflite.Model.GetRootAsModel(bytes(buf), 0)


def _field(table, slot: int) -> int:
    """Absolute position of a table's field (slot numbers as in schema.fbs); the field must be present."""
    o = table._tab.Offset(4 + 2 * slot)
    assert o, f"field {slot} absent"
    return table._tab.Pos + o


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- model files --------------------------------------------------------------------------------------------
def test_truncated_tflite(tmp_path, capsys):
    data = tflite_kws()
    path = write(tmp_path, "kws_cut.tflite", data[: len(data) // 2])
    code, err = cli(capsys, "analyze", path)
    assert code == MODEL
    assert f"{path}: corrupted or truncated TFLite file: an offset points outside its {len(data) // 2:,} bytes" in err


def test_tflite_cut_before_the_identifier(tmp_path, capsys):
    path = write(tmp_path, "stub.tflite", tflite_kws()[:6])
    code, err = cli(capsys, "compile", path, "-o", tmp_path / "lib")
    assert code == MODEL and f"{path}: neither a TFLite file" in err
    assert not (tmp_path / "lib").exists()


def test_corrupted_offset_in_the_middle(tmp_path, capsys):
    """The subgraphs vector offset (mid-file pointer) aims past the end of the file."""
    buf = bytearray(tflite_kws())
    pos = _field(_model(buf), 2)  # Model.subgraphs
    struct.pack_into("<I", buf, pos, 0x7FFFFF00)
    path = write(tmp_path, "kws_bad_offset.tflite", bytes(buf))
    code, err = cli(capsys, "analyze", path)
    assert code == MODEL
    assert f"{path}: corrupted or truncated TFLite file: an offset points outside its {len(buf):,} bytes" in err


def test_corrupted_constant_size(tmp_path, capsys):
    """A weight buffer whose length no longer matches its tensor's shape is named."""
    buf = bytearray(tflite_kws())
    m = _model(buf)
    t = m.Subgraphs(0).Tensors(16)  # functional_1/dense/MatMul, int8 [12, 64]
    data = m.Buffers(t.Buffer())
    vec = data._tab.Vector(data._tab.Offset(4))
    struct.pack_into("<I", buf, vec - 4, 12 * 64 - 1)  # the vector's length prefix
    path = write(tmp_path, "kws_short_weights.tflite", bytes(buf))
    code, err = cli(capsys, "analyze", path)
    assert code == MODEL
    assert f"{path}: constant 'functional_1/dense/MatMul' holds 767 bytes, its shape [12, 64] needs 768" in err


@pytest.mark.parametrize("suffix", [".tflite", ".onnx"])
def test_png_renamed_as_a_model(tmp_path, capsys, suffix):
    if suffix == ".onnx" and not HAVE_ONNX_FRONTEND:
        pytest.skip("edgeai/frontends/onnx.py has not landed yet")
    path = write(tmp_path, f"cat{suffix}", PNG)
    code, err = cli(capsys, "analyze", path)
    assert code == MODEL and str(path) in err
    if suffix == ".tflite":
        assert f"{path}: neither a TFLite file (no 'TFL3' at byte 4) nor an ONNX file" in err
    else:
        assert f"{path}: not a readable ONNX file" in err


def test_directory_and_missing_file(tmp_path, capsys):
    assert cli(capsys, "analyze", tmp_path)[1] == f"edgeai: error: {tmp_path}: no such model file\n"
    assert cli(capsys, "analyze", tmp_path / "nope.tflite")[0] == MODEL


COMMANDS = {"compile": lambda model, x: ["compile", model], "run": lambda model, x: ["run", model, "--input", x],
            "validate": lambda model, x: ["validate", model], "bench": lambda model, x: ["bench", "--per-layer", model]}


@pytest.mark.parametrize("command", COMMANDS)
def test_missing_model_or_folder_on_the_cached_path(tmp_cache, tmp_path, capsys, command):
    """Without -o the cache key is computed from the model file first: the same message as `analyze` gives."""
    np.save(tmp_path / "x.npy", np.zeros((1, 640), np.int8))
    for model in (tmp_path / "absent.tflite", tmp_path):
        code, err = cli(capsys, *COMMANDS[command](model, tmp_path / "x.npy"))
        assert code == MODEL and err == f"edgeai: error: {model}: no such model file\n", err


def test_dynamic_non_batch_dimension(tmp_path, capsys):
    buf = bytearray(tflite_kws())
    t = _model(buf).Subgraphs(0).Tensors(0)  # input_1, shape_signature [-1, 49, 10, 1]
    vec = t._tab.Vector(t._tab.Offset(4 + 2 * 7))
    struct.pack_into("<i", buf, vec + 4 * 2, -1)  # width unknown
    path = write(tmp_path, "kws_dynamic.tflite", bytes(buf))
    code, err = cli(capsys, "compile", path, "-o", tmp_path / "lib")
    assert code == MODEL
    assert (f"{path}: tensor 'input_1' has dynamic dimension(s) [2] in [-1, 49, -1, 1]; only the batch dimension "
            f"may be dynamic") in err


def test_dynamic_batch_dimension_is_accepted(tmp_path, capsys):
    buf = bytearray(tflite_kws())
    t = _model(buf).Subgraphs(0).Tensors(0)
    struct.pack_into("<i", buf, t._tab.Vector(t._tab.Offset(4 + 2 * 7)), -1)
    assert main(["analyze", str(write(tmp_path, "kws_batch.tflite", bytes(buf))), "--json"]) == 0
    capsys.readouterr()


def test_unsupported_builtin_op(tmp_path, capsys):
    """The final SOFTMAX turned into an LSTM: the op, its index and its output tensor are named."""
    buf = bytearray(tflite_kws())
    m = _model(buf)
    code = next(m.OperatorCodes(i) for i in range(m.OperatorCodesLength()) if m.OperatorCodes(i).DeprecatedBuiltinCode() == 25)
    buf[_field(code, 0)] = 16  # LSTM
    path = write(tmp_path, "kws_lstm.tflite", bytes(buf))
    code, err = cli(capsys, "analyze", path)
    assert code == UNSUPPORTED
    assert f"{path}: operator #12 LSTM (output 'Identity') is not supported" in err


def test_unsupported_custom_ops_are_all_listed(tmp_path, capsys):
    m = tw.fully_connected(8, 4)
    m.tensors += [tw.T("h", (1, 4)), tw.T("z", (1, 4))]
    m.ops += [tw.Op("MyNormalize", [3], [4], custom_options=b"\x01\x02"), tw.Op("FlexEinsum", [4], [5])]
    m.outputs = [5]
    path = write(tmp_path, "custom.tflite", tw.write(m))
    code, err = cli(capsys, "compile", path, "-o", tmp_path / "lib")
    assert code == UNSUPPORTED
    assert f"{path}: operator #1 custom operator 'MyNormalize' (output 'h') is not supported" in err
    assert f"{path}: operator #2 custom operator 'FlexEinsum' (output 'z') is not supported" in err


@pytest.mark.parametrize("kind, tag", [("FLOAT16", tw.FLOAT16), ("STRING", tw.STRING), ("FLOAT64", 10)])
def test_unsupported_dtype(tmp_path, capsys, kind, tag):
    buf = bytearray(tflite_kws())
    t = _model(buf).Subgraphs(0).Tensors(0)
    buf[_field(t, 1)] = tag  # input_1's type
    path = write(tmp_path, f"kws_{kind}.tflite", bytes(buf))
    code, err = cli(capsys, "analyze", path)
    assert code == MODEL
    assert f"{path}: tensor 'input_1' has unsupported type {kind}; supported: bool, float32, int16" in err


def test_weights_too_large_for_cortex_m4(tmp_path, capsys):
    path = write(tmp_path, "big_dense.tflite", tw.write(tw.fully_connected(1000, 600)))  # 2.4 MB of float weights
    code, err = cli(capsys, "compile", path, "--target", "cortex-m4", "-o", tmp_path / "lib")
    assert code == TARGET
    assert re.search(rf"{re.escape(str(path))}: needs [\d,]+ bytes of flash \(weights as stored 2,402,400 \+ .*target "
                     rf"cortex-m4 has 2,097,152; layer '[^']+' tips it over \(its weights 2,402,400 bytes, the largest "
                     rf"a float32\[600,000\] array", err), err
    assert not (tmp_path / "lib").exists() and list(tmp_path.iterdir()) == [path]


def test_activations_too_large_for_cortex_m4(tmp_path, capsys):
    path = write(tmp_path, "big_add.tflite", tw.write(tw.add((1, 300, 300, 1))))  # 3 x 360 kB float tensors
    code, err = cli(capsys, "compile", path, "--target", "cortex-m4", "-o", tmp_path / "lib")
    assert code == TARGET
    from edgeai.targets import load_target

    statics = load_target("cortex-m4").footprint["static_ram_bytes"]  # measured on linked firmwares
    total = 720_000 + 360_000 + 32_768 + statics
    assert f"{path}: needs {total:,} bytes of RAM (arena 0 + input 720,000 + output 360,000 + stack 32,768" in err
    assert "target cortex-m4 has 655,360; the stack, runtime statics, input and output alone take" in err
    assert "(the largest of these tensors is 'x', 360,000 bytes)" in err


def test_unknown_target(tmp_path, capsys):
    code, err = cli(capsys, "compile", tflite("ad01_int8"), "--target", "cortex-m0", "-o", tmp_path / "lib")
    assert code == TARGET and "cortex-m0" in err


# -- ONNX (through edgeai.load, once the frontend lands) ------------------------------------------------------
def _onnx_save(tmp_path, name, graph, opset=17) -> Path:
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="edgeai-tests")
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


@needs_onnx
def test_truncated_onnx(tmp_path, capsys):
    data = model_path("kws_ref_model_float32.onnx").read_bytes()
    path = write(tmp_path, "kws_cut.onnx", data[: len(data) // 2])
    code, err = cli(capsys, "analyze", path)
    assert code == MODEL and f"{path}: not a readable ONNX file" in err


@needs_onnx
def test_onnx_einsum_is_unsupported(tmp_path, capsys):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Einsum", ["a", "b"], ["c"], name="contract", equation="ij,jk->ik")], "einsum",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [4, 8]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, [8, 2])],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [4, 2])])
    path = _onnx_save(tmp_path, "einsum.onnx", graph)
    code, err = cli(capsys, "analyze", path)
    assert code == UNSUPPORTED and f"{path}: node 'contract': operator Einsum is not supported" in err


@needs_onnx
def test_onnx_dynamic_non_batch_dimension(tmp_path, capsys):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")], "dyn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "height", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, "height", 8])])
    path = _onnx_save(tmp_path, "dynamic.onnx", graph)
    code, err = cli(capsys, "analyze", path)
    assert code == MODEL and f"{path}: input 'x' has dynamic dimension 2 (height)" in err


@needs_onnx
def test_onnx_string_tensor_is_unsupported(tmp_path, capsys):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["s"], ["t"], name="id")], "strings",
        [helper.make_tensor_value_info("s", TensorProto.STRING, [1, 4])],
        [helper.make_tensor_value_info("t", TensorProto.STRING, [1, 4])])
    path = _onnx_save(tmp_path, "strings.onnx", graph)
    code, err = cli(capsys, "analyze", path)
    assert code in (MODEL, UNSUPPORTED) and f"{path}: tensor 's' has unsupported element type" in err


@needs_onnx
def test_onnx_weights_too_large_for_cortex_m4(tmp_path, capsys):
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((1000, 600), np.float32), "dense_weights")
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "dense_weights"], ["y"], name="dense")], "big",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1000])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 600])], initializer=[w])
    path = _onnx_save(tmp_path, "big_gemm.onnx", graph)
    code, err = cli(capsys, "compile", path, "--target", "cortex-m4", "-o", tmp_path / "lib")
    assert code == TARGET and re.search(r"target cortex-m4 has 2,097,152; layer 'dense' tips it over \(its weights "
                                        r"2,402,400 bytes, the largest a float32\[600,000\] array", err), err
    assert not (tmp_path / "lib").exists()


# -- input data ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def npy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")

    def save(name, array):
        path = folder / name
        np.save(path, array)
        return path
    return save


@pytest.fixture(scope="module")
def ad01(tmp_cache):
    return tflite("ad01_int8")  # input_1: int8 [1, 640], scale 0.391, zero point 89


@pytest.mark.toolchain
@pytest.mark.parametrize("array, message", [
    (np.zeros((1, 640), np.float32),
     "input 'input_1' must be int8, got float32 (quantize real values first: round(x / 0.391015) + 89"),
    (np.zeros((1, 64, 10), np.int8), "input 'input_1' must have shape [1, 640], got [1, 64, 10]"),
    (np.zeros((640,), np.int8), "input 'input_1' must have shape [1, 640], got [640]"),
    (np.full((1, 640), 300, np.int64),
     "input 'input_1' is int8: values must lie in [-128, 127], got int64 values from 300 to 300"),
    (np.arange(-200, 440, dtype=np.int16).reshape(1, 640),
     "input 'input_1' is int8: values must lie in [-128, 127], got int16 values from -200 to 439"),
], ids=["float-for-int8", "shape", "no-batch", "int64-out-of-range", "int16-out-of-range"])
def test_run_refuses_bad_input_arrays(ad01, npy, capsys, array, message):
    code, err = cli(capsys, "run", ad01, "--input", npy("x.npy", array))
    assert code == DATA and message in err


@pytest.mark.toolchain
def test_run_accepts_in_range_wider_integers(ad01, npy, capsys):
    x = np.random.default_rng(0).integers(-128, 128, (1, 640))
    assert main(["run", str(ad01), "--input", str(npy("wide.npy", x)), "--json"]) == 0
    assert main(["run", str(ad01), "--input", str(npy("narrow.npy", x.astype(np.int8))), "--json"]) == 0
    text, decoder = capsys.readouterr().out, json.JSONDecoder()
    first, end = decoder.raw_decode(text)
    second, _ = decoder.raw_decode(text[end:].lstrip())
    assert first["outputs"] == second["outputs"]


@pytest.mark.toolchain
@pytest.mark.parametrize("value, count", [(np.nan, 1), (np.inf, 3)])
def test_run_refuses_nan_and_inf(tmp_cache, npy, capsys, value, count):
    x = np.zeros((1, 640), np.float32)
    x[0, 5:5 + count] = value
    code, err = cli(capsys, "run", tflite("ad01_fp32"), "--input", npy("nan.npy", x))
    assert code == DATA and f"input 'input_1' holds {count} NaN or infinite value(s), the first at index (0, 5)" in err


@pytest.mark.toolchain
def test_run_refuses_a_file_that_is_not_npy(ad01, tmp_path, capsys):
    path = write(tmp_path, "x.csv", b"1,2,3\n")
    code, err = cli(capsys, "run", ad01, "--input", path)
    assert code == DATA and err.startswith(f"edgeai: error: {path}: not a readable .npy file (")
    code, err = cli(capsys, "run", ad01, "--input", write(tmp_path, "empty.npy", b""))
    assert code == DATA and "empty.npy: not a readable .npy file (" in err
    np.savez(tmp_path / "both.npz", a=np.zeros(3))
    code, err = cli(capsys, "run", ad01, "--input", tmp_path / "both.npz")
    assert code == DATA and "both.npz: an .npz archive; give one .npy file per model input" in err
    code, err = cli(capsys, "run", ad01, "--input", tmp_path / "absent.npy")
    assert code == DATA and "absent.npy: not a readable .npy file" in err


@pytest.mark.toolchain
def test_run_refuses_the_wrong_number_of_inputs(ad01, npy, capsys):
    x = npy("ok.npy", np.zeros((1, 640), np.int8))
    code, err = cli(capsys, "run", ad01, "--input", x, "--input", x)
    assert code == DATA and "2 input(s) given, the model takes 1" in err


def _npy_claiming(path: Path, shape: tuple[int, ...], data_bytes: int) -> Path:
    """An .npy file whose header claims int8 `shape`, followed by `data_bytes` (a sparse hole) of data."""
    from numpy.lib import format as npy

    with open(path, "wb") as f:
        npy.write_array_header_1_0(f, {"descr": "|i1", "fortran_order": False, "shape": shape})
        f.truncate(f.tell() + data_bytes)
    return path


@pytest.mark.toolchain
def test_npy_header_claiming_a_trillion_elements(ad01, tmp_path, capsys):
    """numpy would allocate what the header claims (931 GiB) before finding the file short: checked first."""
    forged = _npy_claiming(tmp_path / "forged.npy", (1, 10**12), 640)
    code, err = cli(capsys, "run", ad01, "--input", forged)
    assert code == DATA and err == (f"edgeai: error: {forged}: its header claims int8 [1, 1000000000000] "
                                    f"(1,000,000,000,000 elements, 1,000,000,000,000 bytes) but the file holds 640 "
                                    f"bytes of data: truncated or forged\n"), err
    # As big as it claims (a sparse file): still never read, for the model's input takes 640 elements.
    huge = _npy_claiming(tmp_path / "huge.npy", (1, 10**12), 10**12)
    code, err = cli(capsys, "run", ad01, "--input", huge)
    assert code == DATA and err == (f"edgeai: error: {huge}: holds int8 [1, 1000000000000] (1,000,000,000,000 "
                                    f"elements); {ad01}: input 'input_1' takes [1, 640] (640 elements)\n"), err


def test_object_arrays_are_not_unpickled(npy, tmp_path, capsys):
    path = tmp_path / "obj.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    code, err = cli(capsys, "run", tflite("ad01_int8"), "--input", path)
    assert code == DATA and "Object arrays cannot be loaded when allow_pickle=False" in err


# Calibration data: edgeai has no quantizer yet (DESIGN.md: edgeai/quantize); its checks come with it.


@pytest.mark.parametrize("bias_len", [3, 9])
def test_a_conv_bias_without_one_value_per_channel_is_refused(tmp_path, capsys, bias_len):
    """A CONV_2D whose bias is shorter than its output channels made the kernel read past the bias array."""
    rng = np.random.default_rng(5)
    t = [tw.T("x", (1, 4, 4, 2), tw.INT8, scale=0.1, zero_point=0),
         tw.T("w", (6, 1, 1, 2), tw.INT8, rng.integers(-127, 128, (6, 1, 1, 2), dtype=np.int8), 0.02, 0),
         tw.T("short_bias", (bias_len,), tw.INT32, rng.integers(-50, 50, bias_len, dtype=np.int32), 0.002, 0),
         tw.T("y", (1, 4, 4, 6), tw.INT8, scale=0.2, zero_point=0)]
    options = ((0, "u8", 1), (1, "i32", 1), (2, "i32", 1))
    model = write(tmp_path, "bias.tflite", tw.write(tw.Model(t, [tw.Op(3, [0, 1, 2], [3], 1, options=options)],
                                                             [0], [3])))
    rc, err = cli(capsys, "compile", str(model), "--target", "host", "-o", str(tmp_path / "lib"))
    assert rc != 0 and "bias" in err and f"[{bias_len}]" in err and "one value per output channel (6)" in err
    assert "Traceback" not in err and not (tmp_path / "lib").exists()
