"""int8 1x1 stride-1 unpadded CONV_2D with C = 8 or 16 input channels on Cortex-M DSP cores → the hand-written
kernel of compilers/c/kernels/dsp/pointwise_s8.c (a GEMM [P, C] x [C, O]; the derivation of its arithmetic is at
the top of that file).

Per output channel the kernel reads one record from flash: start, C / 2 int16 weight pairs, M, K (and q for the
_signed entries), every value already scaled so that one immediate right shift E (EDGEAI_PW_SHIFT) serves all
channels: channel c with right shift e_c gets d = E - e_c and its weights and start are scaled by 2^(1 + left + d).
The records are int16 weights (2 bytes per weight, against int8's 1 with 4 constants per channel either way): for
C = 8 the record is 7 words against the int8 kernel's 2 + 4, for C = 16 11 against 4 + 4.

conv_call returns None (no decline: the general kernel takes the layer) for the layers it does not specialise:
not 1x1 stride 1 unpadded, C not 8 or 16, one-rounding requantization, or channels whose shifts the single E
cannot serve (d outside 1..7 - left, or an accumulator that could overflow once scaled).
"""

from __future__ import annotations

import numpy as np

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering import cortex_m

PW_FILE = "dsp/pointwise_s8.c"
SHIFT = 12  # pointwise_s8.h: EDGEAI_PW_SHIFT
MAX_O4 = 256  # pointwise_s8.h: EDGEAI_PW_MAX_O4
CHANNELS = (8, 16)
_ARGS = "(const int8_t* input, const int32_t* records, const int32_t* geom, int8_t* output)"
_INT32_MAX = (1 << 31) - 1


def records(w2d: np.ndarray, bias, in_zp: int, out_zp: int, lo: int, hi: int, mult, shift,
            signed: bool) -> np.ndarray | None:
    """The kernel's records [O4, 3 + C / 2 (+ 1 signed)] int32, or None when one immediate shift cannot serve
    every channel exactly. w2d: [O, C] int8 weights; mult, shift: TFLite's per-channel requantization."""
    o, c = w2d.shape
    o4 = -(-o // 4) * 4
    w64 = w2d.astype(np.int64)
    bias64 = np.zeros(o, np.int64) if bias is None else np.asarray(bias, np.int64)
    mult, shift = np.broadcast_to(np.asarray(mult, np.int64), (o,)), np.broadcast_to(np.asarray(shift, np.int64), (o,))
    live = (np.abs(w64).sum(axis=1) > 0) & (mult != 0)
    start = bias64 - in_zp * w64.sum(axis=1)
    bound = np.abs(start) + 128 * np.abs(w64).sum(axis=1)
    left, right = np.maximum(shift, 0), np.maximum(-shift, 0)
    d = SHIFT - right
    s = 1 + left + d  # the scale's log2: weights and start are multiplied by 2^s
    if np.any(live & ((right < 1) | (d < 1) | (s > 8) | (mult < 0))):
        return None
    if np.any(live & ((bound << np.where(live, s, 0)) > _INT32_MAX)):
        return None
    words = 3 + c // 2 + int(signed)
    rec = np.zeros((o4, words), np.int64)
    scaled = np.where(live[:, None], w64 << np.where(live, s, 0)[:, None], 0)  # |w| <= 128, s <= 8: int16
    # SXTB16's pairs: for each 4 inputs (w0, w2), (w1, w3)
    pairs = scaled.reshape(o, c // 4, 4)[:, :, [0, 2, 1, 3]].reshape(o, c)
    rec[:o, 1:1 + c // 2] = (pairs[:, 0::2] & 0xFFFF) | ((pairs[:, 1::2] & 0xFFFF) << 16)
    rec[:o, 0] = np.where(live, start << np.where(live, s, 0), 0)
    rec[:o, 1 + c // 2] = np.where(live, mult, 0)
    dl = np.where(live, d, 1)
    # K = 2^(d-1) + c 2^d with c = 2^(e-1) + (zp << e): 2^(d-1) + 2^(E-1) + (zp << E)
    rec[:o, 2 + c // 2] = (1 << (dl - 1)) + (1 << (SHIFT - 1)) + (out_zp << SHIFT)
    if signed:
        rec[:o, 3 + c // 2] = np.where(live, 1 << dl, 0)
    for ch in np.flatnonzero(~live):  # a constant output v (pruned: weights or multiplier 0): K = v << E
        v = min(max(out_zp + cortex_m._requantize(int(bias64[ch]), int(mult[ch]), int(shift[ch]), "double"), lo), hi)
        rec[ch, 2 + c // 2] = v << SHIFT
    return (rec.reshape(-1) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)


def conv_call(ctx, node, x_shape, w: np.ndarray, bias, in_zp, out_zp, lo, hi, mult, shift, out_shape, attrs,
              rounding="double"):
    """CONV_2D (w [O, 1, 1, C], C = 8 or 16, stride 1, no padding, TFLite's two roundings) → edgeai_pointwise_s8_*;
    None for any other layer (no decline: the next maker, the general kernel, takes it)."""
    n, h, wd, c = x_shape
    o, kh, kw, _ = w.shape
    if (rounding != "double" or n != 1 or (kh, kw) != (1, 1) or c not in CHANNELS or tuple(attrs["strides"]) != (1, 1)
            or tuple(attrs["dilations"]) != (1, 1) or any(attrs["padding"]) or tuple(out_shape[1:3]) != (h, wd)
            or -(-o // 4) * 4 > MAX_O4):
        return None
    signed = lo < out_zp  # the plain entries drop the sign-dependent rounding: exact only when lo >= zp_out
    rec = records(w.reshape(o, c), bias, in_zp, out_zp, lo, hi, mult, shift, signed)
    if rec is None:
        return None
    o4 = -(-o // 4) * 4
    clamp = int(lo > -128 or hi < 127)
    geom = np.array([h * wd, o, o4, clamp, lo, hi], np.int32)
    ctx.storage[node.name] = "int16 (pointwise records)"
    name = f"edgeai_pointwise_s8_c{c}" + ("_signed" if signed else "") + ("_clamp" if clamp else "")
    symbol = ctx.c_kernel(PW_FILE, *cortex_m._entry(name, _ARGS, False))
    return KernelCall(node.name, node.op, symbol, (TensorArg(node.inputs[0]), ctx.derived(rec), ctx.derived(geom),
                                                   TensorArg(node.outputs[0])))
