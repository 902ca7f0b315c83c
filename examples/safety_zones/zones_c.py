"""firmware/zone_logic.c built for this machine (gcc) and called through ctypes: the C side of the C-vs-Python
comparison in tests/test_safety_zones.py and run.py."""

from __future__ import annotations

import ctypes
import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np

from examples.safety_zones import zones

FIRMWARE = Path(__file__).resolve().parent / "firmware"
SOURCES = [FIRMWARE / "zone_logic.c", FIRMWARE / "zone_logic.h"]
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2"]
N = zones.ZONES


class Config(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int32) for name in zones.Config.__dataclass_fields__]


class Limits(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int32) for name in zones.Limits.__dataclass_fields__]


class Background(ctypes.Structure):
    _fields_ = [("range_mm", ctypes.c_uint16 * N), ("frames", ctypes.c_int32)]


class Frame(ctypes.Structure):
    _fields_ = [("counter", ctypes.c_uint32), ("updated", ctypes.c_int32), ("range_mm", ctypes.c_uint16 * N),
                ("status", ctypes.c_uint8 * N), ("ambient", ctypes.c_uint16 * N),
                ("signal", ctypes.c_uint16 * N)]


class State(ctypes.Structure):
    _fields_ = [("latched", ctypes.c_int32), ("fault", ctypes.c_int32), ("soft", ctypes.c_int),
                ("streak", ctypes.c_int32), ("have_frame", ctypes.c_int32), ("last_counter", ctypes.c_uint32),
                ("last_new_us", ctypes.c_uint32), ("reset_prev", ctypes.c_int32), ("reset_pending", ctypes.c_int32)]


def build(out_dir: Path, cc: str = "gcc") -> Path:
    """The shared library, rebuilt when the sources change."""
    if shutil.which(cc) is None:
        raise FileNotFoundError(f"{cc} not found")
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in SOURCES) + " ".join(CFLAGS).encode()).hexdigest()[:12]
    lib = Path(out_dir) / f"libzone_logic-{digest}.so"
    if not lib.is_file():
        lib.parent.mkdir(parents=True, exist_ok=True)
        tmp = lib.with_suffix(".tmp")
        subprocess.run([cc, *CFLAGS, "-shared", "-fPIC", str(SOURCES[0]), "-o", str(tmp)], check=True,
                       capture_output=True, text=True)
        tmp.replace(lib)
    return lib


def to_frame(f: dict) -> Frame:
    out = Frame()
    out.counter, out.updated = int(f["counter"]) & 0xFFFFFFFF, int(bool(f["updated"]))
    out.range_mm[:] = [int(v) for v in np.asarray(f["range_mm"]).reshape(N)]
    out.status[:] = [int(v) for v in np.asarray(f["status"]).reshape(N)]
    out.ambient[:] = [int(v) for v in np.asarray(f["ambient"]).reshape(N)]
    out.signal[:] = [int(v) for v in np.asarray(f["signal"]).reshape(N)]
    return out


class ZoneLogicC:
    """The C functions with the Python mirror's signatures."""

    def __init__(self, lib_path: Path):
        self.lib = lib = ctypes.CDLL(str(lib_path))
        P = ctypes.POINTER
        lib.zone_separation_mm.argtypes = [ctypes.c_int32] * 3 + [P(ctypes.c_int32)]
        lib.zone_limits.argtypes = [P(Config), P(Limits)]
        lib.zone_init.argtypes = [P(State), ctypes.c_uint32]
        lib.zone_default_config.argtypes = [P(Config)]
        lib.zone_default_config.restype = None
        lib.zone_teach_begin.argtypes = [P(Background)]
        lib.zone_teach_frame.argtypes = [P(Background), P(Frame)]
        lib.zone_teach_end.argtypes = [P(Background)]
        lib.zone_forward_mm.argtypes = [ctypes.c_int32, ctypes.c_int32]
        lib.zone_forward_mm.restype = ctypes.c_int32
        lib.zone_dequant_milli.argtypes = [ctypes.c_int8, ctypes.c_int32, ctypes.c_int32]
        lib.zone_dequant_milli.restype = ctypes.c_int32
        lib.zone_update.argtypes = [P(State), P(Config), P(Limits), P(Background), P(Frame), ctypes.c_uint32,
                                    ctypes.c_int32, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32, P(ctypes.c_int)]
        lib.zone_quantize_mm.argtypes = [ctypes.c_uint16, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32]
        lib.zone_quantize_mm.restype = ctypes.c_int8
        lib.zone_float_milli.argtypes = [ctypes.c_float]
        lib.zone_float_milli.restype = ctypes.c_int32
        lib.zone_model_range.argtypes = [P(Frame), ctypes.c_int32]
        lib.zone_model_range.restype = ctypes.c_uint16
        lib.zone_dark_signal.argtypes = [ctypes.c_int32] * 3
        lib.zone_dark_signal.restype = ctypes.c_int32
        for f in (lib.zone_separation_mm, lib.zone_limits, lib.zone_init, lib.zone_update, lib.zone_teach_begin,
                  lib.zone_teach_frame, lib.zone_teach_end):
            f.restype = ctypes.c_int

    def default_config(self) -> zones.Config:
        c = Config()
        self.lib.zone_default_config(ctypes.byref(c))
        return zones.Config(*[getattr(c, n) for n, _ in Config._fields_])

    def separation_mm(self, t_us: int, c_mm: int, z_mm: int) -> tuple[int, int]:
        s = ctypes.c_int32(-1)
        return self.lib.zone_separation_mm(t_us, c_mm, z_mm, ctypes.byref(s)), s.value

    def limits(self, cfg: zones.Config) -> tuple[int, zones.Limits]:
        lim = Limits()
        status = self.lib.zone_limits(ctypes.byref(Config(*cfg.as_tuple())), ctypes.byref(lim))
        return status, zones.Limits(*[getattr(lim, n) for n, _ in Limits._fields_])

    def teach(self, frames: list[dict]) -> tuple[int, np.ndarray]:
        bg = Background()
        self.lib.zone_teach_begin(ctypes.byref(bg))
        for f in frames:
            self.lib.zone_teach_frame(ctypes.byref(bg), ctypes.byref(to_frame(f)))
        return self.lib.zone_teach_end(ctypes.byref(bg)), np.array(bg.range_mm[:], np.uint16)

    def forward_mm(self, zone: int, range_mm: int) -> int:
        return self.lib.zone_forward_mm(zone, range_mm)

    def dark_signal(self, zone: int, range_mm: int, dark_signal_1m: int) -> int:
        return self.lib.zone_dark_signal(zone, range_mm, dark_signal_1m)

    def model_range(self, frame: dict, zone: int) -> int:
        return self.lib.zone_model_range(ctypes.byref(to_frame(frame)), zone)

    def dequant_milli(self, q: int, zero_point: int, scale_micro: int) -> int:
        return self.lib.zone_dequant_milli(q, zero_point, scale_micro)

    def quantize_mm(self, mm: int, mult: int, shift: int, zero_point: int) -> int:
        return self.lib.zone_quantize_mm(mm, mult, shift, zero_point)

    def float_milli(self, x: float) -> int:
        return self.lib.zone_float_milli(x)

    def run(self, cfg: zones.Config, lim: zones.Limits, bg, calls, start_us: int = 0) -> list[tuple[int, int]]:
        """(status, zone) per call of (frame, now_us, inference_status, presence, distance, reset), from
        zone_init(start_us)."""
        state, c, l, z = State(), Config(*cfg.as_tuple()), Limits(*vars(lim).values()), ctypes.c_int(-1)
        b = Background()
        b.range_mm[:] = [int(v) for v in bg]
        b.frames = 1
        self.lib.zone_init(ctypes.byref(state), start_us & 0xFFFFFFFF)
        out = []
        for frame, now, inf, p, d, reset in calls:
            status = self.lib.zone_update(ctypes.byref(state), ctypes.byref(c), ctypes.byref(l), ctypes.byref(b),
                                          ctypes.byref(to_frame(frame)), now & 0xFFFFFFFF, int(inf), int(p), int(d),
                                          int(reset), ctypes.byref(z))
            out.append((status, z.value))
        return out


def run_python(cfg: zones.Config, lim: zones.Limits, bg, calls, start_us: int = 0) -> list[tuple[int, int]]:
    state = zones.ZoneState(now_us=start_us)
    return [state.update(cfg, lim, bg, frame, now, inf, int(p), int(d), reset)
            for frame, now, inf, p, d, reset in calls]
