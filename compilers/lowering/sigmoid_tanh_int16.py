"""int16 LOGISTIC and TANH (16x8 quantization) → one hand-written C kernel with the arithmetic of LiteRT's reference
kernels (tflite/kernels/activations.cc, reference_integer_ops): the input rescaled so that 2**17 stands for 32/3,
its magnitude looked up in a 256-entry table of sigmoid(i / 24) in 0.16 format with linear interpolation of the
remaining 9 (LOGISTIC) or 8 (TANH: tanh(x) = 2 sigmoid(2x) - 1) bits, reflected for negative inputs.

The table and the input multiplier are computed here, as LiteRT's Prepare does:

* a power-of-two input scale whose left shift (12 + log2 scale) LiteRT's fixed shift takes (0 for LOGISTIC, 0 or 1
  for TANH) gives multiplier 3 << shift, no rounding shift;
* any other scale gives scale * 4096 * 3 doubled until above 16383.5 (counting the doublings as the right shift, at
  most 31), truncated to an integer; the input times it is shifted right with rounding (halves up).

The table: 65536 sigmoid(i / 24) lowered by half the error linear interpolation makes at its interval's midpoint,
rounded, at most 65535; its last entry (only reached as the upper end of entry 254's interval) is 65535. Measured
equal to LiteRT's over all 65,536 int16 inputs of both ops at several scales (tests/test_int16x8.py).
"""

from __future__ import annotations

import math

import numpy as np

from compilers.c.calls import KernelCall, ScalarArg, TensorArg
from compilers.lowering._quant import scale_zp
from compilers.lowering.registry import rule
from edgeai.errors import ModelError

_PROTOTYPE = ("int32_t {symbol}(const int16_t* input, int16_t* output, int32_t size, int32_t multiplier, "
              "int32_t shift, const int32_t* table)")
_SYMBOLS = {"sigmoid": "edgeai_sigmoid_int16", "tanh": "edgeai_tanh_int16"}
_POT_SHIFTS = {"sigmoid": (0,), "tanh": (0, 1)}  # the left shifts LiteRT's power-of-two path takes


def sigmoid_table() -> np.ndarray:
    """int32[256]: the 0.16 sigmoid table both kernels interpolate in."""
    def scaled(x: float) -> float:
        return 65536.0 / (1.0 + math.exp(-x / 24.0))

    table = np.empty(256, np.int32)
    for i in range(256):
        midpoint_error = (scaled(i) + scaled(i + 1)) / 2 - scaled(i + 0.5)
        table[i] = min(math.floor(scaled(i) - midpoint_error / 2 + 0.5), 65535)
    table[255] = 65535
    return table


def _log2_if_power_of_two(scale: float) -> int | None:
    """LiteRT's CheckedLog2: the rounded log2 when it is within 1e-3 of an integer."""
    log2 = math.log(scale) / math.log(2.0)
    rounded = round(log2)
    return rounded if abs(log2 - rounded) < 1e-3 else None


def input_rescale(op: str, scale: float) -> tuple[int, int]:
    """(multiplier, right shift) taking an int16 input of `scale` to the table's units (2**17 = 32/3)."""
    log2 = _log2_if_power_of_two(scale)
    if log2 is not None and 12 + log2 in _POT_SHIFTS[op]:
        return 3 << (12 + log2), 0
    multiplier, shift = float(np.float32(scale)) * 4096.0 * 3.0, 0
    while multiplier <= 32767.0 / 2.0 and shift <= 30:
        shift += 1
        multiplier *= 2.0
    return int(multiplier), shift


@rule("sigmoid", "int16")
@rule("tanh", "int16")
def sigmoid_tanh_int16_rule(ctx, node):
    g = ctx.graph
    in_scale, in_zp = scale_zp(g, node.inputs[0], node)
    out_scale, out_zp = scale_zp(g, node.outputs[0], node)
    if in_zp != 0 or out_zp != 0 or _log2_if_power_of_two(out_scale) != -15:
        raise ModelError(f"node {node.name!r} ({node.op}): an int16 {node.op} needs zero points 0 and output scale "
                         f"1/32768 (LiteRT's rule), got input zero point {in_zp}, output scale {out_scale:g} zero "
                         f"point {out_zp}")
    multiplier, shift = input_rescale(node.op, in_scale)
    if multiplier * 32768 + (1 << shift >> 1) > 2**31 - 1:  # LiteRT's int32 product would overflow
        raise ModelError(f"node {node.name!r} ({node.op}): int16 input scale {in_scale:g} is too large for LiteRT's "
                         f"int16 {node.op} (at most about 5.3)")
    symbol = _SYMBOLS[node.op]
    ctx.c_kernel("portable/sigmoid_tanh_int16.c", symbol, _PROTOTYPE.format(symbol=symbol))
    args = (TensorArg(node.inputs[0]), TensorArg(node.outputs[0]), ScalarArg(g.tensor(node.inputs[0]).size),
            ScalarArg(multiplier), ScalarArg(shift), ctx.derived(sigmoid_table()))
    return [KernelCall(node.name, node.op, symbol, args)]
