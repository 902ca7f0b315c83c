"""The two worked examples (examples/bin_parts, examples/safety_zones): data generators, the ISO 13855 zone
logic (Python mirror and C), and the end-to-end runs on QEMU (slow)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from examples.bin_parts import data as parts  # noqa: E402
from examples.safety_zones import data as tof  # noqa: E402
from examples.safety_zones import zones  # noqa: E402
from examples.safety_zones.zones import FREE, STOP, WARNING  # noqa: E402

FIRMWARE = REPO / "examples" / "safety_zones" / "firmware"


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


def test_safety_generator_is_deterministic():
    a, b = tof.generate("test", 20), tof.generate("test", 20)
    for key in a:
        assert np.array_equal(a[key], b[key])
    assert a["frames"].shape == (20, 8, 8) and a["frames"].dtype == np.uint16
    assert np.array_equal(tof.generate("test", 5)["frames"], a["frames"][:5])
    s1, s2 = tof.generate_sequences("test", 2, 10), tof.generate_sequences("test", 2, 10)
    assert np.array_equal(s1["frames"], s2["frames"]) and s1["frames"].shape == (2, 10, 8, 8)
    assert a["frames"].max() <= tof.MAX_RANGE_MM


def test_safety_person_range_matches_distance():
    """A person standing square in front at D: the central zones read about D (range along the ray)."""
    rng = np.random.default_rng(1)
    for d in (0.5, 1.5, 3.0):
        scene = {"height": 0.9, "wall": 6.0, "dropout": 0.0,
                 "person": {"d": d, "x": 0.0, "w": 0.5, "top": 1.8}}
        frame, visible = tof.render(scene, rng)
        assert visible
        centre = frame[3:5, 3:5].astype(float)
        assert np.all(np.abs(centre - d * 1000) < 0.05 * d * 1000 + 40), (d, centre)
    empty, visible = tof.render({"height": 0.9, "wall": 6.0, "dropout": 0.0}, rng)
    assert not visible and (empty[:4] == 0).all()  # the wall at 6 m is out of range; the floor shows below


# --- ISO 13855 separation distance: worked examples computed by hand ---------------------------------------------

@pytest.mark.parametrize("t_us, d_mm, expected", [
    # d = 14 mm light curtain, T = 100 ms: 2000 x 0.1 + 8 x 0 = 200 mm (<= 500 mm, >= 100 mm: kept)
    (100_000, 14, 200),
    # d = 30 mm, T = 200 ms: 2000 x 0.2 + 8 x 16 = 528 > 500 -> 1600 x 0.2 + 128 = 448 < 500 -> floor 500 mm
    (200_000, 30, 500),
    # d = 14 mm, T = 30 ms: 2000 x 0.03 = 60 mm < 100 mm -> 100 mm
    (30_000, 14, 100),
    # d = 20 mm, T = 500 ms: 2000 x 0.5 + 48 = 1048 > 500 -> 1600 x 0.5 + 48 = 848 mm
    (500_000, 20, 848),
    # body detection (d > 40 mm, C = 850 mm), T = 445.334 ms: 1600 x 0.445334 = 712.53 -> 713 (up) + 850 = 1563
    (445_334, 200, 1563),
    # body detection, T = 0: 2000 x 0 + 850 = 850 > 500 -> 1600 x 0 + 850 = 850 mm
    (0, 100, 850),
    # d = 40 mm (still the fine formula): T = 0.1 s: 200 + 208 = 408 mm
    (100_000, 40, 408),
])
def test_separation_distance_worked_examples(t_us, d_mm, expected):
    assert zones.separation_mm(t_us, d_mm) == expected


def test_limits_of_the_example_cell():
    # robot 300 ms + 2 frames x 66.667 ms + inference 2 ms + output 10 ms = 445.334 ms -> S = 1563 mm
    status, lim = zones.limits(zones.Config(inference_us=2000))
    assert status == zones.OK
    assert (lim.system_reaction_us, lim.total_us, lim.intrusion_mm, lim.stop_mm, lim.warning_mm) == \
        (145_334, 445_334, 850, 1563, 2563)
    # the detector's tolerance moves the stop edge (and the warning edge with it), not S
    lim = zones.limits(zones.Config(inference_us=2000, tolerance_mm=300))[1]
    assert (lim.stop_mm, lim.stop_edge_mm, lim.warning_mm) == (1563, 1863, 2863)
    assert zones.classify(zones.Config(), lim, 900, 1863) == STOP and zones.classify(zones.Config(), lim, 900, 1864) == WARNING


def test_reaction_time_budget_fails_loudly():
    # 133.334 ms of sensor latency + 10 ms output leave 6.666 ms of the 150 ms budget for inference
    assert zones.limits(zones.Config(inference_us=6666))[0] == zones.OK
    status, lim = zones.limits(zones.Config(inference_us=6667))
    assert status == zones.ERR_BUDGET and lim.system_reaction_us == 150_001
    # a slow robot pushes the warning zone beyond the 4 m the sensor sees
    assert zones.limits(zones.Config(robot_stop_us=1_200_000))[0] == zones.ERR_RANGE
    assert zones.limits(zones.Config(exit_frames=0)) == (zones.ERR_CONFIG, None)


# --- hysteresis ---------------------------------------------------------------------------------------------------

CFG = zones.Config(inference_us=2000)  # S = 1563 mm, warning edge 2563 mm, exit margin 150 mm, 3 frames
LIM = zones.limits(CFG)[1]


def _run(frames):
    state = zones.ZoneState()
    return [state.update(CFG, LIM, p, d, v)[1] for p, d, v in frames]


def test_hysteresis_starts_stopped_and_needs_exit_frames_to_clear():
    far = (900, 3500, 64)
    assert _run([far] * 4) == [STOP, STOP, FREE, FREE]


def test_hysteresis_enters_at_once_and_leaves_late():
    clear = [(0, 4500, 64)] * 3
    seq = clear + [(900, 2500, 64), (900, 1500, 64), (900, 1600, 64), (900, 1700, 64), (900, 1720, 64),
                   (900, 1720, 64), (900, 1720, 64)]
    z = _run(seq)[3:]
    # 2500 <= 2563: warning at once; 1500 <= 1563: stop at once; 1600 and 1700 are within 1563 + 150: stay;
    # 1720 is beyond the exit edge: three such frames step down to warning
    assert z == [WARNING, STOP, STOP, STOP, STOP, STOP, WARNING]


def test_hysteresis_does_not_flicker_at_an_edge():
    clear = [(0, 4500, 64)] * 3
    edge = [(900, 1563 + (40 if i % 2 else -40), 64) for i in range(12)]  # +-40 mm around S
    z = _run(clear + edge)[3:]
    assert z == [STOP] * 12  # once stopped, the 40 mm wobble never clears the 150 mm exit margin


def test_hysteresis_streak_restarts_and_takes_the_most_severe():
    clear = [(0, 4500, 64)] * 3
    seq = clear + [(900, 1000, 64), (900, 3000, 64), (900, 2000, 64), (900, 1650, 64), (900, 3000, 64),
                   (900, 2650, 64), (900, 3000, 64)]
    z = _run(seq)[3:]
    # 3000 (free) and 2000 (warning) count towards leaving STOP; 1650 is inside the exit margin and restarts the
    # count; then 3000, 2650 (warning within the exit margin of 2563 + 150), 3000 -> the streak saw warning
    assert z == [STOP, STOP, STOP, STOP, STOP, STOP, WARNING]


def test_blinded_sensor_forces_stop():
    clear = [(0, 4500, 64)] * 3
    state = zones.ZoneState()
    for p, d, v in clear:
        state.update(CFG, LIM, p, d, v)
    assert state.update(CFG, LIM, 0, 4500, 10) == (zones.FRAME_FAULT, STOP)
    assert state.update(CFG, LIM, 0, 4500, 64) == (zones.OK, STOP)  # and it takes exit_frames to clear again


def test_presence_threshold_and_dequantization():
    assert zones.classify(CFG, LIM, 499, 500) == FREE and zones.classify(CFG, LIM, 500, 500) == STOP
    assert zones.dequant_milli(-100, 3, 17647) == -1817  # -103 x 17.647 = -1817.6 -> toward zero
    assert zones.float_milli(np.float32(1.5639)) == 1563 and zones.float_milli(np.float32(-0.0019)) == -1


# --- the C implementation against the Python mirror ------------------------------------------------------------

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")


@pytest.fixture(scope="module")
def zone_c(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc")
    from examples.safety_zones import zones_c

    return zones_c.ZoneLogicC(zones_c.build(tmp_path_factory.mktemp("zone_logic")))


@pytest.mark.toolchain
def test_c_defaults_and_separation_match_python(zone_c):
    assert zone_c.default_config() == zones.Config()
    for t in range(0, 2_000_001, 9_973):
        for d in (0, 10, 14, 20, 30, 40, 41, 70, 200):
            assert zone_c.separation_mm(t, d) == (zones.OK, zones.separation_mm(t, d)), (t, d)
    assert zone_c.separation_mm(-1, 14)[0] == zones.ERR_CONFIG


@pytest.mark.toolchain
def test_c_limits_match_python_on_random_configs(zone_c):
    rng = np.random.default_rng(13)
    seen = set()
    for _ in range(2000):
        cfg = zones.Config(robot_stop_us=int(rng.integers(-10, 1_500_000)), frame_period_us=int(rng.integers(0, 200_000)),
                           sensor_frames=int(rng.integers(0, 4)), inference_us=int(rng.integers(0, 60_000)),
                           reaction_budget_us=int(rng.integers(50_000, 400_000)),
                           detection_capability_mm=int(rng.integers(0, 120)),
                           exit_frames=int(rng.integers(0, 5)), max_range_mm=int(rng.integers(1000, 6000)),
                           tolerance_mm=int(rng.integers(-10, 600)))
        status, lim = zones.limits(cfg)
        c_status, c_lim = zone_c.limits(cfg)
        assert c_status == status, cfg
        if lim is not None:
            assert c_lim == lim, cfg
        seen.add(status)
    assert {zones.OK, zones.ERR_BUDGET, zones.ERR_RANGE, zones.ERR_CONFIG} <= seen


@pytest.mark.toolchain
def test_c_decisions_match_python_on_many_frames(zone_c):
    from examples.safety_zones.zones_c import run_python

    rng = np.random.default_rng(7)
    total = 0
    for trial in range(60):
        cfg = zones.Config(inference_us=int(rng.integers(0, 5000)), exit_frames=int(rng.integers(1, 5)),
                           exit_margin_mm=int(rng.integers(0, 300)), tolerance_mm=int(rng.integers(0, 500)))
        lim = zones.limits(cfg)[1]
        # a random walk of the distance with presence flips and dropout bursts, plus value extremes
        n = 500
        d = np.clip(2500 + np.cumsum(rng.normal(0, 120, n)), -200, 5000).astype(int)
        p = np.where(rng.random(n) < 0.1, rng.integers(-300, 1300, n), np.where(d < 4000, 900, 100))
        v = np.where(rng.random(n) < 0.03, rng.integers(0, 20, n), 64)
        frames = list(zip(p, d, v)) + [(2**31 - 1, 2**31 - 1, 64), (-2**31, -2**31, 64), (500, 0, 16)]
        assert zone_c.run(cfg, lim, frames) == run_python(cfg, lim, frames), trial
        total += len(frames)
    assert total > 30_000
    for q in range(-128, 128):
        for zp, scale in ((0, 17647), (-128, 19608), (5, 1)):
            assert zone_c.dequant_milli(q, zp, scale) == zones.dequant_milli(q, zp, scale)
    for x in np.concatenate([rng.normal(0, 3, 5000), [np.nan, np.inf, -np.inf, 3e9, -3e9]]).astype(np.float32):
        assert zone_c.float_milli(float(x)) == zones.float_milli(x)


@pytest.mark.toolchain
@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
def test_zone_logic_builds_warning_free_for_cortex_m4(tmp_path):
    obj = tmp_path / "zone_logic.o"
    subprocess.run(["arm-none-eabi-gcc", "-std=c99", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
                    "-mfpu=fpv4-sp-d16", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2", "-c",
                    str(FIRMWARE / "zone_logic.c"), "-o", str(obj)], check=True)
    assert obj.stat().st_size > 0


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
def test_safety_int8_detection_matches_float():
    from examples.common import onnx_outputs, quantize_model, write_calibration
    from examples.safety_zones import run

    d = tof.generate("test", 600)
    x = tof.to_input(d["frames"])
    calib = write_calibration(run.DATA / "calibration", tof.to_input(tof.generate("val", run.CALIBRATION_COUNT)["frames"]))
    qdq = quantize_model(run.SHIPPED, calib, run.DATA / "test_int8.onnx").path
    f, q = onnx_outputs(run.SHIPPED, x), onnx_outputs(qdq, x)
    acc_f = ((f[:, 0] >= 0.5) == d["present"]).mean()
    acc_q = ((q[:, 0] >= 0.5) == d["present"]).mean()
    assert acc_f > 0.85 and abs(acc_f - acc_q) <= 0.01, (acc_f, acc_q)
    err = np.abs(f[:, 1] - q[:, 1])  # metres
    assert err.mean() < 0.03 and np.percentile(err, 99) < 0.15, (err.mean(), np.percentile(err, 99))


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
def test_safety_zones_end_to_end_on_qemu():
    """Model + C zone logic in one firmware under QEMU: identical to the protocol session and the Python mirror."""
    from examples.safety_zones import run

    r = run.main(["--sequences", "3", "--session-frames", "20"], log=lambda *_: None)
    assert r["ok"], r["failures"]
    assert r["budget_status"] == "ok"
    assert r["firmware"]["zones_identical"] == r["frames"] == 270
    assert r["firmware"]["outputs_identical"] == 20
    assert r["c_python_agreement"] == 270
    assert 0 < r["firmware"]["logic_instructions_max"] < 2000
    assert r["zones"]["int8 device"]["accuracy"] > 0.7


@pytest.mark.slow
@pytest.mark.qemu
@needs_qemu
def test_safety_zones_budget_failure_is_loud():
    from examples.safety_zones import run

    lines = []
    r = run.main(["--sequences", "1", "--session-frames", "5", "--budget-ms", "140"], log=lines.append)
    assert not r["ok"] and r["budget_status"] == "reaction-time budget exceeded"
    assert r["firmware_refused"]
    assert any("REACTION-TIME BUDGET CHECK FAILED" in line for line in lines)
