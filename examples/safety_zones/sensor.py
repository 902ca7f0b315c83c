"""A multizone time-of-flight sensor model (8 x 8 zones, modelled on the ST VL53L5CX's output: per zone a range,
a target status, a signal and an ambient rate) and the approach sequences the protective-field evidence runs on.
Deterministic from a seed, numpy only.

Per sub-ray (4 x 4 per zone) the nearest surface is found (data.py's geometry: floor, back wall, fixture, the
robot's arm, and the objects of the scene: upright or crouching people, carts). Per zone and surface:

    signal = SIGNAL_K x reflectance x cos(incidence) / r^2 x (share of the zone's sub-rays it covers)
    SNR    = signal / sqrt(signal + ambient + 1)        (shot noise of the return and of the ambient light)

The sensor ("target order: closest") reports the nearest surface covering >= 1/4 of the zone whose SNR, with a
10 % frame-to-frame jitter, reaches DETECT_SNR: status 5 (6 below CONFIDENT_SNR: lower confidence); when a second
detected surface lies within MERGE_MM behind it, one merged pulse at the signal-weighted mean range with status 9
(an edge return); nothing detected: status 255 (no target) and range 0. Range noise sigma = 5 mm + 0.5 % + 200 mm /
SNR. Invalid statuses (not 5/6/9/255) at INVALID_RATE per zone, 20x more often in zones with two surfaces (edges).
Multipath adds 20-250 mm to the range of MULTIPATH_RATE of the zones (too far: the unsafe side). Ambient per zone
= the cell's ambient level x (0.3 + the reflectance of what the zone sees): sunlight lowers the SNR, and so the
range at which dark targets are found.

SIGNAL_K is an assumption of this model, not a VL53L5CX figure: it keeps the darkest test piece IEC 61496-3 uses
(1.8 % reflectance), filling a central zone, 30 % (3 jitter sigmas) above the detection threshold out to 3.2 m
under the rated ambient (400), the range zone_config_t.detect_range_mm states. A real VL53L5CX sees such dark
targets only far closer; that is one reason this sensor is not a protective device. The zone logic's
dark_signal_1m (zone_config_t) is SIGNAL_K x DARK_REFLECTANCE, and its min_snr_milli DETECT_SNR plus 3 jitter
sigmas: the firmware judges signal and ambient with this model's physics.
"""

from __future__ import annotations

import numpy as np

from examples.safety_zones.data import _NORM, COLS, FRAME_HZ, MAX_RANGE_MM, ROWS, SUB, TAN_RIGHT, TAN_UP, _arm, \
    _box_hit

SIGNAL_K = 69_000.0
DETECT_SNR, CONFIDENT_SNR = 4.0, 8.0
MERGE_MM = 500.0
INVALID_RATE, MULTIPATH_RATE = 0.0005, 0.002
INVALID_CODES = np.array([0, 1, 2, 3, 4, 7, 8, 10, 11, 12, 13], np.uint8)
DARK_REFLECTANCE = 0.018  # IEC 61496-3's darkest test piece
RATED_AMBIENT = 400
SENSOR_HEIGHT = 0.9
TEACH_FRAMES = 16
PERIOD_US = round(1e6 / FRAME_HZ)

_COS_BOX = 1.0 / _NORM  # a vertical face square to the optical axis
_COS_FLOOR = np.abs(TAN_UP) / _NORM
_ZONE = (ROWS, SUB, COLS, SUB)
_ZONE_ID = (np.arange(ROWS * SUB)[:, None] // SUB) * COLS + np.arange(COLS * SUB)[None, :] // SUB  # [32, 32]


def surfaces(scene: dict) -> tuple[list[np.ndarray], list[float], list[np.ndarray], int]:
    """Forward distance per sub-ray [32, 32] (inf = miss), reflectance and cos(incidence) of every surface; the
    objects (people, carts) come first, their count last."""
    h = scene["height"]
    fwd, rho, cos = [], [], []
    for o in scene.get("objects", ()):
        fwd.append(_box_hit(o["d"], o["x0"], o["x1"], o["bottom"], o["top"], h))
        rho.append(o["rho"])
        cos.append(_COS_BOX)
    n_obj = len(fwd)
    fwd.append(np.where(TAN_UP < -1e-6, h / np.maximum(-TAN_UP, 1e-6), np.inf))
    rho.append(scene["floor_rho"])
    cos.append(_COS_FLOOR)
    fwd.append(np.full(TAN_UP.shape, scene["wall"]))
    rho.append(scene["wall_rho"])
    cos.append(_COS_BOX)
    if scene.get("fixture"):
        f = scene["fixture"]
        fwd.append(_box_hit(f["d"], f["x0"], f["x1"], 0.0, f["top"], h))
        rho.append(f["rho"])
        cos.append(_COS_BOX)
    if scene.get("arm"):
        a = scene["arm"]
        fwd.append(_box_hit(a["d"], -2.0, a["x1"], a["bottom"], 3.0, h))
        rho.append(0.5)
        cos.append(_COS_BOX)
    return fwd, rho, cos, n_obj


def render(scene: dict, rng: np.random.Generator, ambient_level: float) -> dict:
    """One frame: range_mm [64] uint16, status [64] uint8, signal [64] and ambient [64] uint16, plus the truth:
    object_fwd_mm, the nearest object's front (forward, mm) among objects covering >= 1/4 of a zone (inf if none),
    and true_range_mm [64] (the noiseless range of what each zone reports, 0 where nothing)."""
    fwd, rho, cos, n_obj = surfaces(scene)
    stack = np.stack(fwd)  # [T, 32, 32]
    nearest = np.argmin(stack, axis=0)
    dist = np.min(stack, axis=0)
    rng_m = dist * _NORM
    finite = np.isfinite(rng_m)
    rho_a, cos_a = np.array(rho), np.stack(cos)
    sub_signal = np.where(finite, SIGNAL_K * rho_a[nearest] * np.take_along_axis(cos_a, nearest[None], 0)[0]
                          / np.where(finite, rng_m, 1.0) ** 2, 0.0)
    n_t = len(fwd)
    # per (zone, surface): sub-ray count, range sum and signal sum, in one bincount each
    key = (_ZONE_ID * (n_t + 1) + np.where(finite, nearest, n_t)).ravel()
    size = ROWS * COLS * (n_t + 1)
    counts = np.bincount(key, minlength=size).reshape(ROWS * COLS, n_t + 1)[:, :n_t]
    r_sum = np.bincount(key, np.where(finite, rng_m * 1000.0, 0.0).ravel(), size).reshape(-1, n_t + 1)[:, :n_t]
    signal = np.bincount(key, sub_signal.ravel(), size).reshape(-1, n_t + 1)[:, :n_t] / (SUB * SUB)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_r = np.where(counts > 0, r_sum / np.maximum(counts, 1), np.inf)
    covers = (counts >= SUB * SUB // 4) & np.isfinite(mean_r) & (mean_r <= MAX_RANGE_MM)
    dominant = np.argmax(counts, axis=1)
    seen_rho = np.where(counts.sum(axis=1) > 0, rho_a[dominant], 0.0)
    ambient = ambient_level * (0.3 + seen_rho)
    snr = signal / np.sqrt(signal + ambient[:, None] + 1.0) * (1.0 + 0.1 * rng.standard_normal(signal.shape))
    detected = covers & (snr >= DETECT_SNR)
    order = np.where(detected, mean_r, np.inf)
    first = np.argmin(order, axis=1)
    zones = np.arange(ROWS * COLS)
    found = np.isfinite(order[zones, first])
    r_true = np.where(found, order[zones, first], 0.0)
    s_first = snr[zones, first]
    # A second detected surface close behind merges into one pulse (an edge return).
    order2 = order.copy()
    order2[zones, first] = np.inf
    second = np.argmin(order2, axis=1)
    r2 = order2[zones, second]
    merged = found & np.isfinite(r2) & (r2 - r_true <= MERGE_MM)
    w1, w2 = signal[zones, first], signal[zones, second]
    r_rep = np.where(merged, (r_true * w1 + np.where(merged, r2, 0.0) * w2) / np.maximum(w1 + w2, 1e-9), r_true)
    sigma = 5.0 + 0.005 * r_rep + 200.0 / np.maximum(s_first, 1e-3)
    r_rep = r_rep + rng.standard_normal(r_rep.shape) * sigma
    multipath = rng.random(r_rep.shape) < MULTIPATH_RATE
    r_rep = r_rep + np.where(multipath, rng.uniform(20.0, 250.0, r_rep.shape), 0.0)
    status = np.where(merged, 9, np.where(s_first >= CONFIDENT_SNR, 5, 6)).astype(np.uint8)
    status = np.where(found, status, 255).astype(np.uint8)
    edge = (counts >= SUB * SUB // 4).sum(axis=1) >= 2
    invalid = rng.random(r_rep.shape) < INVALID_RATE * np.where(edge, 20.0, 1.0)
    status = np.where(invalid, rng.choice(INVALID_CODES, r_rep.shape), status).astype(np.uint8)
    r_out = np.where(found, np.clip(np.round(r_rep), 1, 65535), 0).astype(np.uint16)
    obj_zone = covers[:, :n_obj].any(axis=0) if n_obj else np.zeros(0, bool)
    obj_fwd = min((scene["objects"][i]["d"] * 1000.0 for i in range(n_obj) if obj_zone[i]), default=np.inf)
    return {"range_mm": r_out, "status": status, "signal": np.round(np.clip(signal[zones, first] * found, 0, 65535)
                                                                      ).astype(np.uint16),
            "ambient": np.round(np.clip(ambient, 0, 65535)).astype(np.uint16), "object_fwd_mm": obj_fwd,
            "true_range_mm": r_true, "merged": merged}


def cell(rng: np.random.Generator) -> dict:
    """The static parts of a cell at random: sensor height, floor, wall, maybe a fixture and the robot's arm."""
    scene = {"height": rng.uniform(0.85, 0.95), "wall": rng.uniform(3.0, 6.0), "wall_rho": rng.uniform(0.3, 0.8),
             "floor_rho": rng.uniform(0.15, 0.4)}
    if rng.random() < 0.4:
        x0 = rng.uniform(-2.0, 0.8)
        scene["fixture"] = {"d": rng.uniform(3.2, 3.8), "x0": x0, "x1": x0 + rng.uniform(0.6, 1.5),
                            "top": rng.uniform(0.6, 0.85), "rho": rng.uniform(0.1, 0.6)}
    if rng.random() < 0.7:
        scene["arm"] = _arm(0.5)
    return scene


def with_arm(scene: dict, phase: float) -> dict:
    s = dict(scene)
    if "arm" in scene:
        s["arm"] = _arm(phase)
    return s


def teach_frames(scene: dict, rng: np.random.Generator, ambient_level: float) -> list[dict]:
    """The clear cell while the robot moves through its whole path (the arm swept over its range)."""
    return [render(with_arm(scene, p), rng, ambient_level) for p in np.linspace(0.0, 1.0, TEACH_FRAMES)]


POSTURES = ("upright", "crouching", "cart")


def body(rng: np.random.Generator, posture: str) -> dict:
    if posture == "upright":
        return {"w": rng.uniform(0.35, 0.55), "bottom": 0.0, "top": rng.uniform(1.5, 1.95)}
    if posture == "crouching":
        return {"w": rng.uniform(0.45, 0.7), "bottom": 0.0, "top": rng.uniform(0.8, 1.0)}
    return {"w": rng.uniform(0.8, 1.2), "bottom": 0.1, "top": rng.uniform(0.7, 1.0)}  # a cart


def approach(seed, frames: int = 75) -> dict:
    """One approach sequence: the cell (taught first), then an object walking in at a random angle and speed to
    a closest point, staying there, and leaving sideways; posture, reflectance and ambient light at random.
    Returns the teach frames, the frames, per frame the object's front (forward mm, inf if none or not seen)
    and the parameters."""
    rng = np.random.default_rng(seed)
    scene = cell(rng)
    ambient_level = float(np.exp(rng.uniform(np.log(2.0), np.log(RATED_AMBIENT / 0.9 * 1.2))))
    posture = POSTURES[int(rng.integers(0, 3))]
    b = body(rng, posture)
    rho = float(np.exp(rng.uniform(np.log(DARK_REFLECTANCE), np.log(0.9))))
    speed = float(rng.uniform(0.3, 2.0))
    angle = float(rng.uniform(-40, 40))
    d_near = float(rng.uniform(0.3, 1.6))
    x_near = float(rng.uniform(-0.2, 0.2))
    dwell = float(rng.uniform(0.3, 1.0))
    arm0, arm_rate = float(rng.uniform(0, 1)), float(rng.uniform(0.1, 0.5))
    teach = teach_frames(scene, rng, ambient_level)
    out, front = [], []
    # the path: from 4.6 m away along `angle` to (d_near, x_near), dwell, then out sideways at the same speed
    start = 4.6 - d_near
    t_in = start / speed
    ang = np.deg2rad(angle)
    side = 1.0 if angle >= 0 else -1.0
    for f in range(frames):
        t = f / FRAME_HZ
        if t < t_in:
            k = start - speed * t
            d, x = d_near + k * np.cos(ang), x_near + k * np.sin(ang)
        elif t < t_in + dwell:
            d, x = d_near, x_near
        else:
            d, x = d_near, x_near + side * speed * (t - t_in - dwell)
        s = with_arm(scene, 0.5 + 0.5 * np.sin(2 * np.pi * (arm0 + arm_rate * t)))
        s["objects"] = [{"d": float(d), "x0": float(x - b["w"] / 2), "x1": float(x + b["w"] / 2),
                         "bottom": b["bottom"], "top": b["top"], "rho": rho}]
        fr = render(s, rng, ambient_level)
        out.append(fr)
        front.append(fr["object_fwd_mm"])
    return {"teach": teach, "frames": out, "object_fwd_mm": np.array(front), "posture": posture, "rho": rho,
            "speed": speed, "angle": angle, "ambient": ambient_level, "d_near": d_near}


def static(seed, objects: list[dict], ambient_level: float = 50.0, frames: int = 1, arm: bool = False,
           scene: dict | None = None) -> dict:
    """A fixed scene (for the scenario tests): the cell of `seed` (or `scene`), its teach frames, and `frames`
    frames with the given objects ({d, x, w, bottom, top, rho})."""
    rng = np.random.default_rng(seed)
    scene = scene or {"height": SENSOR_HEIGHT, "wall": 4.5, "wall_rho": 0.5, "floor_rho": 0.25,
                      **({"arm": _arm(0.5)} if arm else {})}
    teach = teach_frames(scene, rng, ambient_level)
    s = dict(scene)
    s["objects"] = [{"d": o["d"], "x0": o.get("x", 0.0) - o["w"] / 2, "x1": o.get("x", 0.0) + o["w"] / 2,
                     "bottom": o.get("bottom", 0.0), "top": o["top"], "rho": o.get("rho", 0.3)} for o in objects]
    return {"teach": teach, "frames": [render(s, rng, ambient_level) for _ in range(frames)]}


def flat_target(rng: np.random.Generator, d: float, rho: float, ambient_level: float) -> dict:
    """A wall of reflectance rho filling the view at forward distance d: the distance-error calibration."""
    scene = {"height": SENSOR_HEIGHT, "wall": 9.0, "wall_rho": 0.5, "floor_rho": 0.25,
             "objects": [{"d": d, "x0": -5.0, "x1": 5.0, "bottom": -5.0, "top": 5.0, "rho": rho}]}
    return render(scene, rng, ambient_level)
