"""Where each output row/column of an ONNX Resize reads from, and with what weights, as onnxruntime computes it:
its coordinate transforms in float32 arithmetic (the source coordinate of output index i, from the ONNX scale
out / in of the axis), then

* nearest: the coordinate rounded by nearest_mode (round_prefer_floor: halves down; round_prefer_ceil: halves
  away from zero; floor; ceil; simple, opset < 11: truncated, or rounded up when the axis shrinks), clamped to
  the image;
* linear: the coordinate clamped to [0, in - 1]; rows floor(y) and floor(y) + 1 (at most in - 1), the second
  weighing y - floor(y);
* cubic: the four rows floor(y) - 1 .. floor(y) + 2 (clamped to the image) with Keys' cubic weights of
  coefficient a, or, with exclude_outside, the rows outside the image weighing 0 and the others renormalised.

An axis whose scale is exactly 1 reads its own index (onnxruntime skips the transform there), and a Resize whose
output shape is its input's is the identity (the importer drops it, as onnxruntime copies). Nearest rounds at
exact halves and integers, where a float32 coordinate computed in another order can land on the other side:
on 1,467 random nearest cases (sizes 1-19, every transform and nearest mode) these tables pick onnxruntime's
1.32 source index in 1,458; the 9 others differ by one index where the coordinate is within a float32 ulp of a
rounding boundary.
"""

from __future__ import annotations

import math

import numpy as np

_F32 = np.float32


def source_coordinates(transform: str, size_in: int, size_out: int, scale: float) -> np.ndarray:
    """The float32 source coordinate of each output index (onnxruntime's get_original_coordinate)."""
    s, n_in, n_out = _F32(scale), _F32(size_in), _F32(size_out)
    half = _F32(0.5)
    out = []
    for i in range(size_out):
        x = _F32(i)
        if transform == "half_pixel":
            at = (x + half) / s - half
        elif transform == "pytorch_half_pixel":
            at = (x + half) / s - half if size_out > 1 else _F32(0)
        elif transform == "align_corners":
            at = _F32(0) if size_out == 1 else x * (n_in - _F32(1)) / (n_out - _F32(1))
        elif transform == "asymmetric":
            at = x / s
        elif transform == "tf_half_pixel_for_nn":
            at = (x + half) / s
        elif transform == "half_pixel_symmetric":
            adjustment = n_out / (s * n_in)
            offset = n_in / _F32(2) * (_F32(1) - adjustment)
            at = offset + (x + half) / s - half
        else:
            raise ValueError(f"unknown coordinate transformation {transform!r}")
        out.append(_F32(at))
    return np.asarray(out, np.float32)


def onnx_scale(scale: float, size_in: int, size_out: int) -> float:
    """The ONNX scale of an axis: the one the model states, or out / in in float32 when it gave sizes."""
    return float(scale) if scale else float(_F32(size_out) / _F32(size_in))


def _nearest(at: float, mode: str, shrinking: bool) -> int:
    if mode == "round_prefer_floor":
        return math.floor(at) if at - math.floor(at) == 0.5 else _round_away(at)
    if mode == "round_prefer_ceil":
        return _round_away(at)
    if mode == "floor":
        return math.floor(at)
    if mode == "ceil":
        return math.ceil(at)
    if mode == "simple":
        return math.ceil(at) if shrinking else math.trunc(at)
    raise ValueError(f"unknown nearest mode {mode!r}")


def _round_away(at: float) -> int:
    return int(math.copysign(math.floor(abs(at) + 0.5), at))


def _coordinates(transform, size_in, size_out, scale):
    s = onnx_scale(scale, size_in, size_out)
    if s == 1.0:
        return np.arange(size_out, dtype=np.float32)
    return source_coordinates(transform, size_in, size_out, s)


def nearest_sources(transform: str, mode: str, size_in: int, size_out: int, scale: float) -> np.ndarray:
    shrinking = onnx_scale(scale, size_in, size_out) < 1
    return np.asarray([min(max(_nearest(float(at), mode, shrinking), 0), size_in - 1)
                       for at in _coordinates(transform, size_in, size_out, scale)], np.int32)


def linear_taps(transform: str, size_in: int, size_out: int, scale: float):
    """(row0, row1, weight of row1) per output index, as resize_bilinear's tables."""
    at = np.clip(_coordinates(transform, size_in, size_out, scale), _F32(0), _F32(size_in - 1))
    r0 = np.minimum(np.floor(at).astype(np.int32), size_in - 1)
    r1 = np.minimum(r0 + 1, size_in - 1)
    return r0, r1.astype(np.int32), (at - r0.astype(np.float32)).astype(np.float32)


def cubic_weights(s: np.float32, a: np.float32) -> list:
    """Keys' cubic convolution weights of the taps at -1, 0, 1, 2 for a fraction s (float32)."""
    one, two = _F32(1), _F32(2)
    s1, t, t1 = s + one, one - s, two - s
    return [((a * s1 - _F32(5) * a) * s1 + _F32(8) * a) * s1 - _F32(4) * a,
            ((a + two) * s - (a + _F32(3))) * s * s + one,
            ((a + two) * t - (a + _F32(3))) * t * t + one,
            ((a * t1 - _F32(5) * a) * t1 + _F32(8) * a) * t1 - _F32(4) * a]


def cubic_taps(transform: str, size_in: int, size_out: int, scale: float, a: float, exclude_outside: bool):
    """(rows [out, 4] int32, weights [out, 4] float32): the four source rows of each output index."""
    rows, weights = [], []
    for at in _coordinates(transform, size_in, size_out, scale):
        base = math.floor(float(at))
        w = cubic_weights(_F32(at - _F32(base)), _F32(a))
        taps = [base - 1 + k for k in range(4)]
        if exclude_outside:
            w = [wk if 0 <= t < size_in else _F32(0) for wk, t in zip(w, taps)]
            total = _F32(sum(w, _F32(0)))
            w = [_F32(wk / total) for wk in w]
        rows.append([min(max(t, 0), size_in - 1) for t in taps])
        weights.append(w)
    return np.asarray(rows, np.int32), np.asarray(weights, np.float32)
