"""Real models from the field: the shapes and file kinds that broke on MobileNet/EfficientNet heads, MediaPipe's
float16 weights, TFLite hybrid models and unrolled recurrent ONNX graphs. Each model here is written small, but
with the property the field model has (1,280 channels, fp16 weights + DEQUANTIZE, int8 weights under float
activations, dozens of unsupported nodes), and checked against LiteRT / onnxruntime."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import tflite_writer as tw  # noqa: E402

from edgeai.compile import compile_model  # noqa: E402
from edgeai.runtime.host import HostSession  # noqa: E402
from edgeai.runtime.reference import LiteRTSession, OnnxRuntimeSession  # noqa: E402

MEAN, DEQUANTIZE, FULLY_CONNECTED = 40, 6, 9
REDUCER_OPTIONS, FULLY_CONNECTED_OPTIONS = 27, 8


def _close(got, want, rel=1e-5):
    span = float(np.abs(want).max()) or 1.0
    assert np.abs(got - want).max() <= rel * span, f"max error {np.abs(got - want).max()} (span {span})"


# -- 1. float MEAN / global average pool over 256 or more channels ---------------------------------------------

def _tflite_head(path: Path, channels: int) -> Path:
    """An EfficientNet-style head: MEAN over H and W of a float (1, 7, 7, C) feature map, keepdims off."""
    m = tw.Model(tensors=[tw.T("features", (1, 7, 7, channels)), tw.T("axes", (2,), tw.INT32, np.array([1, 2], np.int32)),
                          tw.T("pooled", (1, channels))],
                 ops=[tw.Op(MEAN, [0, 1], [2], options_type=REDUCER_OPTIONS, options=((0, "u8", 0),))],
                 inputs=[0], outputs=[2])
    path.write_bytes(tw.write(m))
    return path


@pytest.mark.toolchain
def test_float_mean_over_1280_channels_matches_litert(tmp_path, tmp_cache):
    path = _tflite_head(tmp_path / "head_1280.tflite", 1280)
    session = HostSession(compile_model(path, "host", tmp_path / "lib").path)
    x = np.random.default_rng(1).uniform(-4, 4, (1, 7, 7, 1280)).astype(np.float32)
    got, want = session.run([x])[0], LiteRTSession(path).run([x])[0]
    assert got.shape == want.shape == (1, 1280)
    _close(got, want)


@pytest.mark.toolchain
def test_float_reduce_mean_over_1280_channels_matches_onnxruntime(tmp_path, tmp_cache):
    """A squeeze-excite block's squeeze as tf2onnx writes it: ReduceMean over H and W (GlobalAveragePool is an
    average pool here, which never had the problem)."""
    graph = helper.make_graph([helper.make_node("ReduceMean", ["x"], ["y"], axes=[2, 3], keepdims=0)], "squeeze",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1280, 7, 7])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1280])])
    path = tmp_path / "gap_1280.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    session = HostSession(compile_model(path, "host", tmp_path / "lib").path)
    x = np.random.default_rng(2).uniform(-4, 4, (1, 1280, 7, 7)).astype(np.float32)
    _close(session.run([x])[0], OnnxRuntimeSession(path).run([x])[0])
