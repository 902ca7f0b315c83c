"""The protective-field evidence: approach sequences from sensor.py through the Python mirror of the zone logic
(teach, then one zone_update per frame with a simulated operator's reset), scored against the ground truth.

Ground truth: a frame must be STOP when an object covering >= 1/4 of a zone has its front within
restricted_mm + ceil(K x T) + C of the sensor: S without Z, since Z is the allowance for the sensor's distance
error that the protective field adds on top. A missed stop frame is such a frame decided WARNING or FREE; any one
fails the evidence. Too strict: a STOP where the truth does not need one (the power-up interlock before the first
reset, false intrusions, faults, a latched stop the operator has not reset yet).

The distance error Z comes from the one-sided 99.9th percentile of (reported - true range) of valid returns on flat
targets at the protective field's edge conditions (dark, 1.8-10 % reflectance, 2.2-3.2 m, ambient up to rated).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from examples.safety_zones import sensor, zones
from examples.safety_zones.data import FRAME_HZ

RESET_EVERY = 15  # the simulated operator presses reset once a second: high on frame 13, released on 14 (mod 15)
Z_QUANTILE = 99.9


def reset_level(frame: int) -> int:
    return int(frame % RESET_EVERY == RESET_EVERY - 2)


def measure_z(count: int = 400, seed: int = 4242) -> dict:
    """Z (mm) from flat dark targets near the field edge: the one-sided error quantile of valid returns."""
    rng = np.random.default_rng(seed)
    errs = []
    for _ in range(count):
        d = rng.uniform(2.2, 3.2)
        rho = float(np.exp(rng.uniform(np.log(sensor.DARK_REFLECTANCE), np.log(0.1))))
        level = rng.uniform(1.0, sensor.RATED_AMBIENT / (0.3 + rho))
        f = sensor.flat_target(rng, d, rho, level)
        ok = zones.is_valid(f["status"]) & (f["true_range_mm"] > 0)
        errs.append(f["range_mm"][ok].astype(float) - f["true_range_mm"][ok])
    e = np.concatenate(errs)
    return {"z_mm": int(np.ceil(np.percentile(e, Z_QUANTILE))), "returns": int(len(e)),
            "p50_mm": float(np.percentile(e, 50)), "p99_mm": float(np.percentile(e, 99)),
            "max_mm": float(e.max()), "quantile": Z_QUANTILE}


def required_stop_mm(cfg: zones.Config, lim: zones.Limits) -> int:
    """The forward distance from the sensor within which a stop is required: restricted + K x T + C (no Z)."""
    return lim.field_edge_mm - cfg.z_mm


def call(frame: dict, f: int) -> dict:
    return {"counter": f + 1, "updated": 1, "range_mm": frame["range_mm"], "status": frame["status"],
            "ambient": frame["ambient"], "signal": frame["signal"]}


def decide(cfg, lim, seq: dict, milli: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(zones, statuses, bg) of one sequence through the mirror: teach, zone_init at t = 0, one call per frame at
    its arrival; milli [F, 2] the classifier's (presence, distance) or None (no person seen)."""
    bg = zones.teach(seq["teach"])
    st = zones.ZoneState(now_us=0)
    out, stat = [], []
    for f, frame in enumerate(seq["frames"]):
        p, d = (int(milli[f, 0]), int(milli[f, 1])) if milli is not None else (0, 4500)
        s, z = st.update(cfg, lim, bg, call(frame, f), (f + 1) * sensor.PERIOD_US, 0, p, d, reset_level(f))
        out.append(z)
        stat.append(s)
    return np.array(out), np.array(stat), bg


@dataclass
class Score:
    sequences: int
    frames: int
    required_stop_frames: int
    missed_stop_frames: int
    too_strict_frames: int
    too_strict_power_up: int  # of them before the first release of the power-up stop
    fault_frames: int
    late_stop_mm: float  # the most an object moved in after it needed a STOP before one came (0: never late)
    missed_sequences: list

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items()}


def score(need_edge: int, seqs: list[dict], decisions: list[np.ndarray], statuses: list[np.ndarray]) -> Score:
    """Score decisions against the truth: a STOP is needed where the object is within need_edge (mm, forward)."""
    frames = req = missed = strict = strict_up = faults = 0
    depth = -np.inf
    missed_seq = []
    for i, (seq, z, s) in enumerate(zip(seqs, decisions, statuses)):
        need = seq["object_fwd_mm"] <= need_edge
        frames += len(z)
        req += int(need.sum())
        m = int((need & (z != zones.STOP)).sum())
        missed += m
        if m:
            missed_seq.append(i)
        strict += int((~need & (z == zones.STOP)).sum())
        released = np.nonzero(z != zones.STOP)[0]
        up = slice(0, int(released[0]) if len(released) else len(z))
        strict_up += int((~need[up] & (z[up] == zones.STOP)).sum())
        faults += int((s > 0).sum())
        if need.any():
            first_need = int(np.argmax(need))
            stops = np.nonzero(z[first_need:] == zones.STOP)[0]
            first_stop = first_need + int(stops[0]) if len(stops) else len(z) - 1
            fwd = seq["object_fwd_mm"]
            late = fwd[first_need] - fwd[first_stop] if np.isfinite(fwd[first_stop]) else np.inf
            depth = max(depth, float(late))
    return Score(len(seqs), frames, req, missed, strict, strict_up, faults, max(float(depth), 0.0), missed_seq)


def run(cfg, lim, count: int, seed: int = 7000, frames: int = 75, classifier=None, need_edge: int | None = None
        ) -> tuple[Score, list, list]:
    """`count` approach sequences (seeds [seed, 0..count-1]) through the mirror, scored against need_edge (default:
    what cfg itself requires; pass the real cell's when the device may be configured wrongly)."""
    seqs, dec, stat = [], [], []
    for k in range(count):
        seq = sensor.approach([seed, k], frames)
        milli = classifier(seq) if classifier is not None else None
        z, s, _ = decide(cfg, lim, seq, milli)
        seqs.append(seq)
        dec.append(z)
        stat.append(s)
    return score(required_stop_mm(cfg, lim) if need_edge is None else need_edge, seqs, dec, stat), seqs, dec


__all__ = ["FRAME_HZ", "measure_z", "decide", "score", "run", "reset_level", "required_stop_mm"]
