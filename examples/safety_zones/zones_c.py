"""firmware/zone_logic.c built for this machine (gcc) and called through ctypes: the C side of the C-vs-Python
comparison in tests/test_examples.py and run.py."""

from __future__ import annotations

import ctypes
import hashlib
import shutil
import subprocess
from pathlib import Path

from examples.safety_zones import zones

FIRMWARE = Path(__file__).resolve().parent / "firmware"
SOURCES = [FIRMWARE / "zone_logic.c", FIRMWARE / "zone_logic.h"]
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2"]


class Config(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int32) for name in zones.Config.__dataclass_fields__]


class Limits(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int32) for name in zones.Limits.__dataclass_fields__]


class State(ctypes.Structure):
    _fields_ = [("zone", ctypes.c_int), ("streak", ctypes.c_int32), ("pending", ctypes.c_int)]


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


class ZoneLogicC:
    """The C functions with Python-friendly signatures (same as examples.safety_zones.zones)."""

    def __init__(self, lib_path: Path):
        self.lib = lib = ctypes.CDLL(str(lib_path))
        lib.zone_separation_mm.argtypes = [ctypes.c_int32, ctypes.c_int32, ctypes.POINTER(ctypes.c_int32)]
        lib.zone_limits.argtypes = [ctypes.POINTER(Config), ctypes.POINTER(Limits)]
        lib.zone_reset.argtypes = [ctypes.POINTER(State)]
        lib.zone_default_config.argtypes = [ctypes.POINTER(Config)]
        lib.zone_dequant_milli.argtypes = [ctypes.c_int8, ctypes.c_int32, ctypes.c_int32]
        lib.zone_dequant_milli.restype = ctypes.c_int32
        lib.zone_update.argtypes = [ctypes.POINTER(State), ctypes.POINTER(Config), ctypes.POINTER(Limits),
                                    ctypes.c_int32, ctypes.c_int32, ctypes.c_int32, ctypes.POINTER(ctypes.c_int)]
        lib.zone_quantize_mm.argtypes = [ctypes.c_uint16, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32]
        lib.zone_quantize_mm.restype = ctypes.c_int8
        lib.zone_float_milli.argtypes = [ctypes.c_float]
        lib.zone_float_milli.restype = ctypes.c_int32
        for f in (lib.zone_separation_mm, lib.zone_limits, lib.zone_reset, lib.zone_update):
            f.restype = ctypes.c_int

    def default_config(self) -> zones.Config:
        c = Config()
        self.lib.zone_default_config(ctypes.byref(c))
        return zones.Config(*[getattr(c, n) for n, _ in Config._fields_])

    def separation_mm(self, t_us: int, d_mm: int) -> tuple[int, int]:
        s = ctypes.c_int32(-1)
        return self.lib.zone_separation_mm(t_us, d_mm, ctypes.byref(s)), s.value

    def limits(self, cfg: zones.Config) -> tuple[int, zones.Limits]:
        lim = Limits()
        status = self.lib.zone_limits(ctypes.byref(Config(*cfg.as_tuple())), ctypes.byref(lim))
        return status, zones.Limits(*[getattr(lim, n) for n, _ in Limits._fields_])

    def dequant_milli(self, q: int, zero_point: int, scale_micro: int) -> int:
        return self.lib.zone_dequant_milli(q, zero_point, scale_micro)

    def quantize_mm(self, mm: int, mult: int, shift: int, zero_point: int) -> int:
        return self.lib.zone_quantize_mm(mm, mult, shift, zero_point)

    def float_milli(self, x: float) -> int:
        return self.lib.zone_float_milli(x)

    def run(self, cfg: zones.Config, lim: zones.Limits, frames) -> list[tuple[int, int]]:
        """(status, zone) per frame of (presence_milli, distance_mm, valid_zones), from a reset state."""
        state, c, l, z = State(), Config(*cfg.as_tuple()), Limits(*vars(lim).values()), ctypes.c_int(-1)
        self.lib.zone_reset(ctypes.byref(state))
        out = []
        for p, d, v in frames:
            status = self.lib.zone_update(ctypes.byref(state), ctypes.byref(c), ctypes.byref(l), int(p), int(d), int(v),
                                          ctypes.byref(z))
            out.append((status, z.value))
        return out


def run_python(cfg: zones.Config, lim: zones.Limits, frames) -> list[tuple[int, int]]:
    state = zones.ZoneState()
    return [state.update(cfg, lim, int(p), int(d), int(v)) for p, d, v in frames]
