"""`edgeai validate --per-layer`: every layer's value on the target against LiteRT's reference kernels or
onnxruntime, the first layer that differs named.

A correct library shows no difference (kws on Cortex-M4 under QEMU, an ONNX QDQ file on the host); a library
whose weights of one layer are corrupted at compile time shows that very layer as the first that differs, every
earlier layer bit-exact; a target whose RAM holds only some of the layers' values gets several builds, and a layer that fits no
build is skipped with the reason, never passed.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import model_path, tflite
from edgeai.cli import main
from edgeai.errors import TargetError

VALIDATION_FAILED = 8  # edgeai.errors.ValidationFailed
CORRUPTED = 4  # the kws layer whose weights test_corrupted_weights_name_their_layer changes: its third conv2d

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")


def per_layer(capsys, *argv) -> tuple[int, dict]:
    code = main(["validate", *map(str, argv), "--per-layer", "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


@pytest.mark.slow
@pytest.mark.toolchain
@needs_gcc
def test_corrupted_weights_name_their_layer(capsys, monkeypatch, tmp_path):
    """kws on the host with every weight of layer 4 (a conv2d) raised by 7: layers 0-3 stay bit-exact with
    LiteRT, layer 4 is the first that differs, and the exit status says validation failed."""
    import edgeai.passes as passes

    monkeypatch.setenv("EDGEAI_CACHE", str(tmp_path / "cache"))  # the corrupted library poisons no shared cache
    expose = passes.expose_outputs

    def corrupting(graph, names):
        node = graph.nodes[CORRUPTED]
        assert node.op == "conv2d"
        weights = graph.tensor(node.inputs[1])
        bad = np.clip(weights.data.astype(np.int32) + 7, -127, 127).astype(np.int8)
        graph = graph.replace(tensors={**graph.tensors, weights.name: weights.with_(data=bad)})
        return expose(graph, names)

    monkeypatch.setattr(passes, "expose_outputs", corrupting)
    code, report = per_layer(capsys, tflite("kws_ref_model"), "--count", "2")
    assert code == VALIDATION_FAILED
    layers = report["layers"]
    assert [layer["status"] for layer in layers[:CORRUPTED]] == ["ok"] * CORRUPTED
    assert all(layer["max_abs_error"] == 0 and layer["values"] == 2 * 25 * 5 * 64 for layer in layers[:CORRUPTED])
    first = report["first_differing"]
    assert first["index"] == CORRUPTED and first["op"] == "conv2d" and first["beyond"] > 0
    assert first["max_abs_error"] >= 1 and first["max_abs_error_real"] == pytest.approx(
        first["max_abs_error"] * 0.0374018, rel=1e-4)  # the layer's output scale


@pytest.mark.slow
@pytest.mark.toolchain
@needs_gcc
def test_onnx_qdq_in_two_builds_no_layer_differs(capsys, monkeypatch, tmp_cache):
    """The QDQ ad01 ONNX file on the host, on a 'target' whose RAM holds at most 6 layers' values: the 12 layers
    go in two builds of 6, every value within 1 LSB of both onnxruntime levels, the file's QDQ pairs named as
    fused into their layers. (Both builds are the library of all 12 layers, compiled once: what is tested is the
    split and the merge of the two sessions' values; a build of fewer outputs is the same compile.)"""
    import edgeai.compile

    compile_model, sizes, every = edgeai.compile.compile_model, [], []

    def small_ram(*args, layer_outputs=(), **kwargs):
        sizes.append(len(layer_outputs))
        every[:] = every or layer_outputs
        if len(layer_outputs) > 6:
            raise TargetError(f"{len(layer_outputs)} layers' values do not fit")
        return compile_model(*args, layer_outputs=tuple(every), **kwargs)

    monkeypatch.setattr(edgeai.compile, "compile_model", small_ram)
    code, report = per_layer(capsys, model_path("ad01_fp32_qdq.onnx"), "--count", "3")
    assert code == 0, report
    # all 12 refused, the model alone fits (0: its plain compile), two builds of 6
    assert report["numerics"] == "onnx" and report["builds"] == 2 and sizes == [12, 0, 6, 6]
    layers = report["layers"]
    assert len(layers) == 12 and all(layer["status"] == "ok" and layer["values"] > 0 for layer in layers)
    dense = [layer for layer in layers if layer["op"] == "fully_connected"]
    assert len(dense) == 10 and all({op for op, _ in layer["fused"]} == {"quantize", "dequantize"}
                                    for layer in dense)


def test_a_layer_that_fits_no_build_is_skipped_not_passed(capsys, monkeypatch, tmp_cache):
    """When the model fits the target but no build with a layer's value does, every layer is skipped with the
    reason and validation fails: comparing nothing proves nothing."""
    import edgeai.compile

    compile_model = edgeai.compile.compile_model

    def no_ram(*args, layer_outputs=(), **kwargs):
        if layer_outputs:
            raise TargetError("needs more RAM than the target has")
        return compile_model(*args, **kwargs)

    monkeypatch.setattr(edgeai.compile, "compile_model", no_ram)
    code, report = per_layer(capsys, tflite("kws_ref_model"), "--count", "1")
    assert code == VALIDATION_FAILED and report["builds"] == 0 and not report["passed"]
    assert all(layer["status"] == "skipped" and "even alone: needs more RAM" in layer["skipped"]
               for layer in report["layers"])


def test_a_model_that_does_not_fit_is_refused_at_once(capsys, monkeypatch):
    """A model that does not fit the target even without its layers' values is the target error, exit 4."""
    import edgeai.compile

    calls = []

    def too_big(*args, layer_outputs=(), **kwargs):
        calls.append(len(layer_outputs))
        raise TargetError("needs 1,000,000 bytes of RAM")

    monkeypatch.setattr(edgeai.compile, "compile_model", too_big)
    assert main(["validate", str(tflite("kws_ref_model")), "--per-layer", "--count", "1"]) == 4
    assert calls == [12, 0] and "needs 1,000,000 bytes of RAM" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="needs qemu-system-arm and arm-none-eabi-gcc")
def test_kws_on_cortex_m4_every_layer_bit_exact(capsys, tmp_cache):
    """The firmware under QEMU, its layers read through the serial protocol: all 12 bit-exact with LiteRT, the
    flatten reshape the passes removed named as fused into the fully_connected layer; the table says so."""
    code = main(["validate", str(tflite("kws_ref_model")), "--target", "cortex-m4", "--per-layer", "--count", "2"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "12 of 12 layers compared on 2 input(s), 1 build(s)" in out and "no layer differs" in out
    fc = next(line for line in out.splitlines() if "fully_connected" in line)
    assert "reshape" in fc and fc.rstrip().endswith("ok")
