"""Joulescope JS110/JS220 through the `joulescope` package: read() gives [samples, (current A, voltage V)]."""

from __future__ import annotations

import threading

import numpy as np

from edgeai.errors import EdgeAIError


class JoulescopeMonitor:
    CHUNK_S = 0.05  # contiguous reads this long; short enough to stop soon after the workload ends

    def __init__(self):
        try:
            import joulescope
        except ImportError:
            raise EdgeAIError("the Joulescope adapter needs the joulescope package: pip install joulescope") from None
        try:
            self.device = joulescope.scan_require_one(config="auto")
        except Exception as e:  # the package raises its own types when no or several devices are attached
            raise EdgeAIError(f"no single Joulescope found: {e}") from None

    def _mean_power(self, data) -> float:
        data = np.asarray(data, dtype=np.float64)
        return float(np.mean(data[:, 0] * data[:, 1]))

    def idle_power(self, seconds: float) -> float:
        with self.device:
            return self._mean_power(self.device.read(contiguous_duration=seconds))

    def power_while(self, busy: threading.Event) -> tuple[float, float]:
        chunks = []
        with self.device:
            while busy.is_set() or not chunks:
                chunks.append(self.device.read(contiguous_duration=self.CHUNK_S))
        powers = [self._mean_power(c) for c in chunks]
        return float(np.mean(powers)), self.CHUNK_S * len(chunks)
