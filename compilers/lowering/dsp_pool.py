"""int8 global AVERAGE_POOL_2D on Cortex-M DSP cores → compilers/c/kernels/dsp/pool_s8.c (SXTAB16 sums of 8
channels per two word loads, int16 lanes). TFLite numerics only, one window over the whole image (H * W <= 256
points, no padding, C a multiple of 8, no activation clamp): MLPerf Tiny KWS (25x5 -> 1x1, 64 channels) and IC (8x8 -> 1x1). Other
pools, and ONNX numerics, decline to the TVM kernel."""

from __future__ import annotations

from compilers.c.calls import KernelCall, ScalarArg, TensorArg

POOL_FILE = "dsp/pool_s8.c"
MAX_POINTS = 256  # pool_s8.c: the int16 lanes hold a sum of at most 256 int8 values
_SYMBOL = "edgeai_global_avgpool_s8"
_PROTOTYPE = f"int32_t {_SYMBOL}(const int8_t* input, int8_t* output, int32_t pixels, int32_t channels)"


def avgpool_call(ctx, node, x_shape, out_shape, kernel, strides, padding, lo, hi, rescale=None):
    """avg_pool2d (kernel_table signature) → edgeai_global_avgpool_s8; None, with the reason on record, when it
    declines."""
    n, h, w, c = x_shape
    why = (f"batch {n}" if n != 1 else
           "ONNX numerics" if rescale is not None else
           f"not a global pool (window {kernel}, input {h}x{w}, output {tuple(out_shape[1:3])}, padding {padding})"
           if tuple(kernel) != (h, w) or tuple(out_shape[1:3]) != (1, 1) or any(padding) else
           f"{h * w} points > {MAX_POINTS}" if h * w > MAX_POINTS else
           f"C = {c} not a multiple of 8" if c % 8 else
           f"activation clamp [{lo}, {hi}]" if (lo, hi) != (-128, 127) else None)
    if why:
        return ctx.decline(node, f"{_SYMBOL} declines: {why}")
    symbol = ctx.c_kernel(POOL_FILE, _SYMBOL, _PROTOTYPE)
    return KernelCall(node.name, node.op, symbol, (TensorArg(node.inputs[0]), TensorArg(node.outputs[0]),
                                                   ScalarArg(h * w), ScalarArg(c)))
