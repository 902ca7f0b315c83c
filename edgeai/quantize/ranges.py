"""Run the float model on the calibration set with every activation exposed, and feed the observers."""

from __future__ import annotations

import numpy as np
import onnx

from edgeai.quantize import observers as obs
from edgeai.quantize.prepare import expose, float_activations, run, session


def collect_ranges(model: onnx.ModelProto, samples: list[dict[str, np.ndarray]], observer: str = "minmax",
                   percentile: float = 99.99) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]]]:
    """(ranges from `observer`, min/max ranges) for every float activation of the model.

    MinMax needs one pass over the data; Percentile and Entropy a second one to fill histograms over the
    first pass's range.
    """
    if observer not in obs.OBSERVERS:
        raise ValueError(f"unknown observer {observer!r}: choose one of {', '.join(obs.OBSERVERS)}")
    names = float_activations(model)
    sess = session(expose(model, names))
    minmax = {t: obs.MinMaxObserver() for t in names}
    for sample in samples:
        out = run(sess, sample)
        for t in names:
            minmax[t].observe(out[t])
    mm_ranges = {t: o.range() for t, o in minmax.items()}
    if observer == "minmax":
        return mm_ranges, mm_ranges
    second = {t: obs.make_observer(observer, *mm_ranges[t], percentile=percentile) for t in names}
    for sample in samples:
        out = run(sess, sample)
        for t in names:
            second[t].observe(out[t])
    return {t: o.range() for t, o in second.items()}, mm_ranges
