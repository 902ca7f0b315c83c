"""No silent performance cliffs: a layer the Cortex-M kernels decline runs on a generic (TVM) kernel, and compile
and the per-layer bench name it with the reason and its share of the model's cost.

The model: a 3x3 int8 depthwise conv with depth multiplier 2 (the Cortex-M depthwise kernels take multiplier 1
only; a conv of any window or dilation has a fast kernel, tests/test_conv_tiled.py) followed by a 1x1 conv the fast
kernel takes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeai.cli import main
from fuzz import tflite_writer as tw

pytestmark = [pytest.mark.slow, pytest.mark.toolchain]

CONV_2D, CONV_2D_OPTIONS, DEPTHWISE_CONV_2D, DEPTHWISE_OPTIONS, VALID = 3, 1, 4, 2, 1
H, C, K, MULT, O2 = 8, 16, 3, 2, 64
O1, M = C * MULT, H - K + 1  # the depthwise layer's output channels and side
FAST_OPS = ("conv2d", "depthwise_conv2d", "fully_connected", "add")  # int8 ops with a Cortex-M DSP kernel


def _depthwise_then_pointwise(path):
    rng = np.random.default_rng(3)
    s_in, s_w, s_mid, s_out = 0.05, 0.01, 0.2, 0.3
    t = [tw.T("x", (1, H, H, C), tw.INT8, scale=s_in, zero_point=-3),
         tw.T("wide/w", (1, K, K, O1), tw.INT8, rng.integers(-127, 128, (1, K, K, O1), dtype=np.int8), s_w, 0),
         tw.T("wide/b", (O1,), tw.INT32, rng.integers(-500, 500, O1, dtype=np.int32), s_in * s_w, 0),
         tw.T("mid", (1, M, M, O1), tw.INT8, scale=s_mid, zero_point=5),
         tw.T("point/w", (O2, 1, 1, O1), tw.INT8, rng.integers(-127, 128, (O2, 1, 1, O1), dtype=np.int8), s_w, 0),
         tw.T("point/b", (O2,), tw.INT32, rng.integers(-500, 500, O2, dtype=np.int32), s_mid * s_w, 0),
         tw.T("y", (1, M, M, O2), tw.INT8, scale=s_out, zero_point=-1)]
    options = ((0, "u8", VALID), (1, "i32", 1), (2, "i32", 1))
    ops = [tw.Op(DEPTHWISE_CONV_2D, [0, 1, 2], [3], DEPTHWISE_OPTIONS, options=options + ((3, "i32", MULT),)),
           tw.Op(CONV_2D, [3, 4, 5], [6], CONV_2D_OPTIONS, options=options)]
    path.write_bytes(tw.write(tw.Model(t, ops, [0], [6])))
    return path


def test_compile_names_the_layer_on_a_generic_kernel_with_its_share(tmp_path, tmp_cache, capsys):
    model = _depthwise_then_pointwise(tmp_path / "wide.tflite")
    out = tmp_path / "lib"
    assert main(["compile", str(model), "--target", "cortex-m4", "-o", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    layers = json.loads((out / "model.json").read_text())["layers"]
    assert [layer["op"] for layer in layers] == ["depthwise_conv2d", "conv2d"]
    wide_macs, point_macs = M ** 2 * O1 * K * K, M ** 2 * O2 * O1
    assert [layer["macs"] for layer in layers] == [wide_macs, point_macs]
    # The second layer is on a hand-written DSP kernel (a 1x1 over 32 channels) and is not reported; the first is
    # on TVM's and is.
    assert layers[1]["symbol"].startswith("edgeai_") and not layers[0]["symbol"].startswith("edgeai_")
    [row] = result["generic_kernels"]
    assert row["index"] == 0 and row["node"] == layers[0]["node"] and row["of"] == "MACs"
    assert row["share"] == pytest.approx(wide_macs / (wide_macs + point_macs))
    assert f"depth multiplier {MULT}" in row["reason"]

    assert main(["compile", str(model), "--target", "cortex-m4", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    line = next(x for x in text.splitlines() if x.startswith("generic kernel:"))
    assert repr(layers[0]["node"]) in line and f"{100 * row['share']:.1f}% of the MACs" in line
    assert sum(x.startswith("generic kernel:") for x in text.splitlines()) == 1


def test_every_fallback_of_a_mlperf_model_is_reported(tmp_cache):
    """Every int8 layer of an op with a DSP kernel that ended on another kernel carries its reason."""
    from conftest import tflite
    from edgeai.compile import compile_model

    for name in ("ad01_int8", "kws_ref_model"):
        for layer in compile_model(tflite(name), "cortex-m4").desc["layers"]:
            generic = layer["op"] in FAST_OPS and not layer["symbol"].startswith("edgeai_")
            assert generic == ("generic_kernel" in layer), layer


@pytest.mark.qemu
def test_per_layer_bench_gives_the_generic_layers_share_of_the_instructions(tmp_path, tmp_cache):
    from edgeai.bench.per_layer import format_table, per_layer_instructions
    from edgeai.compile import compile_model

    lib = compile_model(_depthwise_then_pointwise(tmp_path / "wide.tflite"), "cortex-m4", tmp_path / "lib").path
    rows = per_layer_instructions(lib, "cortex-m4")
    share = rows[0]["instructions"] / sum(r["instructions"] for r in rows)
    [line] = [x for x in format_table(rows).splitlines() if x.startswith("generic kernel:")]
    assert repr(rows[0]["node"]) in line and f"{100 * share:.1f}% of the instructions" in line
