"""Synthetic 8 x 8 time-of-flight depth frames of a robot cell, deterministic from a seed (numpy only).

The sensor (modelled on an ST VL53L5CX in 8 x 8 mode: 45 x 45 degree square field of view, 15 Hz, a few
metres of range) sits on the robot's pedestal at the edge of the hazard zone, about 0.9 m above the floor,
looking horizontally out into the cell. A frame holds one range per zone in millimetres, 0 where the zone has
no valid target (out of range, too little signal, dropout) -- the way the sensor's target status flags it.

Scene: floor (seen by the lower rows), a back wall (often beyond range), sometimes a fixture (a table or
conveyor, low and wide), sometimes the robot's own arm swinging into the upper-left corner, and sometimes a
person: a box-shaped body standing on the floor at forward distance D from the sensor plane (which is the
distance the safety logic compares with the separation distance). Each zone is sampled with 4 x 4 sub-rays; the
zone reports the mean range of the nearest target covering at least a quarter of it (a ToF histogram's
first strong peak), plus
range noise and dropouts that grow with distance.

Training/validation frames are independent scenes; held-out frames come as walking sequences at 15 Hz (people
approaching, lingering near a zone edge, leaving), so the zone hysteresis can be judged over time. Frame i of a
split comes from `np.random.default_rng([split_seed, i])` (sequence k: `[split_seed, k]`).
"""

from __future__ import annotations

import numpy as np

ROWS = COLS = 8
FOV_DEG = 45.0
FRAME_HZ = 15.0
MAX_RANGE_MM = 4000
FAR_M = 4.5  # the distance target for "no person": beyond the sensor's range
SUB = 4
SPLITS = {"train": 11, "val": 22, "test": 33}

_step = np.deg2rad(FOV_DEG) / ROWS
_sub = (np.arange(ROWS * SUB) + 0.5) / SUB - ROWS / 2  # sub-ray centres in zone units, -4..4
_EL = -_sub[:, None] * _step * np.ones((1, COLS * SUB))  # row 0 looks up
_AZ = _sub[None, :] * _step * np.ones((ROWS * SUB, 1))  # column 0 looks left
TAN_UP, TAN_RIGHT = np.tan(_EL), np.tan(_AZ)
_NORM = np.sqrt(1.0 + TAN_UP ** 2 + TAN_RIGHT ** 2)  # range = forward distance x _NORM


def _box_hit(forward, left, right, bottom, top, height):
    """Forward distance where each sub-ray meets a vertical box face (inf where it misses). Heights are above
    the floor; the sensor is `height` above it."""
    y = forward * TAN_RIGHT
    z = height + forward * TAN_UP
    hit = (y >= left) & (y <= right) & (z >= bottom) & (z <= top)
    return np.where(hit, forward, np.inf)


def render(scene: dict, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """One frame [8, 8] of uint16 millimetres (0 = invalid) and whether the person is visible in it."""
    h = scene["height"]
    # Candidate targets as forward distances per sub-ray; index 0 is the person.
    floor = np.where(TAN_UP < -1e-6, h / np.maximum(-TAN_UP, 1e-6), np.inf)
    targets = [np.full(TAN_UP.shape, np.inf), floor, np.full(TAN_UP.shape, scene["wall"])]
    if scene.get("person"):
        p = scene["person"]
        targets[0] = _box_hit(p["d"], p["x"] - p["w"] / 2, p["x"] + p["w"] / 2, 0.0, p["top"], h)
    if scene.get("fixture"):
        f = scene["fixture"]
        targets.append(_box_hit(f["d"], f["x0"], f["x1"], 0.0, f["top"], h))
    if scene.get("arm"):
        a = scene["arm"]
        targets.append(_box_hit(a["d"], -2.0, a["x1"], a["bottom"], 3.0, h))
    fwd = np.stack(targets)  # [T, 32, 32]
    nearest = np.argmin(fwd, axis=0)
    rng_mm = np.min(fwd, axis=0) * _NORM * 1000.0
    # Per zone: the nearest target that covers >= 1/4 of the zone's sub-rays.
    z_rng = rng_mm.reshape(ROWS, SUB, COLS, SUB).transpose(0, 2, 1, 3).reshape(ROWS, COLS, SUB * SUB)
    z_tgt = nearest.reshape(ROWS, SUB, COLS, SUB).transpose(0, 2, 1, 3).reshape(ROWS, COLS, SUB * SUB)
    counts = np.stack([(z_tgt == t).sum(axis=2) for t in range(len(targets))], axis=2)  # [8, 8, T]
    finite = np.where(np.isfinite(z_rng), z_rng, 0.0)
    sums = np.stack([np.where(z_tgt == t, finite, 0.0).sum(axis=2) for t in range(len(targets))], axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        medians = np.where(counts > 0, sums / counts, np.inf)  # mean range of the target's sub-rays
    medians = np.where(np.isfinite(medians) & (counts >= SUB * SUB // 4), medians, np.inf)
    best = np.argmin(medians, axis=2)
    frame = np.take_along_axis(medians, best[..., None], axis=2)[..., 0]
    person_zones = int(((best == 0) & (frame <= MAX_RANGE_MM)).sum())
    # Sensor: range noise, out-of-range and dropouts (more of them far away, where the signal is weak).
    frame = frame + rng.normal(0.0, 1.0, frame.shape) * (8.0 + 0.015 * np.where(np.isfinite(frame), frame, 0))
    p_drop = scene["dropout"] + 0.15 * np.clip((frame - 3000.0) / 1000.0, 0.0, 1.0)
    invalid = ~np.isfinite(frame) | (frame > MAX_RANGE_MM) | (frame < 20) | (rng.random(frame.shape) < p_drop)
    return np.where(invalid, 0, np.round(frame)).astype(np.uint16), person_zones > 0


def random_scene(rng: np.random.Generator, person: bool) -> dict:
    """The static parts of a cell (sensor height, wall, fixture, arm) and maybe a person, all at random."""
    scene = {"height": rng.uniform(0.85, 0.95), "wall": rng.uniform(3.0, 6.0), "dropout": rng.uniform(0.0, 0.05)}
    if rng.random() < 0.5:
        x0 = rng.uniform(-1.5, 0.5)
        scene["fixture"] = {"d": rng.uniform(1.5, 3.5), "x0": x0, "x1": x0 + rng.uniform(0.6, 1.5),
                            "top": rng.uniform(0.6, 0.85)}
    if rng.random() < 0.6:
        scene["arm"] = _arm(rng.uniform(0, 1))
    if person:
        d = rng.uniform(0.25, 4.2)
        half = d * np.tan(np.deg2rad(FOV_DEG / 2))
        scene["person"] = {"d": d, "x": rng.uniform(-half - 0.1, half + 0.1), "w": rng.uniform(0.35, 0.55),
                           "top": rng.uniform(1.5, 1.95)}
    return scene


def _arm(phase: float) -> dict:
    """The robot's arm in the upper-left corner, close to the sensor; `phase` in [0, 1] is its swing."""
    return {"d": 0.3 + 0.4 * phase, "x1": -0.05 - 0.15 * phase, "bottom": 0.95 + 0.2 * phase}


def to_input(frames_mm: np.ndarray) -> np.ndarray:
    """Frames [N, 8, 8] in mm (0 = invalid) -> the model input [N, 8, 8, 1] in metres (invalid stays 0)."""
    return (frames_mm.astype(np.float32) / 1000.0)[..., None]


def generate(split: str, count: int) -> dict[str, np.ndarray]:
    """Independent frames: {"frames": [N, 8, 8] uint16 mm, "present": [N] bool, "distance": [N] float32 m}.
    About a quarter hold no person; "distance" is the person's forward distance (FAR_M when absent)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {sorted(SPLITS)}")
    frames, present, distance = [], [], []
    for i in range(count):
        rng = np.random.default_rng([SPLITS[split], i])
        scene = random_scene(rng, person=rng.random() < 0.75)
        frame, visible = render(scene, rng)
        frames.append(frame)
        present.append(visible)
        distance.append(scene["person"]["d"] if visible else FAR_M)
    return {"frames": np.array(frames, np.uint16).reshape(count, ROWS, COLS), "present": np.array(present, bool),
            "distance": np.array(distance, np.float32)}


def generate_sequences(split: str, count: int, frames_per_sequence: int = 90) -> dict[str, np.ndarray]:
    """Walking sequences at FRAME_HZ: {"frames": [S, F, 8, 8], "present": [S, F], "distance": [S, F],
    "kind": [S] (0 approach and leave, 1 linger near a zone edge, 2 empty cell)}."""
    out = {"frames": [], "present": [], "distance": [], "kind": []}
    dt = 1.0 / FRAME_HZ
    for k in range(count):
        rng = np.random.default_rng([SPLITS[split], 10_000 + k])
        scene = random_scene(rng, person=False)
        kind = k % 3
        speed = rng.uniform(0.6, 1.6)
        d_near = rng.uniform(0.4, 1.4)
        d_edge, x0 = rng.uniform(1.2, 3.0), rng.uniform(-0.3, 0.3)
        body = {"w": rng.uniform(0.35, 0.55), "top": rng.uniform(1.5, 1.95)}
        arm_phase0, arm_rate = rng.uniform(0, 1), rng.uniform(0.1, 0.5)
        fr, pr, di = [], [], []
        for f in range(frames_per_sequence):
            t = f * dt
            if kind == 0:  # walk in from 4.5 m, stop at d_near for 1 s, walk out
                t_in = (4.5 - d_near) / speed
                d = 4.5 - speed * t if t < t_in else d_near if t < t_in + 1.0 else d_near + speed * (t - t_in - 1.0)
                x = x0
            elif kind == 1:  # sway back and forth around d_edge (near a zone boundary), drifting sideways
                d, x = d_edge + 0.15 * np.sin(2 * np.pi * 0.4 * t), x0 + 0.2 * np.sin(2 * np.pi * 0.1 * t)
            else:
                d = None
            s = dict(scene)
            if "arm" in scene:
                s["arm"] = _arm(0.5 + 0.5 * np.sin(2 * np.pi * (arm_phase0 + arm_rate * t)))
            if d is not None:
                s["person"] = {"d": float(d), "x": float(x), **body}
            frame, visible = render(s, rng)
            fr.append(frame)
            pr.append(visible)
            di.append(float(d) if visible else FAR_M)
        out["frames"].append(fr)
        out["present"].append(pr)
        out["distance"].append(di)
        out["kind"].append(kind)
    return {"frames": np.array(out["frames"], np.uint16), "present": np.array(out["present"], bool),
            "distance": np.array(out["distance"], np.float32), "kind": np.array(out["kind"], np.int64)}
