"""Observers: turn the values a tensor took during calibration into the float range [lo, hi] to quantize.

MinMax sees every value once. Percentile and Entropy need a histogram, so calibration runs in two passes:
the first finds each tensor's min/max (a MinMaxObserver), the second fills a histogram over that range.
Every observer answers `range() -> (lo, hi)` with lo <= 0 <= hi (zero must be representable).
"""

from __future__ import annotations

import numpy as np

OBSERVERS = ("minmax", "percentile", "entropy")


class MinMaxObserver:
    """Running minimum and maximum."""

    def __init__(self):
        self.lo = np.inf
        self.hi = -np.inf

    def observe(self, x: np.ndarray) -> None:
        if x.size:
            self.lo = min(self.lo, float(np.min(x)))
            self.hi = max(self.hi, float(np.max(x)))

    def range(self) -> tuple[float, float]:
        if self.lo > self.hi:  # never saw a value
            return 0.0, 0.0
        return min(self.lo, 0.0), max(self.hi, 0.0)


class PercentileObserver:
    """Clip to the [100-p, p] percentiles of the values, read from a fine signed histogram over [lo, hi].

    The histogram has 2**14 bins: a percentile is found to within (hi-lo)/16384, then interpolated linearly
    inside its bin. Values are assumed uniform within a bin.
    """

    BINS = 1 << 14

    def __init__(self, lo: float, hi: float, percentile: float = 99.99):
        if not 50.0 < percentile <= 100.0:
            raise ValueError(f"percentile must be in (50, 100], got {percentile}")
        self.lo, self.hi = min(lo, 0.0), max(hi, 0.0)
        self.percentile = percentile
        self.hist = np.zeros(self.BINS, np.int64)

    def observe(self, x: np.ndarray) -> None:
        if self.hi > self.lo:
            self.hist += np.histogram(x, bins=self.BINS, range=(self.lo, self.hi))[0]

    def range(self) -> tuple[float, float]:
        total = self.hist.sum()
        if total == 0 or self.hi <= self.lo:
            return self.lo, self.hi
        cdf = np.cumsum(self.hist) / total
        edges = np.linspace(self.lo, self.hi, self.BINS + 1)
        q = self.percentile / 100.0
        lo = _quantile(cdf, edges, 1.0 - q)
        hi = _quantile(cdf, edges, q)
        return min(lo, 0.0), max(hi, 0.0)


def _quantile(cdf: np.ndarray, edges: np.ndarray, q: float) -> float:
    i = int(np.searchsorted(cdf, q, side="left"))
    i = min(i, len(cdf) - 1)
    before = cdf[i - 1] if i else 0.0
    inside = cdf[i] - before
    frac = (q - before) / inside if inside > 0 else 1.0
    return float(edges[i] + np.clip(frac, 0.0, 1.0) * (edges[i + 1] - edges[i]))


class EntropyObserver:
    """KL-divergence calibration as TensorRT describes it (Migacz, "8-bit Inference with TensorRT", 2017).

    A histogram of |x| with 2048 bins over [0, amax]. For every candidate threshold bin i >= the number of
    quantized levels, the reference distribution P is the first i bins with everything beyond folded into
    bin i-1; the candidate Q merges those i bins into `levels` groups and spreads each group's mass evenly
    over its non-empty bins. The threshold with the smallest KL(P || Q) wins: (i + 0.5) * bin width.
    `levels` is 128 for a tensor of both signs (one half of int8 each side) and 255 for a one-signed tensor
    (after ReLU: asymmetric int8 spends all its codes on one side). The range is then [-t, t] intersected
    with the observed [lo, hi].

    One departure: exact zeros are left out of the histogram. Zero is exactly representable whatever the
    threshold (the zero point is an integer), so zeros say nothing about where to clip; but after a ReLU
    they are half of all values, all in bin 0, and merging that spike with its neighbours makes every
    candidate but the smallest look bad, which clipped ReLU outputs of the MLPerf Tiny models to 1/8 of
    their range and wrecked them (kws output SQNR -0.3 dB).
    """

    BINS = 2048

    def __init__(self, lo: float, hi: float):
        self.lo, self.hi = min(lo, 0.0), max(hi, 0.0)
        self.amax = max(-self.lo, self.hi)
        self.levels = 128 if (self.lo < 0.0 < self.hi) else 255
        self.hist = np.zeros(self.BINS, np.int64)

    def observe(self, x: np.ndarray) -> None:
        if self.amax > 0:
            a = np.abs(x)
            a = a[a != 0]  # exact zeros (ReLU) are exact at any threshold: see the class note
            self.hist += np.histogram(a, bins=self.BINS, range=(0.0, self.amax))[0]

    def threshold(self) -> float:
        hist = self.hist.astype(np.float64)
        if self.amax <= 0 or hist.sum() == 0:
            return self.amax
        width = self.amax / self.BINS
        best_i, best_kl = self.BINS, np.inf
        levels = self.levels
        for i in range(levels, self.BINS + 1):
            p = hist[:i].copy()
            p[i - 1] += hist[i:].sum()
            kl = _kl(p, _merge_expand(hist[:i], levels))
            if kl < best_kl:
                best_i, best_kl = i, kl
        return (best_i + 0.5) * width if best_i < self.BINS else self.amax

    def range(self) -> tuple[float, float]:
        t = self.threshold()
        return max(self.lo, -t), min(self.hi, t)


def _merge_expand(p: np.ndarray, levels: int) -> np.ndarray:
    """Quantize histogram p into `levels` groups of bins, then spread each group back over its non-empty bins."""
    n = len(p)
    group = np.minimum((np.arange(n) * levels) // n, levels - 1)
    nonzero = p > 0
    mass = np.bincount(group, weights=p, minlength=levels)
    count = np.bincount(group, weights=nonzero, minlength=levels)
    per_bin = np.divide(mass, count, out=np.zeros(levels), where=count > 0)
    return np.where(nonzero, per_bin[group], 0.0)


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    p = p / p.sum()
    qs = q.sum()
    if qs == 0:
        return np.inf
    q = q / qs
    mask = p > 0
    # Where P has mass and Q has none the divergence is infinite; a small floor keeps candidates comparable.
    qm = np.maximum(q[mask], 1e-12)
    return float(np.sum(p[mask] * np.log(p[mask] / qm)))


def make_observer(kind: str, lo: float, hi: float, percentile: float = 99.99):
    """The second-pass observer for `kind`, over the first pass's range; None for minmax (no second pass)."""
    if kind == "minmax":
        return None
    if kind == "percentile":
        return PercentileObserver(lo, hi, percentile)
    if kind == "entropy":
        return EntropyObserver(lo, hi)
    raise ValueError(f"unknown observer {kind!r}: choose one of {', '.join(OBSERVERS)}")
