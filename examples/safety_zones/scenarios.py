"""Named safety scenarios as firmware calls (firmware.call dicts): each starts with the clear cell taught and an
operator reset releasing the power-up interlock, then plays one situation. tests/test_safety_zones.py runs every
scenario through the Python mirror, the C logic built for this machine and the firmware under QEMU, and checks
`expect` on the zones."""

from __future__ import annotations

from examples.safety_zones import sensor, zones
from examples.safety_zones.firmware import INJECT_FAIL, INJECT_NAN, call

P = sensor.PERIOD_US
POLL = 1000  # zone_default_config's poll_us


def _cell(seed: int, objects: list[dict], frames: int = 1, arm: bool = True, ambient: float = 50.0
          ) -> tuple[list, list]:
    s = sensor.static(seed, objects, ambient_level=ambient, frames=frames, arm=arm)
    return s["teach"], s["frames"]


class Script:
    """Calls at the sensor's frame times; `mark` names the index of the next call."""

    def __init__(self, seed: int):
        self.seed = seed
        teach, clear = _cell(seed, [], frames=4)
        self.clear = clear
        self.calls = [call(f, 0, 0, op="teach") for f in teach]
        self.frame = 0
        self.marks: dict[str, int] = {}

    @property
    def index(self) -> int:
        return sum(c["op"] == "run" for c in self.calls)

    def mark(self, name: str):
        self.marks[name] = self.index

    def show(self, frame: dict, reset: int = 0, inject: int = 0):
        self.frame += 1
        self.calls.append(call(frame, self.frame * P, self.frame, reset=reset, inject=inject))

    def clear_frame(self) -> dict:
        return self.clear[self.frame % len(self.clear)]

    def reset(self):
        """The operator presses and releases reset over two clear frames."""
        self.show(self.clear_frame(), reset=1)
        self.show(self.clear_frame(), reset=0)

    def objects(self, objects: list[dict], frames: int, reset_each: bool = False, ambient: float = 50.0):
        """Frames of the cell (taught at the default ambient) with `objects`, under `ambient` light."""
        for f in _cell(self.seed, objects, frames=frames, ambient=ambient)[1]:
            self.show(f, reset=int(reset_each and self.frame % 2 == 0))

    def reset_then_clear(self):
        """Marks "reset", the operator's reset, marks "after", one more clear frame."""
        self.mark("reset")
        self.reset()
        self.mark("after")
        self.show(self.clear_frame())

    def run_calls(self) -> list:
        return [c for c in self.calls if c["op"] == "run"]

    def repeat_last(self, polls: int, updated: int = 1):
        """The driver hands the same buffer again (same counter) or says "data not updated", once per poll."""
        last = self.calls[-1]
        t0 = last["now_us"]
        for k in range(1, polls + 1):
            self.calls.append({**last, "now_us": t0 + k * POLL, "updated": updated, "reset": 0, "inject": 0})


def crouching(d: float) -> Script:
    s = Script(11)
    s.reset()
    s.mark("in")
    s.objects([{"d": d, "w": 0.55, "top": 0.9, "rho": 0.3}], 4)
    return s


def walk_in_and_crouch() -> Script:
    s = Script(12)
    s.reset()
    for d in (3.4, 2.6, 1.8, 1.0):
        s.objects([{"d": d, "w": 0.45, "top": 1.8, "rho": 0.3}], 1)
    s.mark("crouch")
    s.objects([{"d": 1.0, "w": 0.55, "top": 0.9, "rho": 0.3}], 6)
    return s


def cart() -> Script:
    s = Script(13)
    s.reset()
    s.mark("in")
    s.objects([{"d": 0.8, "w": 1.0, "bottom": 0.1, "top": 0.8, "rho": 0.2}], 4)
    return s


def covered() -> Script:
    """Something right in front of the sensor fills the whole view (every zone an intrusion: the longest path)."""
    s = Script(18)
    s.reset()
    s.mark("in")
    s.objects([{"d": 0.15, "w": 2.0, "bottom": -1.0, "top": 3.0, "rho": 0.5}], 3)
    return s


def dark_beyond_the_edge() -> Script:
    """A person of the darkest test piece's reflectance (1.8 %) 3.1 m out, beyond the protective field edge but
    within the warning edge: the zones it covers only partly return less than the test piece would at that range,
    so their ranges are not believed (STOP, not a warning)."""
    s = Script(19)
    s.reset()
    s.mark("in")
    s.objects([{"d": 3.1, "w": 0.45, "top": 1.8, "rho": sensor.DARK_REFLECTANCE}], 3)
    return s


def sunlight_below_rated() -> Script:
    """Running FREE, then sunlight at 80 % of the rated ambient level on the 4.5 m back wall: no zone over the
    rated level, but the outer zones (most oblique) could no longer see the 1.8 % test piece at the field edge, so
    their "no target" proves nothing (sensor fault, STOP); the sun goes, the operator resets."""
    s = running(20, "sun")
    s.objects([], 3, ambient=sensor.RATED_AMBIENT)
    s.show(s.clear_frame())
    s.reset_then_clear()
    return s


def latched_until_reset() -> Script:
    """A person walks in (STOP), steps 0.45 m aside at 0.5 m (outside the field of view: the field is clear) and
    the stop stays; then the operator resets."""
    s = Script(14)
    s.reset()
    s.objects([{"d": 1.0, "w": 0.45, "top": 1.8, "rho": 0.3}], 2)
    s.mark("aside")
    s.objects([{"d": 0.5, "x": 0.45, "w": 0.45, "top": 1.8, "rho": 0.3}], 10)
    s.reset_then_clear()
    return s


def power_up() -> Script:
    s = Script(15)
    for _ in range(8):
        s.show(s.clear_frame())
    s.reset_then_clear()
    return s


def running(seed: int, mark: str) -> Script:
    """Reset, one clear frame (FREE), then `mark`."""
    s = Script(seed)
    s.reset()
    s.show(s.clear_frame())
    s.mark(mark)
    return s


def frozen(updated: int) -> Script:
    """Running FREE, then the same frame (same counter) again, or "data not updated", at every 1 ms poll."""
    s = running(16, "frozen")
    s.repeat_last(80, updated=updated)
    return s


def inference_fault(inject: int) -> Script:
    s = running(17, "fault")
    s.show(s.clear_frame(), inject=inject)
    for _ in range(4):
        s.show(s.clear_frame())
    s.reset_then_clear()
    return s


def _expect_stop_from(name):
    def check(s: Script, z: list, st: list) -> None:
        k = s.marks[name]
        assert all(v == zones.STOP for v in z[k:]), z
        assert z[k - 1] != zones.STOP, z  # the reset released the power-up stop before
    return check


def _expect_latched(s, z, st):
    a, r, after = s.marks["aside"], s.marks["reset"], s.marks["after"]
    assert all(v == zones.STOP for v in z[a:r + 1]), z  # latched with the field clear, until the release
    assert z[after] != zones.STOP and z[after - 1] != zones.STOP, z


def _expect_power_up(s, z, st):
    r = s.marks["reset"]
    assert all(v == zones.STOP for v in z[:r + 1]), z  # no automatic start
    assert z[s.marks["after"]] == zones.FREE, z


def _expect_watchdog(s, z, st):
    k = s.marks["frozen"]
    assert z[k - 1] == zones.FREE and zones.STOP in z[k:], z
    first = k + z[k:].index(zones.STOP)
    t_stop = s.run_calls()[first]["now_us"] - s.run_calls()[k - 1]["now_us"]
    s.detect_us = t_stop
    assert st[first] == zones.FAULT_WATCHDOG and all(v == zones.STOP for v in z[first:]), (z, st)
    # within the watchdog + one poll of the last new frame: what T's sensor term (2 frames + 3 polls) covers
    cfg = zones.Config()
    assert t_stop <= cfg.frame_period_us * (cfg.sensor_frames - 1) + 2 * cfg.poll_us, t_stop


def _expect_fault(s, z, st):
    k, r = s.marks["fault"], s.marks["reset"]
    assert z[k - 1] == zones.FREE and st[k] == zones.FAULT_INFERENCE, (z, st)
    assert all(v == zones.STOP for v in z[k:r + 1]), z  # latched, the following frames clean
    assert z[s.marks["after"]] == zones.FREE, z


def _expect_weak_stop(s, z, st):
    _expect_stop_from("in")(s, z, st)
    assert all(v == zones.OK for v in st), st  # an intrusion (a return not believed), not a fault


def _expect_blind(s, z, st):
    k, r = s.marks["sun"], s.marks["reset"]
    assert z[k - 1] == zones.FREE and st[k] == zones.FAULT_SENSOR, (z, st)
    assert all(v == zones.STOP for v in z[k:r + 1]), z  # latched after the sun went
    assert z[s.marks["after"]] == zones.FREE, z


def _expect_crouch(s, z, st):
    k = s.marks["crouch"]
    assert z[1] != zones.STOP and zones.STOP in z[2:k], z  # stopped while still upright...
    first = z.index(zones.STOP, 2)
    assert all(v == zones.STOP for v in z[first:]), z  # ... and still stopped when crouching


SCENARIOS = {
    "crouching at 0.6 m": (lambda: crouching(0.6), _expect_stop_from("in")),
    "crouching at 1.0 m": (lambda: crouching(1.0), _expect_stop_from("in")),
    "crouching at 1.4 m": (lambda: crouching(1.4), _expect_stop_from("in")),
    "walk in upright, crouch at 1.0 m": (walk_in_and_crouch, _expect_crouch),
    "cart 1.0 x 0.8 m at 0.8 m": (cart, _expect_stop_from("in")),
    "view covered at 0.15 m": (covered, _expect_stop_from("in")),
    "dark person (1.8 %) beyond the field edge, edges too weak": (dark_beyond_the_edge, _expect_weak_stop),
    "sunlight below the rated level, outer zones blind": (sunlight_below_rated, _expect_blind),
    "stop latched with the field clear until reset": (latched_until_reset, _expect_latched),
    "power-up in stop": (power_up, _expect_power_up),
    "frozen frame (same counter)": (lambda: frozen(1), _expect_watchdog),
    "missing frame (data not updated)": (lambda: frozen(0), _expect_watchdog),
    "failed inference": (lambda: inference_fault(INJECT_FAIL), _expect_fault),
    "NaN model output": (lambda: inference_fault(INJECT_NAN), _expect_fault),
}

