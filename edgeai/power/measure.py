"""Energy of a workload from a power monitor: baseline while idle, then while the workload runs."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Protocol


class PowerMonitor(Protocol):
    def power_while(self, busy: threading.Event) -> tuple[float, float]:
        """Sample until `busy` is cleared; return (mean power in W, seconds sampled)."""

    def idle_power(self, seconds: float) -> float:
        """Mean power in W over `seconds` with the board idle."""


@dataclass(frozen=True)
class EnergyMeasurement:
    energy_per_inference_j: float  # above the idle baseline
    active_power_w: float
    idle_power_w: float
    seconds: float
    inferences: int
    monitor: str
    estimate: bool = False  # measured, not modelled


def measure_energy(monitor, workload: Callable[[], int], idle_seconds: float = 0.2) -> EnergyMeasurement:
    """Runs `workload` (which returns how many inferences it ran) while the monitor samples."""
    idle = monitor.idle_power(idle_seconds)
    busy = threading.Event()
    busy.set()
    result: dict = {}

    def sample():
        result["power"], result["seconds"] = monitor.power_while(busy)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        count = workload()
    finally:
        busy.clear()
        sampler.join()
    active, seconds = result["power"], result["seconds"]
    per = max(active - idle, 0.0) * seconds / max(count, 1)
    return EnergyMeasurement(per, active, idle, seconds, count, type(monitor).__name__)
