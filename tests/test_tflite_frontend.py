"""The TFLite importer on the MLPerf Tiny reference models, and on broken files."""

import pytest

from conftest import FLOAT_TFLITE, INT8_TFLITE, tflite
from edgeai import load
from edgeai.analyze import analyze
from edgeai.errors import ModelError, UnsupportedOpError

# Published MLPerf Tiny MACs per inference (models/README.md).
MACS = {"kws_ref_model": 2.66e6, "vww_96_int8": 7.49e6, "pretrainedResnet_quant": 12.5e6, "ad01_int8": 0.26e6}


@pytest.mark.parametrize("name", INT8_TFLITE + FLOAT_TFLITE)
def test_reference_models_import(name):
    g = load(tflite(name))
    assert g.nodes and len(g.inputs) == 1 and len(g.outputs) == 1
    assert all(len(t.shape) == 0 or min(t.shape) >= 1 for t in g.tensors.values())


@pytest.mark.parametrize("name", INT8_TFLITE)
def test_int8_models_are_fully_quantized_with_the_published_macs(name):
    g = load(tflite(name))
    for t in g.tensors.values():
        if t.dtype == "int8":
            assert t.quant is not None, t.name
    assert analyze(g).model_macs == pytest.approx(MACS[name], rel=0.02)  # the figures have 3 significant digits


def test_kws_structure():
    g = load(tflite("kws_ref_model"))
    assert [n.op for n in g.nodes] == ["conv2d"] + ["depthwise_conv2d", "conv2d"] * 4 + [
        "average_pool2d", "reshape", "fully_connected", "softmax"]
    first = g.nodes[0]
    # 10x4 kernel, stride 2 on 49x10: SAME padding puts the odd row after.
    assert first.attrs["padding"] == (4, 1, 5, 1) and first.attrs["activation"] == "relu"
    w = g.tensor(first.inputs[1])
    assert w.shape == (64, 10, 4, 1) and w.quant.axis == 0 and len(w.quant.scale) == 64


def test_truncated_file_names_the_file(tmp_path):
    data = tflite("kws_ref_model").read_bytes()
    bad = tmp_path / "cut.tflite"
    bad.write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelError, match="cut.tflite"):
        load(bad)


def test_wrong_format_is_named(tmp_path):
    bad = tmp_path / "model.tflite"
    bad.write_bytes(b"GIF89a" + bytes(100))
    with pytest.raises(ModelError, match="model.tflite: neither a TFLite"):
        load(bad)


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="no such model file"):
        load(tmp_path / "absent.tflite")


def test_unsupported_op_is_named_with_its_output(tmp_path):
    # Rename the builtin code of SOFTMAX (25) in the operator-code table to LOG_SOFTMAX (50).
    import tflite as tfl

    data = bytearray(tflite("kws_ref_model").read_bytes())
    model = tfl.Model.GetRootAsModel(data, 0)
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        if code.BuiltinCode() == 25:
            tab = code._tab
            for slot in (4, 10):  # deprecated_builtin_code (int8), builtin_code (int32)
                off = tab.Offset(slot)
                if off:
                    data[tab.Pos + off] = 50
    bad = tmp_path / "logsoftmax.tflite"
    bad.write_bytes(bytes(data))
    with pytest.raises(UnsupportedOpError, match="logsoftmax.tflite: operator #12 LOG_SOFTMAX \\(output 'Identity'\\)"):
        load(bad)
