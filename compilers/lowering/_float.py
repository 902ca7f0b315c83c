"""What the hand-written float32 kernels' lowerings share (x86_float.py, mve_float.py): the weights packed in blocks
of output channels, the channel array (bias, then the activation's clamp), fully connected as a 1x1 convolution,
and the kernel call itself."""

from __future__ import annotations

import numpy as np

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering.cortex_m import _entry

FLOAT_ARGS = "(const float* input, const float* weights, const float* channel, const int32_t* geom, float* output)"
FC_ATTRS = {"strides": (1, 1), "dilations": (1, 1), "padding": (0, 0, 0, 0)}


def round_up(n: int, m: int) -> int:
    return -(-n // m) * m


def channel_array(bias, o: int, ov: int, lo: float, hi: float) -> np.ndarray:
    """bias[ov] (zero past o, or all zero without a bias), then lo, hi."""
    chan = np.zeros(ov + 2, np.float32)
    if bias is not None:
        chan[:o] = np.asarray(bias, np.float32).reshape(-1)
    chan[ov:] = lo, hi
    return chan


def unsupported(x_shape, attrs) -> str | None:
    """Why no hand-written float kernel takes a windowed layer (a dilation, a batch), or None."""
    (dh, dw) = attrs["dilations"]
    if (dh, dw) != (1, 1):
        return f"dilation {dh}x{dw}"
    return f"batch {x_shape[0]}" if x_shape[0] != 1 else None


def conv_blocks(w: np.ndarray, block: int) -> np.ndarray:
    """Conv weights [O, KH, KW, C] → [O rounded up / block][KH][KW][C][block] (extra channels zero), flat."""
    o, kh, kw, c = w.shape
    ov = round_up(o, block)
    packed = np.zeros((ov, kh, kw, c), np.float32)
    packed[:o] = w
    return packed.reshape(ov // block, block, kh * kw * c).transpose(0, 2, 1).reshape(-1)


def depthwise_taps(w: np.ndarray, cv: int) -> np.ndarray:
    """Depthwise weights [1, KH, KW, C] → [KH][KW][cv] (extra channels zero), flat."""
    _, kh, kw, c = w.shape
    packed = np.zeros((kh, kw, cv), np.float32)
    packed[:, :, :c] = w[0]
    return packed.reshape(-1)


def fc_as_conv(conv_call, ctx, node, rows, k, n, w, bias, lo, hi):
    """FULLY_CONNECTED float32 (w [n, k]) as a 1x1 convolution over `rows` pixels, by `conv_call`."""
    return conv_call(ctx, node, (1, rows, 1, k), np.asarray(w).reshape(n, 1, 1, k), bias, lo, hi, (1, rows, 1, n),
                     FC_ATTRS)


def conv_call(ctx, node, file: str, name: str, w, bias, lo, hi, block: int, geometry):
    """CONV_2D float32 (w [O, KH, KW, C]) → kernel `name` with weights in blocks of `block` output channels;
    geometry(ov) gives the geom array or why the kernel cannot take the layer."""
    o = w.shape[0]
    ov = round_up(o, block)
    geom = geometry(ov)
    if isinstance(geom, str):
        return ctx.decline(node, f"{name} declines: {geom}")
    return float_kernel_call(ctx, node, file, name, conv_blocks(w, block), channel_array(bias, o, ov, lo, hi), geom)


def depthwise_call(ctx, node, file: str, name: str, x_shape, w, bias, lo, hi, block: int, geometry):
    """DEPTHWISE_CONV_2D float32 (w [1, KH, KW, C], depth multiplier 1) → kernel `name`, channels padded to a
    multiple of `block`; geometry(cv) gives the geom array or why the kernel cannot take the layer."""
    c = w.shape[3]
    if c != x_shape[3]:
        return ctx.decline(node, f"{name} declines: depth multiplier {c // x_shape[3]}")
    cv = round_up(c, block)
    geom = geometry(cv)
    if isinstance(geom, str):
        return ctx.decline(node, f"{name} declines: {geom}")
    return float_kernel_call(ctx, node, file, name, depthwise_taps(w, cv), channel_array(bias, c, cv, lo, hi), geom)


def float_kernel_call(ctx, node, file: str, name: str, weights: np.ndarray, channel: np.ndarray, geom: np.ndarray):
    """The call of kernel `name` (in `file`) with the layer's prepared constants."""
    symbol, proto = _entry(name, FLOAT_ARGS, False)
    return KernelCall(node.name, node.op, ctx.c_kernel(file, symbol, proto),
                      (TensorArg(node.inputs[0]), ctx.derived(weights), ctx.derived(channel), ctx.derived(geom),
                       TensorArg(node.outputs[0])))
