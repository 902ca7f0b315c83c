"""int8 DEPTHWISE_CONV_2D on Helium (MVE) cores → compilers/c/kernels/mve/dwconv_s8_mve.c, with the layer's
constants prepared here. The requantization's checks and constants come from cortex_m._channel_constants (the
same exactness rules as the DSP kernel); this module only re-lays them out for four-lane vectors:
  * start value bias - zp_in * sum(w) (the DSP constants are doubled for SMMULR; MVE's VQRDMULH doubles itself);
  * TFLite: multiplier and -e for VRSHL; ONNX numerics: multiplier, the rounding constant and -s for VMULH/VSHL,
    which needs T >= 33 (a layer with T = 32 falls through to the DSP kernel);
  * a pruned channel (all weights zero, constant output v): start 2 (v - zp), multiplier 2^31 - 1, e 1, which
    VQRDMULH and VRSHL turn back into v - zp.
"""

from __future__ import annotations

import numpy as np

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering.cortex_m import _channel_constants, _entry

DW_FILE = "mve/dwconv_s8_mve.c"
_ARGS = "(const int8_t* input, const int8_t* weights, const int32_t* channel, const int32_t* geom, int8_t* output)"
BLOCK = 16  # channels per step (four int32x4 accumulators)
_INT32_MAX = (1 << 31) - 1


def vector_channel_constants(chan: np.ndarray, channels: int, out_zp: int, single_rounding: bool):
    """The DSP kernel's per-channel constants (cortex_m._channel_constants: start * 2, multiplier, then the two
    rounding words) → [ceil(C / 4)][4 constants][4 lanes] int32 for the MVE kernels, or a reason they cannot."""
    c4 = -(-channels // 4) * 4
    ch = chan[:channels].astype(np.int64)
    start, mult = ch[:, 0] // 2, ch[:, 1]
    out = np.zeros((c4, 4), np.int64)
    dead = mult == 0
    if single_rounding:  # DSP: rounding word 2^(T-32) + (zp << (T+1-32)), shift T+1-32; MVE: T-32 without doubling
        s = ch[:, 3] - 1
        if np.any(~dead & (s < 1)):
            return "a requantization shift of 32 bits (the MVE kernel's VMULH needs 33 or more)"
        out[:channels] = np.stack([start, mult, (1 << np.maximum(s - 1, 0)) + (out_zp << s), -s], 1)
        out[:channels][dead] = np.stack([np.zeros_like(start), mult, ch[:, 2], np.zeros_like(start)], 1)[dead]
    else:  # DSP: e, 2^(e-1) + (zp << e); dead channels (0, 0, 1, 1 + 2v)
        out[:channels] = np.stack([start, mult, -ch[:, 2], np.zeros_like(start)], 1)
        v = (ch[:, 3] - 1) // 2
        out[:channels][dead] = np.stack([2 * (v - out_zp), np.full_like(v, _INT32_MAX), np.full_like(v, -1),
                                         np.zeros_like(v)], 1)[dead]
    return out.reshape(c4 // 4, 4, 4).transpose(0, 2, 1).astype(np.int32)


def dwconv_call(ctx, node, x_shape, w: np.ndarray, bias, in_zp, out_zp, lo, hi, mult, shift, out_shape, attrs,
                rounding="double"):
    """DEPTHWISE_CONV_2D (w [1, KH, KW, C], depth multiplier 1, any C) → edgeai_dwconv_s8_mve."""
    n, h, wd, c = x_shape
    _, kh, kw, o = w.shape
    (sh, sw), (dh, dw), (pt, pl, _, _) = attrs["strides"], attrs["dilations"], attrs["padding"]
    taps = kh * kw
    why = (f"batch {n}" if n != 1 else f"dilation {dh}x{dw}" if (dh, dw) != (1, 1) else
           f"depth multiplier {o // c if c else o}" if o != c else None)
    wt = w.reshape(taps, c).T  # [C, taps]
    consts = why or _channel_constants(wt, bias, in_zp, out_zp, lo, hi, mult, shift, rounding)
    if not isinstance(consts, str):
        consts = vector_channel_constants(consts[1], c, out_zp, rounding != "double")
    if isinstance(consts, str):
        return ctx.decline(node, f"edgeai_dwconv_s8_mve declines: {consts}")
    blocks = -(-c // BLOCK)
    packed = np.zeros((blocks * BLOCK, taps), np.int8)
    packed[:c] = wt
    packed = packed.reshape(blocks, BLOCK, taps).transpose(0, 2, 1)  # [block, tap, 16 channels]
    geom = np.array([h, wd, c, out_shape[1], out_shape[2], kh, kw, sh, sw, pt, pl, in_zp, out_zp, lo, hi], np.int32)
    symbol = ctx.c_kernel(DW_FILE, *_entry("edgeai_dwconv_s8_mve", _ARGS, rounding != "double"))
    return KernelCall(node.name, node.op, symbol, (TensorArg(node.inputs[0]), ctx.derived(packed.reshape(-1)),
                                                   ctx.derived(consts.reshape(-1)), ctx.derived(geom),
                                                   TensorArg(node.outputs[0])))
