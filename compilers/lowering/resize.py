"""resize_nearest and resize_bilinear → compilers/tvm/kernels/resize.py, with the source rows, columns and
weights computed here as LiteRT's reference kernels compute them (float32 coordinate arithmetic; int8 bilinear in
1/1024 fixed point), so that the kernels only gather and blend.

* nearest (internal/reference/resize_nearest_neighbor.h): scale = in / out, or (in - 1) / (out - 1) with
  align_corners; source = (i + 0.5 if half_pixel_centers) * scale, rounded (align_corners) or floored, at most
  in - 1 (and at least 0 with half-pixel centres).
* bilinear float (reference/resize_bilinear.h): y = (i + 0.5) * scale - 0.5 or i * scale; rows floor(y) (at
  least 0) and ceil(y) (at most in - 1), weight of the second y - row0.
* bilinear int8: scale_10 = (1024 in + out / 2) / out (or the align_corners one), y = i * scale_10
  (+ scale_10 / 2 - 512 with half-pixel centres), rows y / 1024 (at least 0) and (y + 1023) / 1024 (at most
  in - 1), C's truncating division; weight y - 1024 row0. Input and output quantization must be equal
  (LiteRT interpolates the stored values).

ONNX coordinates (compilers/lowering/resize_onnx.py, onnxruntime's float32 coordinate arithmetic) give the same
tables to the same kernels in float. int8 in ONNX numerics (what DequantizeLinear → Resize → QuantizeLinear
means) goes to the taps kernel: two taps (bilinear) or four (cubic) per axis, weights in 1/2**20, one rounding,
halves to even. int8 bilinear in TFLite numerics with an ONNX transform LiteRT has (half_pixel, and
pytorch_half_pixel onto more than one pixel: half_pixel_centers; align_corners; asymmetric; with the scale
out / in) is LiteRT's integer bilinear of those flags; another transform takes its weights in 1/1024 from the
float32 coordinates, into LiteRT's integer blend. LiteRT has no cubic resize: cubic computes ONNX's arithmetic
in both numerics.
"""

from __future__ import annotations

import math

import numpy as np

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering.movement import same_quantization
from compilers.lowering.registry import rule
from compilers.lowering import resize_onnx
from compilers.tvm.kernels.resize import WEIGHT_BITS, ResizeParams, TapsParams, resize_bilinear, resize_nearest, \
    resize_taps

_F32 = np.float32


def _float_scale(size_in: int, size_out: int, align_corners: bool) -> np.float32:
    if align_corners and size_out > 1:
        return _F32(size_in - 1) / _F32(size_out - 1)
    return _F32(size_in) / _F32(size_out)


def nearest_sources(size_in: int, size_out: int, align_corners: bool, half_pixel: bool) -> np.ndarray:
    scale = _float_scale(size_in, size_out, align_corners)
    offset = _F32(0.5 if half_pixel else 0.0)
    sources = []
    for i in range(size_out):
        at = float((_F32(i) + offset) * scale)
        src = int(math.copysign(math.floor(abs(at) + 0.5), at)) if align_corners else math.floor(at)
        src = min(src, size_in - 1)
        sources.append(max(src, 0) if half_pixel else src)
    return np.asarray(sources, np.int32)


def _c_divide(a: int, b: int) -> int:
    q = abs(a) // b
    return q if a >= 0 else -q


def bilinear_integer(size_in: int, size_out: int, align_corners: bool, half_pixel: bool):
    """(row0, row1, weight of row1 in 1/1024) per output index, int32 arrays: LiteRT's integer bilinear."""
    scale = (1024 * size_in + size_out // 2) // size_out
    if align_corners and size_out > 1:
        scale = (1024 * (size_in - 1) + (size_out - 1) // 2) // (size_out - 1)
    r0, r1, w = [], [], []
    for i in range(size_out):
        at = i * scale + (scale // 2 - 512 if half_pixel else 0)
        lo = max(_c_divide(at, 1024), 0)
        r0.append(lo)
        r1.append(min(_c_divide(at + 1023, 1024), size_in - 1))
        w.append(at - 1024 * lo)
    return tuple(np.asarray(v, np.int32) for v in (r0, r1, w))


def bilinear_float(size_in: int, size_out: int, align_corners: bool, half_pixel: bool):
    """(row0, row1, weight of row1) per output index: LiteRT's float bilinear (float32 arithmetic)."""
    scale = _float_scale(size_in, size_out, align_corners)
    r0, r1, w = [], [], []
    for i in range(size_out):
        at = (_F32(i) + _F32(0.5)) * scale - _F32(0.5) if half_pixel else _F32(i) * scale
        lo = max(math.floor(float(at)), 0)
        r0.append(lo)
        r1.append(min(math.ceil(float(at)), size_in - 1))
        w.append(_F32(at) - _F32(lo))
    return np.asarray(r0, np.int32), np.asarray(r1, np.int32), np.asarray(w, np.float32)


def _params(ctx, node):
    x, a = ctx.graph.tensor(node.inputs[0]), node.attrs
    return x, ResizeParams(x.shape, tuple(a["size"]), x.dtype, a["align_corners"], a["half_pixel_centers"],
                           a["coordinates"])


def _onnx_axes(node, x):
    """(transform, size_in, size_out, scale) of H and W for an ONNX-coordinate resize."""
    a = node.attrs
    return [(a["coordinates"], x.shape[1 + i], a["size"][i], (a["scale_h"], a["scale_w"])[i]) for i in (0, 1)]


def _litert_flags(node, x):
    """The TFLite (align_corners, half_pixel_centers) that compute this ONNX transform, or None."""
    transform = node.attrs["coordinates"]
    axes = _onnx_axes(node, x)
    if any(resize_onnx.onnx_scale(s, n_in, n_out) != resize_onnx.onnx_scale(0, n_in, n_out)
           for _, n_in, n_out, s in axes) and transform != "align_corners":
        return None
    if transform == "half_pixel" or transform == "pytorch_half_pixel" and min(a[2] for a in axes) > 1:
        return False, True
    return {"align_corners": (True, False), "asymmetric": (False, False)}.get(transform)


def _call(ctx, node, make, params, tag, tables):
    same_quantization(ctx.graph, node)
    args = (TensorArg(node.inputs[0]), *(ctx.derived(t) for t in tables), TensorArg(node.outputs[0]))
    return [KernelCall(node.name, node.op, ctx.tvm_kernel(make, params, tag), args)]


def nearest_rule(ctx, node):
    x, p = _params(ctx, node)
    if p.coordinates != "tflite":
        mode = node.attrs["nearest_mode"]
        tables = tuple(resize_onnx.nearest_sources(t, mode, *rest) for t, *rest in _onnx_axes(node, x))
    else:
        flags = (p.align_corners, p.half_pixel_centers)
        tables = (nearest_sources(x.shape[1], p.size[0], *flags), nearest_sources(x.shape[2], p.size[1], *flags))
    return _call(ctx, node, resize_nearest, p, "nearest", tables)


def _float_taps(node, x, p):
    """(row0, row1, weight of row1) for H and W in float32 arithmetic."""
    if p.coordinates != "tflite":
        return tuple(resize_onnx.linear_taps(*axis) for axis in _onnx_axes(node, x))
    flags = (p.align_corners, p.half_pixel_centers)
    return bilinear_float(x.shape[1], p.size[0], *flags), bilinear_float(x.shape[2], p.size[1], *flags)


def _taps_call(ctx, node, x, p, per_axis):
    """The taps kernel for per-axis (rows [out, K], weights [out, K] float32); int8 weights in 1/2**WEIGHT_BITS."""
    k = per_axis[0][0].shape[1]
    zero_point = 0
    if x.dtype == "int8":
        zero_point = int(x.quant.zero_point[0])
        per_axis = [(r, np.rint(w.astype(np.float64) * (1 << WEIGHT_BITS)).astype(np.int32)) for r, w in per_axis]
    tables = [t for r, w in per_axis for t in (r, w)]
    params = TapsParams(x.shape, p.size, k, x.dtype, zero_point)
    return _call(ctx, node, resize_taps, params, f"taps{k}_", tables)


def bilinear_rule(ctx, node):
    x, p = _params(ctx, node)
    if x.dtype == "int8" and node.attrs.get("numerics", "tflite") == "onnx":
        pairs = [(np.stack([r0, r1], 1), np.stack([np.float32(1) - w, w], 1)) for r0, r1, w in _float_taps(node, x, p)]
        return _taps_call(ctx, node, x, p, pairs)
    if x.dtype != "int8":
        rows, cols = _float_taps(node, x, p)
    elif p.coordinates == "tflite" or _litert_flags(node, x) is not None:
        flags = (p.align_corners, p.half_pixel_centers) if p.coordinates == "tflite" else _litert_flags(node, x)
        rows, cols = bilinear_integer(x.shape[1], p.size[0], *flags), bilinear_integer(x.shape[2], p.size[1], *flags)
    else:
        rows, cols = ((r0, r1, np.rint(w.astype(np.float64) * 1024).astype(np.int32))
                      for r0, r1, w in _float_taps(node, x, p))
    return _call(ctx, node, resize_bilinear, p, "bilinear", rows + cols)


def cubic_rule(ctx, node):
    x, p = _params(ctx, node)
    a = node.attrs
    axes = [resize_onnx.cubic_taps(*axis, a["cubic_coeff_a"], a["exclude_outside"]) for axis in _onnx_axes(node, x)]
    return _taps_call(ctx, node, x, p, axes)


for _dtype in ("float32", "int8"):
    rule("resize_nearest", _dtype)(nearest_rule)
    rule("resize_bilinear", _dtype)(bilinear_rule)
    rule("resize_cubic", _dtype)(cubic_rule)
