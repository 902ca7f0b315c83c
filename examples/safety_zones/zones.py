"""Python mirror of firmware/zone_logic.c: the ISO 13855 separation distance, the zone limits with the
reaction-time budget check, and the hysteresis state machine. Same integers as the C code (microseconds,
millimetres, per mille); tests/test_examples.py compares the two frame by frame.

Separation distance (ISO 13855; the formula, not the standard's text): S = K x T + C with K = 2000 mm/s; when
that exceeds 500 mm, S = 1600 mm/s x T + C, at least 500 mm; otherwise at least 100 mm. C = 8 (d - 14) mm for a
detection capability d <= 40 mm, 850 mm above (body detection).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

FREE, WARNING, STOP = 0, 1, 2
ZONE_NAMES = ("free", "warning", "stop")
OK, FRAME_FAULT, ERR_ARG, ERR_CONFIG, ERR_BUDGET, ERR_RANGE = 0, 1, -1, -2, -3, -4
STATUS_NAMES = {OK: "ok", FRAME_FAULT: "frame fault (forced stop)", ERR_ARG: "null argument",
                ERR_CONFIG: "configuration out of range", ERR_BUDGET: "reaction-time budget exceeded",
                ERR_RANGE: "zones beyond the sensor's range"}


@dataclass
class Config:
    """zone_config_t, with zone_default_config()'s values."""

    robot_stop_us: int = 300_000
    frame_period_us: int = 66_667
    sensor_frames: int = 2
    inference_us: int = 0
    output_us: int = 10_000
    reaction_budget_us: int = 150_000
    detection_capability_mm: int = 200
    warning_margin_mm: int = 1000
    exit_margin_mm: int = 150
    exit_frames: int = 3
    presence_on_milli: int = 500
    min_valid_zones: int = 16
    max_range_mm: int = 4000
    tolerance_mm: int = 0

    def as_tuple(self) -> tuple[int, ...]:
        return tuple(asdict(self).values())


@dataclass
class Limits:
    system_reaction_us: int
    total_us: int
    intrusion_mm: int
    stop_mm: int  # S
    warning_mm: int  # stop edge + warning margin
    stop_edge_mm: int  # S + the detector's tolerance


def intrusion_mm(d_mm: int) -> int:
    return max(0, 8 * (d_mm - 14)) if d_mm <= 40 else 850


def _speed_times_time(k: int, t_us: int) -> int:
    return (k * t_us + 999_999) // 1_000_000  # rounded up: the safe side


def separation_mm(t_us: int, d_mm: int) -> int:
    """ISO 13855 minimum separation distance in mm for stopping performance t_us and detection capability d_mm."""
    if t_us < 0 or d_mm < 0:
        raise ValueError("t_us and d_mm must be >= 0")
    c = intrusion_mm(d_mm)
    s = _speed_times_time(2000, t_us) + c
    if s > 500:
        return max(_speed_times_time(1600, t_us) + c, 500)
    return max(s, 100)


def limits(cfg: Config) -> tuple[int, Limits | None]:
    """(status, limits) as zone_limits(): ERR_BUDGET/ERR_RANGE still return the limits."""
    if (cfg.robot_stop_us < 0 or cfg.frame_period_us <= 0 or not 1 <= cfg.sensor_frames <= 16
            or cfg.inference_us < 0 or cfg.output_us < 0 or cfg.reaction_budget_us <= 0
            or cfg.detection_capability_mm < 0 or cfg.warning_margin_mm < 0 or cfg.exit_margin_mm < 0
            or cfg.exit_frames < 1 or cfg.presence_on_milli <= 0 or cfg.min_valid_zones < 0 or cfg.max_range_mm <= 0
            or cfg.frame_period_us > 10_000_000 or cfg.inference_us > 10_000_000 or cfg.output_us > 10_000_000
            or cfg.robot_stop_us > 100_000_000 or not 0 <= cfg.tolerance_mm <= 10_000
            or cfg.warning_margin_mm > 10_000 or cfg.exit_margin_mm > 10_000):
        return ERR_CONFIG, None
    reaction = cfg.sensor_frames * cfg.frame_period_us + cfg.inference_us + cfg.output_us
    total = cfg.robot_stop_us + reaction
    stop = separation_mm(total, cfg.detection_capability_mm)
    edge = stop + cfg.tolerance_mm
    lim = Limits(reaction, total, intrusion_mm(cfg.detection_capability_mm), stop, edge + cfg.warning_margin_mm, edge)
    if reaction > cfg.reaction_budget_us:
        return ERR_BUDGET, lim
    if lim.warning_mm + cfg.exit_margin_mm > cfg.max_range_mm:
        return ERR_RANGE, lim
    return OK, lim


def dequant_milli(q: int, zero_point: int, scale_micro: int) -> int:
    """zone_dequant_milli: (q - zero_point) x scale_micro / 1000, truncated toward zero as C does."""
    v = (int(q) - zero_point) * scale_micro
    return v // 1000 if v >= 0 else -((-v) // 1000)


def input_multiplier(scale: float, shift: int = 20) -> tuple[int, int]:
    """(mult, shift) with mult / 2^shift = 1 / (1000 x scale): millimetres to input steps."""
    return round((1 << shift) / (1000.0 * scale)), shift


def quantize_mm(mm, mult: int, shift: int, zero_point: int):
    """zone_quantize_mm over an array of ranges: zero_point + round-half-up(mm x mult / 2^shift), saturated."""
    import numpy as np

    if not 1 <= shift <= 40 or mult < 0:
        return np.full(np.shape(mm), -128, np.int8)
    q = ((np.asarray(mm, np.int64) * mult + (1 << (shift - 1))) >> shift) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def float_milli(x) -> int:
    """zone_float_milli: x x 1000 in float32, truncated toward zero, saturated; NaN -> INT32_MIN."""
    import numpy as np

    v = np.float32(x) * np.float32(1000.0)
    if np.isnan(v):
        return -2**31
    if v >= np.float32(2147483520.0):
        return 2**31 - 1
    if v <= np.float32(-2147483648.0):
        return -2**31
    return int(v)  # int() truncates toward zero, as the C cast does


def classify(cfg: Config, lim: Limits, presence_milli: int, distance_mm: int, margin: int = 0) -> int:
    if presence_milli < cfg.presence_on_milli:
        return FREE
    if distance_mm <= lim.stop_edge_mm + margin:
        return STOP
    if distance_mm <= lim.warning_mm + margin:
        return WARNING
    return FREE


class ZoneState:
    """zone_state_t + zone_reset() + zone_update()."""

    def __init__(self):
        self.zone, self.streak, self.pending = STOP, 0, FREE

    def update(self, cfg: Config, lim: Limits, presence_milli: int, distance_mm: int, valid_zones: int
               ) -> tuple[int, int]:
        """(status, zone) for one frame."""
        status = OK
        if valid_zones < cfg.min_valid_zones:
            enter = leave = STOP
            status = FRAME_FAULT
        else:
            enter = classify(cfg, lim, presence_milli, distance_mm, 0)
            leave = classify(cfg, lim, presence_milli, distance_mm, cfg.exit_margin_mm)
        if enter >= self.zone:
            self.zone = max(self.zone, enter)
            self.streak, self.pending = 0, FREE
        elif leave < self.zone:
            self.pending = leave if self.streak == 0 or leave > self.pending else self.pending
            self.streak += 1
            if self.streak >= cfg.exit_frames:
                self.zone, self.streak, self.pending = self.pending, 0, FREE
        else:
            self.streak, self.pending = 0, FREE
        return status, self.zone


def ground_truth_zone(cfg: Config, lim: Limits, present: bool, distance_m: float) -> int:
    """The zone the person's true distance is in (no hysteresis, no model, no tolerance): STOP within S, WARNING
    within S + the warning margin. What decisions are scored against."""
    if not present:
        return FREE
    mm = distance_m * 1000.0
    return STOP if mm <= lim.stop_mm else WARNING if mm <= lim.stop_mm + cfg.warning_margin_mm else FREE
