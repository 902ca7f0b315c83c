"""int8 conv2d of few input channels (a CNN's first layer) on Cortex-M DSP cores → compilers/c/kernels/dsp/
conv_stem_s8.c, tried before the general kernel (cortex_m.conv_call; kernel_table's "dsp" row).

Which layers: batch 1, no dilation, C <= MAX_CHANNELS, window rows of KW * C bytes not a multiple of 4 (whole-word
rows waste nothing in the general kernel, which reads them in place: KWS's 10x4x1 first layer measured 510,204
instructions here against 468,023 there, and its firmware has no flash for this kernel), a window of
K = KH * KW * C <= 4 * MAX_STEPS values, O even,
TFLite's requantization (two roundings: the MLPerf Tiny models; the one-rounding numerics stay on the general
kernel), and one accumulator scale for the whole layer (the weights are widened with it). Any other layer returns
None without a decline, and the general kernel takes it.

What is prepared here: the int8 weights reordered into the kernel's widened stream (conv_stem_s8.h): each window's
values are widened in the kernel per row as whole words (bytes 0/2 and 1/3 of each word) and then the bytes past
them, paired across rows; `_pair_of` maps each (ky, kx, c) to its int16 pair and half, and the weights follow it.
The channel constants are cortex_m._channel_constants' (start values already scaled, as int16 weights carry them).
"""

from __future__ import annotations

import numpy as np

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering import cortex_m

STEM_FILE = "dsp/conv_stem_s8.c"
MAX_CHANNELS = 4
MAX_STEPS = 10  # conv_stem_s8.h: EDGEAI_STEM_MAX_STEPS, two weight pairs (4 values) per step
STREAM_WORDS = 768  # conv_stem_s8.h: EDGEAI_STEM_STREAM_WORDS
# conv_stem_s8.c keeps on the stack the widened stream, two pixels' widened windows and a border patch.
STACK_SCRATCH = {"edgeai_conv_stem_s8": 4 * STREAM_WORDS + 16 * MAX_STEPS + 4 * MAX_STEPS + 40,
                 "edgeai_conv_stem_s8_clamp": 4 * STREAM_WORDS + 16 * MAX_STEPS + 4 * MAX_STEPS + 40}


def _pair_of(kh: int, kw: int, c: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(pair [KH, KW, C], half [KH, KW, C], steps): where conv_stem_s8.c's widen_window puts each window value."""
    rb = kw * c
    nq, tail = rb // 4, rb % 4
    pair = np.zeros((kh, rb), np.int64)
    half = np.zeros((kh, rb), np.int64)
    for r in range(kh):
        for b in range(rb):
            if b < 4 * nq:  # word r * nq + b // 4: SXTB16 pairs bytes (0, 2), ROR 8 bytes (1, 3)
                pair[r, b] = 2 * (r * nq + b // 4) + (b % 4) % 2
                half[r, b] = (b % 4) // 2
            else:  # the tail bytes of all rows, paired in row order
                i = r * tail + (b - 4 * nq)
                pair[r, b] = 2 * kh * nq + i // 2
                half[r, b] = i % 2
    pairs = 2 * kh * nq + (kh * tail + 1) // 2
    return pair.reshape(kh, kw, c), half.reshape(kh, kw, c), (pairs + 1) // 2


def pack_weights(w: np.ndarray) -> tuple[np.ndarray, int]:
    """(int32 words, steps): w [O, KH, KW, C] int8 (O even) in the stream's order, per channel pair and step the
    word of c0's pairs (j, j+1) then c1's, each word's bytes (j low, j+1 low, j high, j+1 high)."""
    o, kh, kw, c = w.shape
    pair, half, steps = _pair_of(kh, kw, c)
    wp = np.zeros((o, 2 * steps, 2), np.int64)  # [channel, pair, half]
    wp[:, pair.reshape(-1), half.reshape(-1)] = w.reshape(o, -1)
    # [channel pair, ch, step, (j, j+1), half] → [channel pair, step, ch, half, (j, j+1)]
    words = wp.reshape(o // 2, 2, steps, 2, 2).transpose(0, 2, 1, 4, 3)
    return cortex_m._bytes_words(words.reshape(-1, 4)).reshape(-1), steps


def conv_call(ctx, node, x_shape, w: np.ndarray, bias, in_zp, out_zp, lo, hi, mult, shift, out_shape, attrs,
              rounding="double"):
    """CONV_2D of few input channels → edgeai_conv_stem_s8[_clamp], or None (the general kernel takes it)."""
    n, h, wd, c = x_shape
    o, kh, kw, _ = w.shape
    (sh, sw), (dh, dw), (pt, pl, _, _) = attrs["strides"], attrs["dilations"], attrs["padding"]
    if (n != 1 or (dh, dw) != (1, 1) or c > MAX_CHANNELS or o % 2 or rounding != "double"
            or (kw * c) % 4 == 0 or _pair_of(kh, kw, c)[2] > MAX_STEPS):
        return None
    consts = cortex_m._channel_constants(w.reshape(o, -1), bias, in_zp, out_zp, lo, hi, mult, shift, rounding)
    if isinstance(consts, str):
        return None
    scale, chan = consts
    acc_shift = cortex_m._acc_shift(scale, chan)
    if acc_shift is None:  # the weights are widened with one scale
        return None
    packed, steps = pack_weights(w)
    ctx.storage[node.name] = "int8"
    geom = np.array([h, wd, c, out_shape[1], out_shape[2], o, kh, kw, sh, sw, pt, pl, in_zp, lo, hi, acc_shift,
                     steps], np.int32)
    name = "edgeai_conv_stem_s8" if (lo, hi) == (-128, 127) else "edgeai_conv_stem_s8_clamp"
    symbol = ctx.c_kernel(STEM_FILE, *cortex_m._entry(name, cortex_m._ARGS, False))
    return KernelCall(node.name, node.op, symbol, (TensorArg(node.inputs[0]), ctx.derived(packed),
                                                   ctx.derived(chan.reshape(-1)), ctx.derived(geom),
                                                   TensorArg(node.outputs[0])))
