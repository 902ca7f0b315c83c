"""int8 conv2d / depthwise_conv2d / fully_connected / add on aarch64 (Raspberry Pi class cores) → the hand-written
NEON kernels in compilers/c/kernels/neon/, with everything layer-specific prepared here as derived constants.

Two instruction sets share the layouts: "neon" (Armv8-A Advanced SIMD, Cortex-A72: SMULL/SMLAL2/SADALP) and
"dotprod" (Armv8.2-A dot product, Cortex-A76: SDOT); only the convolution's weight order differs. Folded at
compile time:
  * the input zero point: start = bias - zp_in * sum(w), so the kernels multiply raw int8 inputs (a window
    leaving the image reads zp_in, which then contributes exactly zp_in * w);
  * the weights' order: packed for the kernel's tile (conv_s8_neon.h, conv_s8_dot.h), the depthwise ones by
    tap and channel;
  * the requantization: per channel multiplier and shifts in the vector form the kernels apply
    (requant_s8_neon.h).
Integer sums wrap modulo 2^32 in the kernels as in TFLite's int32 accumulator, so folding the zero point changes
no result. ONNX numerics (one rounding, halves to even) run on the one-rounding kernels where no accumulator
within reach lands on a half (then halves up is halves to even); elsewhere, and for ONNX add, the layer is
declined to the TVM kernel.
"""

from __future__ import annotations

import numpy as np

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering.cortex_m import _entry
from compilers.tvm.requant import half_even_ties_possible

CONV_NEON, CONV_DOT = "neon/conv_s8_neon.c", "neon/conv_s8_dot.c"
DWCONV_FILE, ADD_FILE = "neon/dwconv_s8_neon.c", "neon/add_s8_neon.c"
_ARGS = "(const int8_t* input, const int8_t* weights, const int32_t* channel, const int32_t* geom, int8_t* output)"
_DW_ARGS = "(const int8_t* input, const int8_t* weights, const int32_t* channel, const int32_t* geom, int8_t* output)"
_ADD_ARGS = "(const int8_t* input1, const int8_t* input2, const int32_t* p, int8_t* output)"

MAX_K16, MAX_IMAGE = 4096, 65536  # conv_s8_neon.h
MAX_DW_CHANNELS, MAX_TAPS = 2048, 64  # dwconv_s8_neon.h
# Bytes each kernel keeps on the stack per call: conv's bordered image and patches (the dot kernel's 4-pixel tile,
# the NEON one's 2), dwconv's zero-point row and tap pointers (8-byte pointers).
STACK_SCRATCH = {"edgeai_conv_s8_dot": MAX_IMAGE + 16 + 4 * (MAX_K16 + 16),
                 "edgeai_conv_s8_neon": MAX_IMAGE + 16 + 2 * (MAX_K16 + 16),
                 "edgeai_dwconv_s8_neon": MAX_DW_CHANNELS + 8 * MAX_TAPS}


def _round_up(v: int, m: int) -> int:
    return -(-v // m) * m


def _wrap32(v: np.ndarray) -> np.ndarray:
    """int64 → int32 modulo 2^32 (the kernels' accumulator arithmetic)."""
    return (np.asarray(v, np.int64) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)


def channel_constants(w2d: np.ndarray, bias, in_zp: int, mult, shift, rounding: str, input_offset: int = 0):
    """(mode, channel int32 array, OP) for requant_s8_neon.h (and requant_s8_x86.h, the same layout), or a string
    saying why the kernels cannot be exact.

    w2d: [O, K] weights; rounding: compilers.tvm.kernels._common.ROUNDINGS ("double": TFLite's two roundings;
    "single": LiteRT FC's one; "half_even": ONNX numerics); input_offset: what the kernel adds to every input
    byte before multiplying (x86's VPDPBUSD reads x + 128), folded into the start value with the zero point."""
    o = w2d.shape[0]
    op = _round_up(max(o, 1), 16)
    w64 = w2d.astype(np.int64)
    bias64 = np.zeros(o, np.int64) if bias is None else np.asarray(bias, np.int64).reshape(o)
    start = bias64 - in_zp * w64.sum(axis=1)
    bound = np.abs(start) + 128 * np.abs(w64).sum(axis=1)  # the accumulator's reach, inputs in int8
    start = start - input_offset * w64.sum(axis=1)
    mult = np.broadcast_to(np.asarray(mult, np.int64), (o,))
    shift = np.broadcast_to(np.asarray(shift, np.int64), (o,))
    if rounding == "half_even":
        if np.any(half_even_ties_possible(mult, shift, bound)):
            return "half-even rounding could meet a tie the one-rounding kernel rounds up"
    padded = np.zeros(op, np.int64)
    if rounding == "double":
        left, right = np.maximum(shift, 0), np.maximum(-shift, 0)
        if np.any(right > 31) or np.any(left > 30):
            return f"a requantization shift outside -31..30 ({int(shift.min())}..{int(shift.max())})"
        if np.any((bound << left) > (1 << 31) - 1):  # the lanes shift the accumulator left in 32 bits
            return f"an accumulator that could overflow 32 bits once shifted left by {int(left.max())}"
        arrays = [start, mult, left, -right, np.where(right > 0, -1, 0)]
        parts = []
        for a in arrays:
            p = padded.copy()
            p[:o] = a
            parts.append(_wrap32(p))
        # mode 2: no channel shifts left, every one right (requant_s8_neon.h: the shorter sequence)
        return (2 if np.all(left == 0) and np.all(right >= 1) else 0), np.concatenate(parts), op
    total = 31 - shift
    if np.any(total < 1) or np.any(total > 62):
        return f"a requantization shift outside -31..30 ({int(shift.min())}..{int(shift.max())})"
    s, m, t = padded.copy(), padded.copy(), np.ones(op, np.int64)
    s[:o], m[:o], t[:o] = start, mult, total
    return 1, np.concatenate([_wrap32(s), _wrap32(m), (-t).view(np.int32)]), op


G_MODE, G_OP = 16, 19  # geom's indices of the requantization mode and OP (conv_s8_neon.h: EDGEAI_NEON_G_*)


def _geom(h, w, c, oh, ow, o, kh, kw, sh, sw, pt, pl, in_zp, out_zp, lo, hi, mode, k16, direct, op, hp=0, wp=0):
    return np.array([h, w, c, oh, ow, o, kh, kw, sh, sw, pt, pl, in_zp, out_zp, lo, hi, mode, k16, direct, op, hp, wp],
                    np.int32)


def _pack_neon(w2: np.ndarray) -> np.ndarray:
    """[O8, K16] → [O8 / 8][K16 / 16][8 channels][16 k] (conv_s8_neon.h)."""
    o8, k16 = w2.shape
    return w2.reshape(o8 // 8, 8, k16 // 16, 16).transpose(0, 2, 1, 3)


def _pack_dot(w2: np.ndarray) -> np.ndarray:
    """[O8, K16] → [O8 / 8][K16 / 16][half][j][4 channels][4 k] (conv_s8_dot.h)."""
    o8, k16 = w2.shape
    return w2.reshape(o8 // 8, 2, 4, k16 // 16, 4, 4).transpose(0, 3, 1, 4, 2, 5)


def conv_layout(x_shape, w, bias, in_zp, out_zp, lo, hi, mult, shift, out_shape, attrs, rounding,
                minus_128_ok: bool, input_offset: int = 0):
    """What the aarch64 and x86 convolution kernels share: (w2 [O8, K16] int8 weights zero-padded, channel
    constants, geom) or a string saying why the kernels cannot take the layer. minus_128_ok: the kernel's
    products of a weight of -128 cannot overflow; input_offset: channel_constants'."""
    n, h, wd, c = x_shape
    o, kh, kw, _ = w.shape
    (sh, sw), (dh, dw), (pt, pl, _, _) = attrs["strides"], attrs["dilations"], attrs["padding"]
    k = kh * kw * c
    direct = int((kh, kw, sh, sw, pt, pl) == (1, 1, 1, 1, 0, 0) and c % 16 == 0)
    k16 = _round_up(k, 16)
    oh, ow = out_shape[1], out_shape[2]
    # The bordered image every window reads: the input at (pt, pl), zero points around it (conv_s8_neon.h).
    hp, wp = max(pt + h, (oh - 1) * sh + kh), max(pl + wd, (ow - 1) * sw + kw)
    why = (f"batch {n}" if n != 1 else f"dilation {dh}x{dw}" if (dh, dw) != (1, 1) else
           f"patch KH*KW*C = {k} > {MAX_K16} bytes" if k16 > MAX_K16 and not direct else
           f"bordered image {hp}x{wp}x{c} > {MAX_IMAGE} bytes" if not direct and hp * wp * c > MAX_IMAGE else
           "a weight of -128 (two int8 products could overflow an int16 lane)"
           if not minus_128_ok and np.any(w == -128) else None)
    consts = why or channel_constants(w.reshape(o, k), bias, in_zp, mult, shift, rounding, input_offset)
    if isinstance(consts, str):
        return consts
    mode, chan, op = consts
    w2 = np.zeros((_round_up(o, 8), k16), np.int8)
    w2[:o, :k] = w.reshape(o, k)
    geom = _geom(h, wd, c, oh, ow, o, kh, kw, sh, sw, pt, pl, in_zp, out_zp, lo, hi, mode, k16, direct, op, hp, wp)
    return w2, chan, geom


def _conv(ctx, node, x_shape, w, bias, in_zp, out_zp, lo, hi, mult, shift, out_shape, attrs, rounding, dot: bool):
    name = "edgeai_conv_s8_dot" if dot else "edgeai_conv_s8_neon"
    layout = conv_layout(x_shape, w, bias, in_zp, out_zp, lo, hi, mult, shift, out_shape, attrs, rounding, dot)
    if isinstance(layout, str):
        return ctx.decline(node, f"{name} declines: {layout}")
    w2, chan, geom = layout
    packed = (_pack_dot if dot else _pack_neon)(w2).reshape(-1)
    symbol = ctx.c_kernel(CONV_DOT if dot else CONV_NEON, *_entry(name, _ARGS, False))
    return KernelCall(node.name, node.op, symbol, (TensorArg(node.inputs[0]), ctx.derived(packed), ctx.derived(chan),
                                                   ctx.derived(geom), TensorArg(node.outputs[0])))


def conv_call_neon(ctx, node, x_shape, w, bias, in_zp, out_zp, lo, hi, mult, shift, out_shape, attrs,
                   rounding="double"):
    """CONV_2D (w [O, KH, KW, C]) → edgeai_conv_s8_neon (Armv8-A NEON)."""
    return _conv(ctx, node, x_shape, w, bias, in_zp, out_zp, lo, hi, mult, shift, out_shape, attrs, rounding, False)


def conv_call_dot(ctx, node, x_shape, w, bias, in_zp, out_zp, lo, hi, mult, shift, out_shape, attrs,
                  rounding="double"):
    """CONV_2D (w [O, KH, KW, C]) → edgeai_conv_s8_dot (Armv8.2-A dot product)."""
    return _conv(ctx, node, x_shape, w, bias, in_zp, out_zp, lo, hi, mult, shift, out_shape, attrs, rounding, True)


_FC_ATTRS = {"strides": (1, 1), "dilations": (1, 1), "padding": (0, 0, 0, 0)}


def fc_call_neon(ctx, node, rows, k, n, w, bias, in_zp, out_zp, lo, hi, mult, shift, rounding="single"):
    """FULLY_CONNECTED (w [n, k]) as a 1x1 conv over `rows` pixels → edgeai_conv_s8_neon."""
    return _conv(ctx, node, (1, rows, 1, k), w.reshape(n, 1, 1, k), bias, in_zp, out_zp, lo, hi, mult, shift,
                 (1, rows, 1, n), _FC_ATTRS, rounding, False)


def fc_call_dot(ctx, node, rows, k, n, w, bias, in_zp, out_zp, lo, hi, mult, shift, rounding="single"):
    """FULLY_CONNECTED (w [n, k]) as a 1x1 conv over `rows` pixels → edgeai_conv_s8_dot."""
    return _conv(ctx, node, (1, rows, 1, k), w.reshape(n, 1, 1, k), bias, in_zp, out_zp, lo, hi, mult, shift,
                 (1, rows, 1, n), _FC_ATTRS, rounding, True)


def dw_layout(x_shape, w, bias, in_zp, out_zp, lo, hi, mult, shift, out_shape, attrs, rounding,
              minus_128_ok: bool):
    """What the aarch64 and x86 depthwise kernels share: (weights [KH * KW, C] int8, channel constants, geom) or a
    string saying why the kernels cannot take the layer (w [1, KH, KW, C]; minus_128_ok: conv_layout's)."""
    n, h, wd, c = x_shape
    _, kh, kw, o = w.shape
    (sh, sw), (dh, dw), (pt, pl, _, _) = attrs["strides"], attrs["dilations"], attrs["padding"]
    taps = kh * kw
    why = (f"batch {n}" if n != 1 else f"dilation {dh}x{dw}" if (dh, dw) != (1, 1) else
           f"depth multiplier {o // c if c else o}" if o != c else
           f"C = {c} > {MAX_DW_CHANNELS}" if c > MAX_DW_CHANNELS else
           f"KH*KW = {taps} > {MAX_TAPS}" if taps > MAX_TAPS else
           "a weight of -128 (two int8 products could overflow an int16 lane)"
           if not minus_128_ok and np.any(w == -128) else None)
    wt = w.reshape(taps, c)
    consts = why or channel_constants(wt.T, bias, in_zp, mult, shift, rounding)
    if isinstance(consts, str):
        return consts
    mode, chan, op = consts
    geom = _geom(h, wd, c, out_shape[1], out_shape[2], o, kh, kw, sh, sw, pt, pl, in_zp, out_zp, lo, hi, mode, 0, 0,
                 op)
    return wt, chan, geom


def dwconv_call(ctx, node, x_shape, w, bias, in_zp, out_zp, lo, hi, mult, shift, out_shape, attrs,
                rounding="double"):
    """DEPTHWISE_CONV_2D (w [1, KH, KW, C], depth multiplier 1) → edgeai_dwconv_s8_neon."""
    layout = dw_layout(x_shape, w, bias, in_zp, out_zp, lo, hi, mult, shift, out_shape, attrs, rounding, False)
    if isinstance(layout, str):
        return ctx.decline(node, f"edgeai_dwconv_s8_neon declines: {layout}")
    wt, chan, geom = layout
    w8 = np.zeros((wt.shape[0], geom[G_OP]), np.int8)  # [taps][OP]
    w8[:, :wt.shape[1]] = wt
    symbol = ctx.c_kernel(DWCONV_FILE, *_entry("edgeai_dwconv_s8_neon", _DW_ARGS, False))
    return KernelCall(node.name, node.op, symbol, (TensorArg(node.inputs[0]), ctx.derived(w8.reshape(-1)),
                                                   ctx.derived(chan), ctx.derived(geom), TensorArg(node.outputs[0])))


def _add_rq(multiplier: int, shift: int, extra_left: int = 0) -> list[int]:
    """multiplier, left, -right, fix of one tensor's rescaling (requant_s8_neon.h)."""
    left, right = max(shift, 0) + extra_left, max(-shift, 0)
    return [multiplier, left, -right, -1 if right > 0 else 0]


def add_params(size: int, zp1: int, zp2: int, zo: int, lo: int, hi: int, q) -> np.ndarray | str:
    """The parameters of the aarch64 and x86 add kernels (add_s8_neon.h, add_s8_x86.h), or why they cannot be
    exact (q: requant.AddQuantParams)."""
    shifts = (q.input1_shift, q.input2_shift, q.output_shift)
    if any(s < -31 or s > 30 for s in shifts) or q.left_shift + max(q.input1_shift, q.input2_shift, 0) > 30:
        return f"shifts {shifts} outside its requantization"
    return np.array([size, zp1, zp2, zo, lo, hi, *_add_rq(q.input1_multiplier, q.input1_shift, q.left_shift),
                     *_add_rq(q.input2_multiplier, q.input2_shift, q.left_shift),
                     *_add_rq(q.output_multiplier, q.output_shift)], np.int32)


def add_call(ctx, node, size: int, zp1: int, zp2: int, zo: int, lo: int, hi: int, q=None, exact=None,
             name: str = "edgeai_add_s8_neon", file: str = ADD_FILE):
    """ADD of two same-shape int8 tensors, TFLite's arithmetic (q: requant.AddQuantParams) → edgeai_add_s8_neon
    (or, name and file given, another kernel with its parameters: x86_conv.add_call).
    ONNX numerics (exact) decline: they divide once, halves to even, which this kernel does not."""
    if exact is not None:
        return ctx.decline(node, f"{name} declines: ONNX numerics (one rounding, halves to even)")
    p = add_params(size, zp1, zp2, zo, lo, hi, q)
    if isinstance(p, str):
        return ctx.decline(node, f"{name} declines: {p}")
    symbol = ctx.c_kernel(file, *_entry(name, _ADD_ARGS, False))
    a, b = node.inputs[0], node.inputs[1]
    return KernelCall(node.name, node.op, symbol, (TensorArg(a), TensorArg(b), ctx.derived(p),
                                                   TensorArg(node.outputs[0])))
