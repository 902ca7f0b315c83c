"""int8 AVERAGE_POOL_2D on Helium (MVE) cores → compilers/c/kernels/mve/pool_s8_mve.c (sums 16 channels per
step, one scalar division per output). TFLite numerics: any window and padding. ONNX numerics: whole windows
(no padding) only, where the window's 1 / count is already in the multiplier; a padded ONNX pool declines."""

from __future__ import annotations

import numpy as np

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering.cortex_m import _entry

POOL_FILE = "mve/pool_s8_mve.c"
_ARGS = "(const int8_t* input, const int32_t* geom, int8_t* output)"


def avgpool_call(ctx, node, x_shape, out_shape, kernel, strides, padding, lo, hi, rescale=None):
    """avg_pool2d (kernel_table signature) → edgeai_avgpool_s8_mve; None, with the reason on record, when it
    declines."""
    n, h, w, c = x_shape
    pt, pl = padding[0], padding[1]
    why = (f"batch {n}" if n != 1 else
           "ONNX numerics with padding (a division per window)" if rescale is not None and any(padding) else None)
    if why:
        return ctx.decline(node, f"edgeai_avgpool_s8_mve declines: {why}")
    zin, zout, mult, total = rescale if rescale is not None else (0, 0, 0, 0)
    geom = np.array([h, w, c, out_shape[1], out_shape[2], kernel[0], kernel[1], strides[0], strides[1], pt, pl, lo,
                     hi, zin, zout, mult, total], np.int32)
    symbol = ctx.c_kernel(POOL_FILE, *_entry("edgeai_avgpool_s8_mve", _ARGS, rescale is not None))
    return KernelCall(node.name, node.op, symbol, (TensorArg(node.inputs[0]), ctx.derived(geom),
                                                   TensorArg(node.outputs[0])))
