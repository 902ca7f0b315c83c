"""Energy from a power monitor on a real board: thin adapters over the vendors' Python packages.

Each adapter samples current (and voltage) while a workload runs on the board and returns the energy
above the idle baseline, divided by the number of inferences the workload ran.
"""

from __future__ import annotations

from edgeai.power.measure import EnergyMeasurement, measure_energy


def open_monitor(spec: str):
    """`joulescope`, or `ppk2[:PORT][@MILLIVOLTS]` (the PPK2 sources the board at that voltage)."""
    head, _, millivolts = spec.partition("@")
    kind, _, port = head.partition(":")
    if kind == "joulescope":
        from edgeai.power.joulescope_monitor import JoulescopeMonitor

        return JoulescopeMonitor()
    if kind == "ppk2":
        from edgeai.power.ppk2_monitor import PPK2Monitor

        return PPK2Monitor(port or None, int(millivolts) if millivolts else 3300)
    from edgeai.errors import EdgeAIError

    raise EdgeAIError(f"unknown power monitor {spec!r}: use joulescope or ppk2[:PORT][@MILLIVOLTS]")


__all__ = ["EnergyMeasurement", "measure_energy", "open_monitor"]
