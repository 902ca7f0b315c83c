"""float32 conv2d / depthwise_conv2d / fully_connected on x86-64 → the hand-written kernels
compilers/c/kernels/x86/conv_f32_x86.c and dwconv_f32_x86.c (AVX2 + FMA picked at run time, else portable C).

Everything layer-specific is prepared here: the geometry (image_f32_x86.h), the weights packed for the kernels'
register tiles (conv: blocks of 16 output channels, [O16 / 16][KH][KW][C][16]; depthwise: [KH][KW][C8]), and
bias[OV] followed by the activation's clamp. A padded layer reads a zero-bordered copy of its input on the stack
(at most EDGEAI_X86F_MAX_IMAGE floats); a larger one, a dilated one and a depth multiplier other than 1 are
declined to TVM's kernel.
"""

from __future__ import annotations

import numpy as np

from compilers.lowering._float import conv_call, depthwise_call, fc_as_conv, unsupported

CONV_FILE, DWCONV_FILE = "x86/conv_f32_x86.c", "x86/dwconv_f32_x86.c"
MAX_IMAGE = 65536  # image_f32_x86.h: EDGEAI_X86F_MAX_IMAGE


def _geometry(x_shape, kh, kw, o, ov, out_shape, attrs) -> np.ndarray | str:
    """The geom array (image_f32_x86.h), or why the kernel cannot take the layer."""
    why = unsupported(x_shape, attrs)
    if why:
        return why
    (sh, sw), (pt, pl, _, _) = attrs["strides"], attrs["padding"]
    _, h, w, c = x_shape
    oh, ow = out_shape[1], out_shape[2]
    hp, wp = (oh - 1) * sh + kh, (ow - 1) * sw + kw  # the rows and columns the windows reach
    padded = int(pt > 0 or pl > 0 or hp > h or wp > w)
    if padded and hp * wp * c > MAX_IMAGE:
        return f"a bordered image of {hp}x{wp}x{c} floats (the kernels' stack holds {MAX_IMAGE})"
    if not padded:
        wp = w  # the input read in place: its own row stride
    return np.array([h, w, c, oh, ow, o, kh, kw, sh, sw, pt, pl, hp, wp, padded, ov], np.int32)


def conv_f32_call(ctx, node, x_shape, w, bias, lo, hi, out_shape, attrs):
    """CONV_2D float32 (w [O, KH, KW, C]) → edgeai_conv_f32_x86."""
    o, kh, kw, _ = w.shape
    return conv_call(ctx, node, CONV_FILE, "edgeai_conv_f32_x86", w, bias, lo, hi, 16,
                     lambda ov: _geometry(x_shape, kh, kw, o, ov, out_shape, attrs))


def fc_f32_call(ctx, node, rows, k, n, w, bias, lo, hi):
    """FULLY_CONNECTED float32 (w [n, k]) as a 1x1 conv over `rows` pixels → edgeai_conv_f32_x86."""
    return fc_as_conv(conv_f32_call, ctx, node, rows, k, n, w, bias, lo, hi)


def dwconv_f32_call(ctx, node, x_shape, w, bias, lo, hi, out_shape, attrs):
    """DEPTHWISE_CONV_2D float32 (w [1, KH, KW, C], depth multiplier 1) → edgeai_dwconv_f32_x86."""
    _, kh, kw, c = w.shape
    return depthwise_call(ctx, node, DWCONV_FILE, "edgeai_dwconv_f32_x86", x_shape, w, bias, lo, hi, 8,
                          lambda ov: _geometry(x_shape, kh, kw, c, ov, out_shape, attrs))
