"""The bin-parts worked example (examples/bin_parts): data generator and the end-to-end run on QEMU (slow); the
safety-zones example has its own tests in tests/test_safety_zones.py. Both shipped models are checked here."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from examples.bin_parts import data as parts  # noqa: E402
from examples.bin_parts import fomo, scenes  # noqa: E402


# --- data generators -------------------------------------------------------------------------------------------

def test_bin_parts_generator_is_deterministic():
    a, la = parts.generate("test", 12)
    b, lb = parts.generate("test", 12)
    assert a.shape == (12, 32, 32, 1) and a.dtype == np.float32
    assert np.array_equal(a, b) and np.array_equal(la, lb)
    # a sample depends on its split and index only, not on how many were asked for
    c, _ = parts.generate("test", 6)
    assert np.array_equal(a[:6], c)
    d, _ = parts.generate("train", 6)
    assert not np.array_equal(c, d)
    assert 0.0 <= a.min() and a.max() <= 1.0
    assert list(la) == [i % len(parts.CLASSES) for i in range(12)]


def test_bin_parts_classes_differ_from_empty():
    x, y = parts.generate("val", 60)
    empty = x[y == parts.CLASSES.index("empty")]
    washers = x[y == parts.CLASSES.index("washer")]
    # a part adds a bright region of tens of pixels; the empty bin only has small clutter
    assert (washers > washers.mean(axis=(1, 2, 3), keepdims=True) + 0.2).sum(axis=(1, 2, 3)).min() > \
        np.median((empty > empty.mean(axis=(1, 2, 3), keepdims=True) + 0.2).sum(axis=(1, 2, 3)))


def test_bin_scenes_are_deterministic_with_separate_centroids():
    a, la = scenes.generate("test", 8)
    b, lb = scenes.generate("test", 8)
    assert a.shape == (8, 96, 96, 1) and a.dtype == np.float32 and 0.0 <= a.min() and a.max() <= 1.0
    assert np.array_equal(a, b) and np.array_equal(la, lb)
    c, lc = scenes.generate("test", 3)
    assert np.array_equal(a[:3], c) and np.array_equal(la[:3], lc)
    assert not np.array_equal(scenes.generate("train", 3)[0], c)
    counts = [len(scenes.parts_of(rows)) for rows in la]
    assert min(counts) >= 1 and max(counts) <= scenes.MAX_PARTS and len(set(counts)) > 1
    for rows in la:
        parts_here = scenes.parts_of(rows)
        for k, (c, x, y) in enumerate(parts_here):
            assert 0 <= c < len(scenes.CLASSES) and 0 < x < 96 and 0 < y < 96
            assert all(np.hypot(x - x2, y - y2) >= scenes.MIN_GAP_PX for _, x2, y2 in parts_here[k + 1:])
    target = scenes.fomo_target(la)
    assert target.shape == (8, 12, 12) and (target > 0).sum() == sum(counts)


def test_fomo_decode_finds_the_true_centroids_of_a_perfect_cell_map():
    _, labels = scenes.generate("val", 20)
    target = scenes.fomo_target(labels)
    probs = np.eye(1 + len(scenes.CLASSES), dtype=np.float32)[target]  # one-hot: what a perfect model outputs
    s = fomo.score(probs, labels)
    total = sum(len(scenes.parts_of(rows)) for rows in labels)
    assert s["all"]["overall"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "tp": total, "fp": 0, "fn": 0}
    assert s["reject_rate"] == 0.0 and s["bins_all_right"] == 1.0
    # one part's cell at 0.6 (detected but below the accept threshold: its bin goes to a human); another
    # part's cell wiped out (a miss) and a spurious cell far from any part (a false positive)
    weak = probs.copy()
    i, j = np.argwhere(target[0] > 0)[0]
    weak[0, i, j] = 0.0
    weak[0, i, j, 0], weak[0, i, j, target[0, i, j]] = 0.4, 0.6
    i, j = np.argwhere(target[1] > 0)[0]
    weak[1, i, j] = np.eye(6)[0]
    free = np.argwhere(target[2] == 0)
    far = next((a, b) for a, b in free if all(np.hypot((b + .5) * 8 - x, (a + .5) * 8 - y) > 20
                                              for _, x, y in scenes.parts_of(labels[2])))
    weak[2, far[0], far[1]] = np.eye(6)[1]
    s = fomo.score(weak, labels)
    assert s["all"]["overall"]["tp"] == total - 1 and s["all"]["overall"]["fn"] == 1
    assert s["all"]["overall"]["fp"] == 1 and s["all"]["per_class"]["bolt"]["fp"] == 1
    assert s["reject_rate"] == 1 / 20 and s["accepted"]["overall"]["tp"] == total - 1 - len(
        scenes.parts_of(labels[0]))


# --- end to end: quantize, compile, QEMU (slow) ----------------------------------------------------------------

needs_qemu = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("arm-none-eabi-gcc", "qemu-system-arm", "cmake", "gcc")),
    reason="needs arm-none-eabi-gcc, qemu-system-arm, cmake and gcc")


def test_shipped_models_are_small_and_static():
    import onnx

    for path, shape in ((REPO / "examples/bin_parts/model.onnx", [1, 32, 32, 1]),
                        (REPO / "examples/safety_zones/model.onnx", [1, 8, 8, 1])):
        assert path.stat().st_size < 200_000
        m = onnx.load(str(path))
        assert m.opset_import[0].version == 13
        assert [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim] == shape
    from edgeai.runtime.reference import LiteRTSession

    fomo_model = REPO / "examples/bin_parts/fomo_int8.tflite"
    assert fomo_model.stat().st_size < 200_000
    ref = LiteRTSession(fomo_model)
    assert [(t.dtype, t.shape) for t in ref.inputs] == [("int8", (1, 96, 96, 1))]
    assert [(t.dtype, t.shape) for t in ref.outputs] == [("int8", (1, 12, 12, 1 + len(scenes.CLASSES)))]


@pytest.mark.slow
def test_bin_parts_int8_accuracy_within_one_point():
    """edgeai.quantize on the shipped model: the int8 QDQ model within 1 percentage point of float on all 600
    held-out images (onnxruntime runs both), with the observer run.py uses."""
    from examples.bin_parts import run
    from examples.common import onnx_outputs, quantize_model, write_calibration

    x, y = parts.generate("test", run.TEST_COUNT)
    calib = write_calibration(run.DATA / "calibration", parts.generate("val", run.CALIBRATION_COUNT)[0])
    qdq = quantize_model(run.SHIPPED, calib, run.DATA / "test_int8.onnx", observer="percentile").path
    acc_f = (onnx_outputs(run.SHIPPED, x).argmax(1) == y).mean()
    acc_q = (onnx_outputs(qdq, x).argmax(1) == y).mean()
    assert acc_f > 0.8
    assert acc_f - acc_q <= 0.01, (acc_f, acc_q)


@pytest.mark.slow
@pytest.mark.qemu
@needs_qemu
def test_bin_parts_end_to_end_on_qemu():
    from examples.bin_parts import run

    r = run.main(["--samples", "60", "--also", ""], log=lambda *_: None)
    assert abs(r["int8_qdq_minus_float_pp_all"]) <= 1.0
    acc = r["accuracy"]
    assert acc["int8 on cortex-m4 (QEMU)"] > 0.8
    d = r["device"]
    assert d["instructions"] > 100_000 and d["memory"]["flash_bytes"] > 0 and d["estimate"]["energy_mj"] > 0


@pytest.mark.slow
@pytest.mark.qemu
@needs_qemu
def test_bin_parts_fomo_on_qemu_is_bit_exact_with_litert():
    """The shipped int8 FOMO detector on 4 held-out 96x96 bins on cortex-m7 (QEMU): every cell map the device
    returns equals LiteRT's (reference kernels) byte for byte, and the parts decoded from the device's maps are
    found where the generator put them."""
    from examples.bin_parts import run_fomo

    r = run_fomo.main(["--bins", "4", "--targets", "cortex-m7"], log=lambda *_: None)
    t = r["targets"]["cortex-m7"]
    assert t["bit_exact_vs_litert"] == 4
    assert t["instructions"] > 1_000_000 and 0 < t["memory"]["flash_bytes"] < 1_048_576
    assert t["memory"]["arena_bytes"] < t["memory"]["ram_bytes"] < 327_680
    found = t["detections"]["all"]["overall"]
    truth = sum(len(scenes.parts_of(rows)) for rows in scenes.generate("test", 4)[1])
    assert found["tp"] + found["fn"] == truth
    assert found["recall"] >= 0.7 and found["precision"] >= 0.7, found
    assert t["detections"]["all"] == r["litert_all"]["all"]
