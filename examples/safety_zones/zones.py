"""Python mirror of firmware/zone_logic.c: the ISO 13855 separation distance, the limits with the reaction-time
budget check, the taught background, and the latched protective-field logic with its watchdog. Same integers as
the C code (microseconds, millimetres, per mille); tests/test_safety_zones.py compares the two frame by frame, on
this machine and on the firmware under QEMU. See firmware/zone_logic.h for the contract.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

FREE, WARNING, STOP = 0, 1, 2
ZONE_NAMES = ("free", "warning", "stop")
OK, FAULT_WATCHDOG, FAULT_SENSOR, FAULT_INFERENCE = 0, 1, 2, 3
ERR_ARG, ERR_CONFIG, ERR_BUDGET, ERR_RANGE, ERR_TEACH = -1, -2, -3, -4, -5
STATUS_NAMES = {OK: "ok", FAULT_WATCHDOG: "watchdog: no new frame (stop latched)",
                FAULT_SENSOR: "sensor fault: invalid zones, or ambient too strong to see the dark test piece "
                              "(stop latched)",
                FAULT_INFERENCE: "inference failed or not finite (stop latched)", ERR_ARG: "null argument",
                ERR_CONFIG: "configuration out of range", ERR_BUDGET: "reaction-time budget exceeded",
                ERR_RANGE: "protective field beyond the sensor's rated dark-target range",
                ERR_TEACH: "background not taught"}
ZONES = 64
TS_VALID, TS_NO_WRAP_CHECK, TS_LARGE_PULSE, TS_NO_TARGET = 5, 6, 9, 255
VALID_STATUS = (TS_VALID, TS_NO_WRAP_CHECK, TS_LARGE_PULSE)
MILLI_INVALID = -2**31
K_MM_PER_S = 1600

# floor(1000 cos) of the ray through each zone's corner farthest from the optical axis (zone_logic.c COS_MILLI)
COS_MILLI = np.array([[990, 976, 952, 920], [976, 962, 940, 908], [952, 940, 919, 889], [920, 908, 889, 862]],
                     np.int64)
_OFF = np.array([3, 2, 1, 0, 0, 1, 2, 3])
ZONE_COS_MILLI = COS_MILLI[_OFF[:, None], _OFF[None, :]].reshape(ZONES)


@dataclass
class Config:
    """zone_config_t, with zone_default_config()'s values."""

    robot_stop_us: int = 300_000
    frame_period_us: int = 66_667
    sensor_frames: int = 2
    poll_us: int = 1000
    inference_us: int = 0
    output_us: int = 20_000
    reaction_budget_us: int = 170_000
    intrusion_c_mm: int = 1200
    z_mm: int = 0
    restricted_mm: int = 700
    warning_margin_mm: int = 800
    exit_margin_mm: int = 150
    exit_frames: int = 3
    presence_on_milli: int = 500
    background_margin_mm: int = 150
    max_invalid_zones: int = 2
    max_ambient: int = 400
    detect_range_mm: int = 3200
    dark_signal_1m: int = 1242
    min_snr_milli: int = 5200

    def as_tuple(self) -> tuple[int, ...]:
        return tuple(asdict(self).values())


@dataclass
class Limits:
    system_reaction_us: int
    total_us: int
    stop_mm: int  # S, from the edge of the robot's restricted space
    field_edge_mm: int  # the protective field's edge, forward from the sensor
    warning_mm: int
    watchdog_us: int


def _speed_times_time(k: int, t_us: int) -> int:
    return (k * t_us + 999_999) // 1_000_000  # rounded up: the safe side


def separation_mm(t_us: int, c_mm: int = 1200, z_mm: int = 0) -> int:
    """ISO 13855 S = ceil(1600 mm/s x T) + C + Z in mm."""
    if t_us < 0 or not 0 <= c_mm <= 10_000 or not 0 <= z_mm <= 10_000:
        raise ValueError("t_us, c_mm and z_mm must be >= 0 (C and Z at most 10 m)")
    return _speed_times_time(K_MM_PER_S, t_us) + c_mm + z_mm


def limits(cfg: Config) -> tuple[int, Limits | None]:
    """(status, limits) as zone_limits(): ERR_BUDGET/ERR_RANGE still return the limits."""
    c = cfg
    if (not 0 <= c.robot_stop_us <= 10_000_000 or not 0 < c.frame_period_us <= 1_000_000
            or not 2 <= c.sensor_frames <= 16 or not 0 < c.poll_us <= c.frame_period_us
            or not 0 <= c.inference_us <= 1_000_000 or not 0 <= c.output_us <= 1_000_000
            or c.reaction_budget_us <= 0 or not 0 <= c.restricted_mm <= 10_000
            or not 0 <= c.warning_margin_mm <= 10_000 or not 0 <= c.exit_margin_mm <= 10_000
            or c.exit_frames < 1 or c.presence_on_milli <= 0 or not 0 <= c.background_margin_mm <= 10_000
            or c.max_invalid_zones < 0 or c.max_ambient < 0 or not 0 < c.detect_range_mm <= 10_000
            or not 0 <= c.intrusion_c_mm <= 10_000 or not 0 <= c.z_mm <= 10_000
            or not 0 < c.dark_signal_1m <= 65535 or not 0 <= c.min_snr_milli <= 100_000):
        return ERR_CONFIG, None
    reaction = c.sensor_frames * c.frame_period_us + 3 * c.poll_us + c.inference_us + c.output_us
    total = c.robot_stop_us + reaction
    stop = separation_mm(total, c.intrusion_c_mm, c.z_mm)
    edge = c.restricted_mm + stop
    lim = Limits(reaction, total, stop, edge, edge + c.warning_margin_mm,
                 (c.sensor_frames - 1) * c.frame_period_us + c.poll_us)
    if reaction > c.reaction_budget_us:
        return ERR_BUDGET, lim
    if edge > c.detect_range_mm:
        return ERR_RANGE, lim
    return OK, lim


def forward_mm(ranges) -> np.ndarray:
    """zone_forward_mm over [..., 64] ranges (0..65535): range x the zone's smallest cos / 1000, floored."""
    r = np.asarray(ranges, np.int64)
    return np.where((r >= 0) & (r <= 65535), r * ZONE_COS_MILLI // 1000, 0)


def dark_signal(ranges, dark_signal_1m: int) -> np.ndarray:
    """zone_dark_signal over [..., 64] ranges: the dark test piece's signal at each range, the zone's smallest cos,
    in the C code's 32-bit steps (floored twice, saturated to 65535); 0 where the range is not > 0."""
    r = np.asarray(ranges, np.int64)
    ok = (r > 0) & (0 < dark_signal_1m <= 65535)
    rs = np.where(ok, r, 1)
    q = dark_signal_1m * ZONE_COS_MILLI // rs
    s = np.where(q > 4_294_967, 65535, np.minimum(q * 1000 // rs, 65535))
    return np.where(ok, s, 0)


def snr_reaches(signal, ambient, min_snr_milli: int) -> np.ndarray:
    """signal / sqrt(signal + ambient + 1) >= min_snr_milli / 1000, squared, in integers (zone_logic.c)."""
    s = np.asarray(signal, np.int64)
    return s * s * 1_000_000 >= min_snr_milli * min_snr_milli * (s + np.asarray(ambient, np.int64) + 1)


def is_valid(status) -> np.ndarray:
    s = np.asarray(status)
    return (s == TS_VALID) | (s == TS_NO_WRAP_CHECK) | (s == TS_LARGE_PULSE)


def model_ranges(ranges, status) -> np.ndarray:
    """zone_model_range: the range where the status is valid, else 0 (the model's input)."""
    return np.where(is_valid(status), ranges, 0).astype(np.uint16)


def teach(frames: list[dict]) -> np.ndarray:
    """zone_teach_*: the nearest valid range per zone over the teach frames ([64] uint16, 0 = open space)."""
    if not frames:
        raise ValueError("no teach frames")
    bg = np.zeros(ZONES, np.int64)
    for f in frames:
        r = np.asarray(f["range_mm"], np.int64)
        take = is_valid(f["status"]) & (r > 0) & ((bg == 0) | (r < bg))
        bg = np.where(take, r, bg)
    return bg.astype(np.uint16)


def dequant_milli(q: int, zero_point: int, scale_micro: int) -> int:
    """zone_dequant_milli: (q - zero_point) x scale_micro / 1000, truncated toward zero as C does."""
    v = (int(q) - zero_point) * scale_micro
    return v // 1000 if v >= 0 else -((-v) // 1000)


def input_multiplier(scale: float, shift: int = 20) -> tuple[int, int]:
    """(mult, shift) with mult / 2^shift = 1 / (1000 x scale): millimetres to input steps."""
    return round((1 << shift) / (1000.0 * scale)), shift


def quantize_mm(mm, mult: int, shift: int, zero_point: int):
    """zone_quantize_mm over an array of ranges: zero_point + round-half-up(mm x mult / 2^shift), saturated."""
    if not 1 <= shift <= 40 or mult < 0:
        return np.full(np.shape(mm), -128, np.int8)
    q = ((np.asarray(mm, np.int64) * mult + (1 << (shift - 1))) >> shift) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def float_milli(x) -> int:
    """zone_float_milli: x x 1000 in float32, truncated toward zero, saturated; NaN/Inf -> MILLI_INVALID."""
    with np.errstate(over="ignore", invalid="ignore"):
        v = np.float32(x) * np.float32(1000.0)
    if not np.isfinite(v):
        return MILLI_INVALID
    if v >= np.float32(2147483520.0):
        return 2**31 - 1
    if v <= np.float32(-2147483520.0):
        return -2**31 + 1
    return int(v)  # int() truncates toward zero, as the C cast does


@dataclass
class FrameView:
    intrusion: bool
    warn_zone: bool
    leave_zone: bool
    invalid: int
    blind: int


def scan(cfg: Config, lim: Limits, bg: np.ndarray, frame: dict) -> FrameView:
    """What one new frame shows (zone_logic.c scan())."""
    taught = np.asarray(bg, np.int64)
    looks = ~((taught > 0) & (forward_mm(taught) <= cfg.restricted_mm))  # not the robot's own space
    status = np.asarray(frame["status"])
    r = np.asarray(frame["range_mm"], np.int64)
    ambient = np.asarray(frame["ambient"], np.int64)
    signal = np.asarray(frame["signal"], np.int64)
    # the farthest point of the field a zone sees: the field edge along its outermost ray, or its background
    far = lim.field_edge_mm * 1000 // ZONE_COS_MILLI
    far = np.where((taught > 0) & (taught < far), taught, far)
    blind = looks & ((ambient > cfg.max_ambient)
                     | ~snr_reaches(dark_signal(far, cfg.dark_signal_1m), ambient, cfg.min_snr_milli))
    valid = is_valid(status)
    invalid = looks & ~valid & (status != TS_NO_TARGET)
    fwd = forward_mm(r)
    # too weak: below the dark test piece's signal at a true range up to Z beyond the reported one, or a low SNR
    weak = valid & (fwd <= lim.warning_mm) & ((signal < dark_signal(r + cfg.z_mm, cfg.dark_signal_1m))
                                             | ~snr_reaches(signal, ambient, cfg.min_snr_milli))
    nearer = valid & ~weak & ((taught == 0) | (r + cfg.background_margin_mm < taught))  # in front of the robot too
    return FrameView(bool(weak.any() or (nearer & (fwd <= lim.field_edge_mm)).any()),
                     bool((nearer & (fwd > lim.field_edge_mm) & (fwd <= lim.warning_mm)).any()),
                     bool(weak.any() or (nearer & (fwd <= lim.warning_mm + cfg.exit_margin_mm)).any()),
                     int(invalid.sum()), int(blind.sum()))


@dataclass
class ZoneState:
    """zone_state_t + zone_init() + zone_update()."""

    now_us: int = 0
    latched: bool = True
    fault: int = OK
    soft: int = FREE
    streak: int = 0
    have_frame: bool = False
    last_counter: int = 0
    last_new_us: int = field(init=False)
    reset_prev: bool = False
    reset_pending: bool = False

    def __post_init__(self):
        self.last_new_us = self.now_us & 0xFFFFFFFF

    def update(self, cfg: Config, lim: Limits, bg, frame: dict, now_us: int, inference_status: int = 0,
               presence_milli: int = 0, distance_mm: int = 4500, reset_input: int = 0) -> tuple[int, int]:
        """(status, zone) for one call; frame: counter, updated, range_mm, status, ambient."""
        now_us &= 0xFFFFFFFF
        fault = OK
        if self.reset_prev and not reset_input:
            self.reset_pending = True
        self.reset_prev = bool(reset_input)
        counter = int(frame["counter"]) & 0xFFFFFFFF
        fresh = bool(frame["updated"]) and (not self.have_frame or counter != self.last_counter)
        clear = False
        if fresh:
            self.have_frame, self.last_counter, self.last_new_us = True, counter, now_us
            v = scan(cfg, lim, bg, frame)
            if v.blind > 0 or v.invalid > cfg.max_invalid_zones:
                fault = FAULT_SENSOR
            elif inference_status != 0 or presence_milli == MILLI_INVALID or distance_mm == MILLI_INVALID:
                fault = FAULT_INFERENCE
            if fault != OK or v.intrusion:
                if not self.latched:
                    self.fault = fault
                self.latched = True
            else:
                clear = True
                seen = presence_milli >= cfg.presence_on_milli
                enter = v.warn_zone or (seen and distance_mm <= lim.warning_mm)
                stay = v.leave_zone or (seen and distance_mm <= lim.warning_mm + cfg.exit_margin_mm)
                if enter:
                    self.soft, self.streak = WARNING, 0
                elif self.soft == WARNING and not stay:
                    self.streak += 1
                    if self.streak >= cfg.exit_frames:
                        self.soft, self.streak = FREE, 0
                else:
                    self.streak = 0
        elif ((now_us - self.last_new_us) & 0xFFFFFFFF) > lim.watchdog_us:
            fault = FAULT_WATCHDOG
            if not self.latched:
                self.fault = fault
            self.latched = True
        if fresh and self.reset_pending:
            if self.latched and clear:
                self.latched, self.fault = False, OK
            self.reset_pending = False
        return fault, STOP if self.latched else self.soft
