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

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering.cortex_m import _entry

CONV_FILE, DWCONV_FILE = "x86/conv_f32_x86.c", "x86/dwconv_f32_x86.c"
_ARGS = "(const float* input, const float* weights, const float* channel, const int32_t* geom, float* output)"
MAX_IMAGE = 65536  # image_f32_x86.h: EDGEAI_X86F_MAX_IMAGE
_FC_ATTRS = {"strides": (1, 1), "dilations": (1, 1), "padding": (0, 0, 0, 0)}


def _round_up(n: int, m: int) -> int:
    return -(-n // m) * m


def _geometry(x_shape, kh, kw, o, ov, out_shape, attrs) -> np.ndarray | str:
    """The geom array (image_f32_x86.h), or why the kernel cannot take the layer."""
    (sh, sw), (dh, dw), (pt, pl, _, _) = attrs["strides"], attrs["dilations"], attrs["padding"]
    if (dh, dw) != (1, 1):
        return f"dilation {dh}x{dw}"
    if x_shape[0] != 1:
        return f"batch {x_shape[0]}"
    _, h, w, c = x_shape
    oh, ow = out_shape[1], out_shape[2]
    hp, wp = (oh - 1) * sh + kh, (ow - 1) * sw + kw  # the rows and columns the windows reach
    padded = int(pt > 0 or pl > 0 or hp > h or wp > w)
    if padded and hp * wp * c > MAX_IMAGE:
        return f"a bordered image of {hp}x{wp}x{c} floats (the kernels' stack holds {MAX_IMAGE})"
    if not padded:
        wp = w  # the input read in place: its own row stride
    return np.array([h, w, c, oh, ow, o, kh, kw, sh, sw, pt, pl, hp, wp, padded, ov], np.int32)


def _channel(bias, o: int, ov: int, lo: float, hi: float) -> np.ndarray:
    chan = np.zeros(ov + 2, np.float32)
    if bias is not None:
        chan[:o] = np.asarray(bias, np.float32).reshape(-1)
    chan[ov:] = lo, hi
    return chan


def conv_f32_call(ctx, node, x_shape, w, bias, lo, hi, out_shape, attrs):
    """CONV_2D float32 (w [O, KH, KW, C]) → edgeai_conv_f32_x86."""
    o, kh, kw, c = w.shape
    ov = _round_up(o, 16)
    geom = _geometry(x_shape, kh, kw, o, ov, out_shape, attrs)
    if isinstance(geom, str):
        return ctx.decline(node, f"edgeai_conv_f32_x86 declines: {geom}")
    packed = np.zeros((ov, kh, kw, c), np.float32)
    packed[:o] = w
    packed = packed.reshape(ov // 16, 16, kh * kw * c).transpose(0, 2, 1)  # [O16 / 16][K][16]
    symbol, proto = _entry("edgeai_conv_f32_x86", _ARGS, False)
    return KernelCall(node.name, node.op, ctx.c_kernel(CONV_FILE, symbol, proto),
                      (TensorArg(node.inputs[0]), ctx.derived(packed.reshape(-1)),
                       ctx.derived(_channel(bias, o, ov, lo, hi)), ctx.derived(geom), TensorArg(node.outputs[0])))


def fc_f32_call(ctx, node, rows, k, n, w, bias, lo, hi):
    """FULLY_CONNECTED float32 (w [n, k]) as a 1x1 conv over `rows` pixels → edgeai_conv_f32_x86."""
    return conv_f32_call(ctx, node, (1, rows, 1, k), np.asarray(w).reshape(n, 1, 1, k), bias, lo, hi,
                         (1, rows, 1, n), _FC_ATTRS)


def dwconv_f32_call(ctx, node, x_shape, w, bias, lo, hi, out_shape, attrs):
    """DEPTHWISE_CONV_2D float32 (w [1, KH, KW, C], depth multiplier 1) → edgeai_dwconv_f32_x86."""
    _, kh, kw, c = w.shape
    if c != x_shape[3]:
        return ctx.decline(node, f"edgeai_dwconv_f32_x86 declines: depth multiplier {c // x_shape[3]}")
    ov = _round_up(c, 8)
    geom = _geometry(x_shape, kh, kw, c, ov, out_shape, attrs)
    if isinstance(geom, str):
        return ctx.decline(node, f"edgeai_dwconv_f32_x86 declines: {geom}")
    packed = np.zeros((kh, kw, ov), np.float32)
    packed[:, :, :c] = w[0]
    symbol, proto = _entry("edgeai_dwconv_f32_x86", _ARGS, False)
    return KernelCall(node.name, node.op, ctx.c_kernel(DWCONV_FILE, symbol, proto),
                      (TensorArg(node.inputs[0]), ctx.derived(packed.reshape(-1)),
                       ctx.derived(_channel(bias, c, ov, lo, hi)), ctx.derived(geom), TensorArg(node.outputs[0])))
