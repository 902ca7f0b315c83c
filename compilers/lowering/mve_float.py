"""float32 conv2d / depthwise_conv2d / fully_connected on Helium cores with MVE-F (Cortex-M55) → the hand-written
kernels compilers/c/kernels/mve/conv_f32_mve.c and dwconv_f32_mve.c (VLDRW, VFMA; portable C without MVE-F).

Prepared here: the geometry (geom_f32_mve.h), the weights packed for the kernels' tiles (conv: blocks of 8 output
channels, [O8 / 8][KH][KW][C][8]; depthwise: [KH][KW][C8]), and bias[OV] followed by the activation's clamp (the
x86 float kernels' layout). Padding needs no bordered copy (the kernels skip the taps outside the input), so any
padded layer is taken; a dilated one, a batch other than 1 and a depth multiplier other than 1 are declined to the
next instruction set, then TVM.
"""

from __future__ import annotations

import numpy as np

from compilers.lowering._float import conv_call, depthwise_call, fc_as_conv, unsupported

CONV_FILE, DWCONV_FILE = "mve/conv_f32_mve.c", "mve/dwconv_f32_mve.c"


def _geometry(x_shape, kh, kw, o, out_shape, attrs) -> np.ndarray | str:
    """The geom array (geom_f32_mve.h), or why the kernels cannot take the layer."""
    why = unsupported(x_shape, attrs)
    if why:
        return why
    (sh, sw), (pt, pl, _, _) = attrs["strides"], attrs["padding"]
    _, h, w, c = x_shape
    return np.array([h, w, c, out_shape[1], out_shape[2], o, kh, kw, sh, sw, pt, pl], np.int32)


def conv_f32_call(ctx, node, x_shape, w, bias, lo, hi, out_shape, attrs):
    """CONV_2D float32 (w [O, KH, KW, C]) → edgeai_conv_f32_mve."""
    o, kh, kw, _ = w.shape
    return conv_call(ctx, node, CONV_FILE, "edgeai_conv_f32_mve", w, bias, lo, hi, 8,
                     lambda ov: _geometry(x_shape, kh, kw, o, out_shape, attrs))


def fc_f32_call(ctx, node, rows, k, n, w, bias, lo, hi):
    """FULLY_CONNECTED float32 (w [n, k]) as a 1x1 conv over `rows` pixels → edgeai_conv_f32_mve."""
    return fc_as_conv(conv_f32_call, ctx, node, rows, k, n, w, bias, lo, hi)


def dwconv_f32_call(ctx, node, x_shape, w, bias, lo, hi, out_shape, attrs):
    """DEPTHWISE_CONV_2D float32 (w [1, KH, KW, C], depth multiplier 1) → edgeai_dwconv_f32_mve."""
    _, kh, kw, c = w.shape
    return depthwise_call(ctx, node, DWCONV_FILE, "edgeai_dwconv_f32_mve", x_shape, w, bias, lo, hi, 8,
                          lambda cv: _geometry(x_shape, kh, kw, c, out_shape, attrs))
