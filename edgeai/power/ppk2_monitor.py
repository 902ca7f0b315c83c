"""Nordic Power Profiler Kit II through the `ppk2-api` package, in source-meter mode: it powers the board at
a fixed voltage and streams current samples (µA) at 100 kS/s."""

from __future__ import annotations

import threading
import time

from edgeai.errors import EdgeAIError

SAMPLE_RATE = 100_000  # samples per second


class PPK2Monitor:
    def __init__(self, port: str | None = None, millivolts: int = 3300):
        try:
            from ppk2_api.ppk2_api import PPK2_API
        except ImportError:
            raise EdgeAIError("the PPK2 adapter needs the ppk2-api package: pip install ppk2-api") from None
        if port is None:
            found = PPK2_API.list_devices()
            if len(found) != 1:
                raise EdgeAIError(f"expected one PPK2, found {len(found)}: name its port (ppk2:/dev/ttyACM0)")
            port = found[0][0] if isinstance(found[0], (tuple, list)) else found[0]
        self.volts = millivolts / 1000.0
        self.ppk = PPK2_API(port, timeout=1, write_timeout=1, exclusive=True)
        self.ppk.get_modifiers()
        self.ppk.set_source_voltage(millivolts)
        self.ppk.use_source_meter()
        self.ppk.toggle_DUT_power("ON")

    def _samples(self, data) -> list[float]:
        samples = self.ppk.get_samples(data)
        if isinstance(samples, tuple):  # newer ppk2-api returns (samples, digital channels)
            samples = samples[0]
        return list(samples)

    def _collect(self, keep_going) -> tuple[float, float]:
        self.ppk.start_measuring()
        microamps: list[float] = []
        try:
            while keep_going() or not microamps:
                data = self.ppk.get_data()
                if data:
                    microamps.extend(self._samples(data))
                else:
                    time.sleep(0.001)
        finally:
            self.ppk.stop_measuring()
        mean_a = sum(microamps) / len(microamps) / 1e6
        return mean_a * self.volts, len(microamps) / SAMPLE_RATE

    def idle_power(self, seconds: float) -> float:
        deadline = time.monotonic() + seconds
        return self._collect(lambda: time.monotonic() < deadline)[0]

    def power_while(self, busy: threading.Event) -> tuple[float, float]:
        return self._collect(busy.is_set)
