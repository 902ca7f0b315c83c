"""int8 conv2d / fully_connected (and depthwise_conv2d, add) on x86-64 → the hand-written kernels in
compilers/c/kernels/x86/, each picking AVX-VNNI / AVX512-VNNI / AVX2 / portable C at run time.

The layer preparation is the aarch64 one (compilers/lowering/neon_conv.py: conv_layout, channel_constants, the
geometry and bordered image): only the weights' order differs, [O8 / 8][K16 / 4][8 channels][4 k] for VPDPBUSD,
and the start value also folds the +128 every input byte gets (VPDPBUSD multiplies unsigned bytes). Every path
accumulates in int32 (no int16 lane), so a weight of -128 is taken. ONNX numerics as on aarch64: the one-rounding
path where no accumulator within reach lands on a half, else declined to TVM's kernel.
"""

from __future__ import annotations

import numpy as np

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering.cortex_m import _entry
from compilers.lowering import neon_conv
from compilers.lowering.neon_conv import _ARGS, G_MODE, G_OP, conv_layout, dw_layout

CONV_FILE, DWCONV_FILE, ADD_FILE = "x86/conv_s8_x86.c", "x86/dwconv_s8_x86.c", "x86/add_s8_x86.c"
_DW_ARGS = "(const int8_t* input, const int16_t* weights, const int32_t* channel, const int32_t* geom, int8_t* output)"
UNSIGNED_OFFSET = 128  # VPDPBUSD's inputs: x + 128 as an unsigned byte


_INT32_MIN = -(1 << 31)
# requant_s8_x86.h drops SaturatingRoundingDoublingHighMul's one saturating case, a multiplier of INT32_MIN times
# an accumulator of INT32_MIN; TFLite's multipliers are positive, so such a layer is declined, never wrong.
_NEGATIVE_MULTIPLIER = "a multiplier of -2^31 (the vector requantization leaves out its saturation)"


def _lane_order(op: int) -> np.ndarray:
    """The channel at each slot of dwconv_s8_x86.h's order: each 16 as 0-3, 8-11, 4-7, 12-15."""
    return np.arange(op).reshape(-1, 2, 2, 4).transpose(0, 2, 1, 3).reshape(-1)


def _pack(w2: np.ndarray) -> np.ndarray:
    """[O8, K16] → [O8 / 8][K16 / 4][8 channels][4 k] (conv_s8_x86.h)."""
    o8, k16 = w2.shape
    return w2.reshape(o8 // 8, 8, k16 // 4, 4).transpose(0, 2, 1, 3)


def conv_call(ctx, node, x_shape, w, bias, in_zp, out_zp, lo, hi, mult, shift, out_shape, attrs, rounding="double"):
    """CONV_2D (w [O, KH, KW, C]) → edgeai_conv_s8_x86."""
    if np.any(np.asarray(mult) == _INT32_MIN):
        return ctx.decline(node, f"edgeai_conv_s8_x86 declines: {_NEGATIVE_MULTIPLIER}")
    layout = conv_layout(x_shape, w, bias, in_zp, out_zp, lo, hi, mult, shift, out_shape, attrs, rounding,
                         minus_128_ok=True, input_offset=UNSIGNED_OFFSET)
    if isinstance(layout, str):
        return ctx.decline(node, f"edgeai_conv_s8_x86 declines: {layout}")
    w2, chan, geom = layout
    symbol = ctx.c_kernel(CONV_FILE, *_entry("edgeai_conv_s8_x86", _ARGS, False))
    return KernelCall(node.name, node.op, symbol, (TensorArg(node.inputs[0]), ctx.derived(_pack(w2).reshape(-1)),
                                                   ctx.derived(chan), ctx.derived(geom), TensorArg(node.outputs[0])))


_FC_ATTRS = {"strides": (1, 1), "dilations": (1, 1), "padding": (0, 0, 0, 0)}


def fc_call(ctx, node, rows, k, n, w, bias, in_zp, out_zp, lo, hi, mult, shift, rounding="single"):
    """FULLY_CONNECTED (w [n, k]) as a 1x1 conv over `rows` pixels → edgeai_conv_s8_x86."""
    return conv_call(ctx, node, (1, rows, 1, k), w.reshape(n, 1, 1, k), bias, in_zp, out_zp, lo, hi, mult, shift,
                     (1, rows, 1, n), _FC_ATTRS, rounding)


def dwconv_call(ctx, node, x_shape, w, bias, in_zp, out_zp, lo, hi, mult, shift, out_shape, attrs,
                rounding="double"):
    """DEPTHWISE_CONV_2D (w [1, KH, KW, C], depth multiplier 1) → edgeai_dwconv_s8_x86."""
    if np.any(np.asarray(mult) == _INT32_MIN):
        return ctx.decline(node, f"edgeai_dwconv_s8_x86 declines: {_NEGATIVE_MULTIPLIER}")
    layout = dw_layout(x_shape, w, bias, in_zp, out_zp, lo, hi, mult, shift, out_shape, attrs, rounding,
                       minus_128_ok=True)
    if isinstance(layout, str):
        return ctx.decline(node, f"edgeai_dwconv_s8_x86 declines: {layout}")
    wt, chan, geom = layout
    taps, c = wt.shape
    pairs = np.zeros((2 * (-(-taps // 2)), geom[G_OP]), np.int16)  # taps rounded up to even, channels to OP
    pairs[:taps, :c] = wt
    # each 16 channels in the lane order of VPUNPCKLWD / VPUNPCKHWD: 0-3, 8-11, 4-7, 12-15 (dwconv_s8_x86.h), the
    # weights and every per-channel plane
    order = _lane_order(geom[G_OP])
    pairs = pairs[:, order]
    if geom[G_MODE] == 1:  # start, multiplier, then T as int64 per channel
        planes = chan[:2 * len(order)].reshape(2, -1)[:, order].reshape(-1)
        chan = np.concatenate([planes, chan[2 * len(order):].view(np.int64)[order].view(np.int32)])
    else:
        chan = chan.reshape(-1, len(order))[:, order].reshape(-1)
    packed = pairs.reshape(-1, 2, geom[G_OP]).transpose(0, 2, 1)  # [taps / 2][OP][tap t, t + 1]
    symbol = ctx.c_kernel(DWCONV_FILE, *_entry("edgeai_dwconv_s8_x86", _DW_ARGS, False))
    return KernelCall(node.name, node.op, symbol, (TensorArg(node.inputs[0]), ctx.derived(packed.reshape(-1)),
                                                   ctx.derived(chan), ctx.derived(geom), TensorArg(node.outputs[0])))


def add_call(ctx, node, size: int, zp1: int, zp2: int, zo: int, lo: int, hi: int, q=None, exact=None):
    """ADD of two same-shape int8 tensors, TFLite's arithmetic → edgeai_add_s8_x86 (the aarch64 kernel's
    parameters; ONNX numerics decline as there)."""
    if q is not None and _INT32_MIN in (q.input1_multiplier, q.input2_multiplier, q.output_multiplier):
        return ctx.decline(node, f"edgeai_add_s8_x86 declines: {_NEGATIVE_MULTIPLIER}")
    return neon_conv.add_call(ctx, node, size, zp1, zp2, zo, lo, hi, q, exact, "edgeai_add_s8_x86", ADD_FILE)
