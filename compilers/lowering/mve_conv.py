"""int8 conv2d / fully_connected on Helium (MVE) cores → compilers/c/kernels/mve/conv_s8_mve.c, with everything
layer-specific prepared here as derived constants.

What is folded at compile time:
  * the input zero point: start = bias - zp_in * sum(w), so the inner loop multiplies raw int8 inputs (padding
    reads zp_in, which then contributes exactly zp_in * w);
  * the weights' order: int8 (VMLADAVA.S8 multiplies int8 lanes), laid out as the inner loop reads them (see
    conv_s8_mve.h): per group of 4 output channels and weight row, 16 bytes of each channel in turn;
  * the requantization constants as 4-lane vectors per group: TFLite's (start, left shift, multiplier, -right
    shift, output offset) for the two roundings, the DSP kernels' (cortex_m._channel_constants) for the one
    rounding of LiteRT's FC and of ONNX numerics (halves up, declined where an accumulator could meet a half);
  * a pruned channel (all-zero weights) has a constant output, computed here with TFLite's arithmetic.

A call maker returns None (ctx.decline) when the kernel cannot take the layer exactly (batch > 1, dilation, a
window larger than the kernel's patch, an accumulator that could overflow int32); the layer falls through to
the next instruction set.
"""

from __future__ import annotations

import numpy as np

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering.cortex_m import _channel_constants, _entry, _requantize

CONV_FILE = "mve/conv_s8_mve.c"
_ARGS = "(const int8_t* input, const int8_t* weights, const int32_t* channel, const int32_t* geom, int8_t* output)"
MAX_PATCH = 1152  # conv_s8_mve.h: EDGEAI_MVE_MAX_PATCH
STACK_SCRATCH = {"edgeai_conv_s8_mve": 2 * MAX_PATCH}  # two gathered windows on the stack
_INT32_MAX = (1 << 31) - 1


def _ceil(v: int, m: int) -> int:
    return -(-v // m) * m


def _two_rounding_constants(w2d: np.ndarray, bias, in_zp: int, out_zp: int, lo: int, hi: int, mult, shift):
    """channel [O4 / 4, 5, 4] int32 (start, left, multiplier, -right, offset per lane), or why not exact."""
    o = w2d.shape[0]
    w64 = w2d.astype(np.int64)
    bias64 = np.zeros(o, np.int64) if bias is None else np.asarray(bias, np.int64)
    live = np.abs(w64).sum(axis=1) > 0
    start = bias64 - in_zp * w64.sum(axis=1)
    if np.any(live & (np.abs(start) + 128 * np.abs(w64).sum(axis=1) > _INT32_MAX)):
        return "an accumulator that could overflow int32"
    mult, shift = np.asarray(mult, np.int64), np.asarray(shift, np.int64)
    chan = np.zeros((_ceil(o, 4), 5), np.int64)
    chan[o:, 3] = -1  # channels padding the last group (not stored): like a pruned one
    chan[:o] = np.stack([start, np.maximum(shift, 0), mult, -np.maximum(-shift, 0), np.full(o, out_zp)], axis=1)
    for c in np.flatnonzero(~live):  # a constant output v: multiplier 0, a right shift of 1 rounds 0 to 0
        v = min(max(out_zp + _requantize(int(bias64[c]), int(mult[c]), int(shift[c]), "double"), lo), hi)
        chan[c] = (0, 0, 0, -1, v)
    return chan


def _lanes(chan: np.ndarray) -> np.ndarray:
    """[O4, k] per-channel constants → [O4 / 4, k, 4]: one 4-lane vector per constant and group."""
    return chan.reshape(-1, 4, chan.shape[1]).transpose(0, 2, 1).astype(np.int32)


def conv_call(ctx, node, x_shape, w: np.ndarray, bias, in_zp, out_zp, lo, hi, mult, shift, out_shape, attrs,
              rounding="double"):
    """CONV_2D (w [O, KH, KW, C]) or FULLY_CONNECTED (as 1x1, x_shape [1, rows, 1, K]) → edgeai_conv_s8_mve."""
    n, h, wd, c = x_shape
    o, kh, kw, _ = w.shape
    (sh, sw), (dh, dw), (pt, pl, _, _) = attrs["strides"], attrs["dilations"], attrs["padding"]
    # A window row of at least 16 bytes is read in place; shorter ones are gathered with the rest of the window
    # into one row (KWS's 10x4 first conv over one channel, the 3x3 RGB convs).
    flat = kh > 1 and kw * c < 16
    rows, row_bytes = (1, kh * kw * c) if flat else (kh, kw * c)
    seg = _ceil(row_bytes, 16)
    why = (f"batch {n}" if n != 1 else f"dilation {dh}x{dw}" if (dh, dw) != (1, 1) else
           f"window {kh}x{kw}x{c} = {rows * seg} bytes (rows padded to 16) > MAX_PATCH {MAX_PATCH}"
           if rows * seg > MAX_PATCH else None)
    w2d = w.reshape(o, -1)
    if why is None and rounding == "double":
        chan = _two_rounding_constants(w2d, bias, in_zp, out_zp, lo, hi, mult, shift)
        why = chan if isinstance(chan, str) else None
    elif why is None:
        consts = _channel_constants(w2d, bias, in_zp, out_zp, lo, hi, mult, shift, rounding)
        why = consts if isinstance(consts, str) else None
        chan = None if why else consts[1]  # (start, multiplier, rounding, shift), start doubled
    if why:
        return ctx.decline(node, f"edgeai_conv_s8_mve declines: {why}")
    o4 = chan.shape[0]
    wr = np.zeros((o4, rows, seg), np.int8)
    wr[:o, :, :row_bytes] = w.reshape(o, rows, row_bytes)
    # [group, channel, row, chunk, 16] → [group, row, chunk, channel, 16]
    packed = wr.reshape(o4 // 4, 4, rows, seg // 16, 16).transpose(0, 2, 3, 1, 4).reshape(-1)
    lanes = _lanes(chan)
    multipliers = lanes[:, 2 if rounding == "double" else 1]
    geom = np.array([h, wd, c, out_shape[1], out_shape[2], o, kh, kw, sh, sw, pt, pl, in_zp, lo, hi, rows,
                     row_bytes, seg, int(flat), int(bool(np.any(np.all(multipliers == 0, axis=1)))),
                     int(rounding == "double" and bool(np.any(lanes[:, 1] != 0))),
                     int(rounding == "double" and bool(np.all(lanes[:, 3] <= -1)))], np.int32)
    symbol = ctx.c_kernel(CONV_FILE, *_entry("edgeai_conv_s8_mve", _ARGS, rounding != "double"))
    return KernelCall(node.name, node.op, symbol, (TensorArg(node.inputs[0]), ctx.derived(np.ascontiguousarray(packed)),
                                                   ctx.derived(lanes.reshape(-1)), ctx.derived(geom),
                                                   TensorArg(node.outputs[0])))


def fc_call(ctx, node, rows, k, n, w: np.ndarray, bias, in_zp, out_zp, lo, hi, mult, shift, rounding="single"):
    """FULLY_CONNECTED (w [n, k]) as a 1x1 conv over `rows` pixels → edgeai_conv_s8_mve."""
    attrs = {"strides": (1, 1), "dilations": (1, 1), "padding": (0, 0, 0, 0)}
    return conv_call(ctx, node, (1, rows, 1, k), w.reshape(n, 1, 1, k), bias, in_zp, out_zp, lo, hi, mult, shift,
                     (1, rows, 1, n), attrs, rounding)
