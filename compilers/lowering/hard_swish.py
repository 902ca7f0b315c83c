"""hard_swish: float32 → a TVM kernel; int8 → a 256-entry table (compile time) and the table-lookup kernel.

The int8 table models LiteRT's reference HARD_SWISH (tflite/kernels/activations.cc HardSwishPrepare,
internal/reference/hard_swish.h) value by value, in its 16-bit fixed point:
* Prepare, in float32: hires = s_in / 128; output multiplier hires / s_out and "reluish" multiplier
  hires / (3 / 32768), each QuantizeMultiplier'd then rounded to 16 bits (DownScaleInt32ToInt16Multiplier:
  + 2**15, >> 16, 32767 at the top); LiteRT refuses an output multiplier of 1 or more (exponent > 0).
* per value: v = (q - z_in) * 128; the output-scale copy is v times the output multiplier (rounding doubling
  high-mul); the reluish value is v shifted left by exponent - 1 (saturating), times its multiplier (rounding
  high-mul), shifted left once more (saturating) or right (rounding) by the exponent, then mapped from
  [-1, 1] to [0, 1] as (r + 2**15) >> 1; their product by the truncating doubling high-mul, divided by
  2**-exponent (rounding), + z_out, saturated to int8. Every intermediate is an int16, as in C.
ONNX numerics (no ONNX graph makes one today): the float64 function rounded once, halves to even.
"""

from __future__ import annotations

import numpy as np

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering._quant import numerics, scale_zp
from compilers.lowering.registry import rule
from compilers.tvm.kernels.activations import hard_swish_float32
from compilers.tvm.kernels.lut import LookupParams, lookup_int8
from compilers.tvm.requant import quantize_multiplier
from edgeai.errors import UnsupportedOpError

_F32 = np.float32
_I16_MIN, _I16_MAX = -(1 << 15), (1 << 15) - 1


def _int16(v: int) -> int:
    """static_cast<int16_t>: the low 16 bits, two's complement."""
    return ((v + (1 << 15)) & 0xFFFF) - (1 << 15)


def _truncating_divide(a: int, b: int) -> int:
    """C's integer division: the quotient rounded toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _rounding_doubling_high_mul(a: int, b: int) -> int:
    """gemmlowp's SaturatingRoundingDoublingHighMul on int16."""
    if a == b == _I16_MIN:
        return _I16_MAX
    ab = a * b
    nudge = (1 << 14) if ab >= 0 else 1 - (1 << 14)
    return _int16(_truncating_divide(ab + nudge, 1 << 15))


def _doubling_high_mul(a: int, b: int) -> int:
    """hard_swish.h's SaturatingDoublingHighMul: the same without the nudge (rounds toward zero)."""
    if a == b == _I16_MIN:
        return _I16_MAX
    return _int16(_truncating_divide(a * b, 1 << 15))


def _rounding_divide_by_pot(x: int, exponent: int) -> int:
    """gemmlowp's RoundingDivideByPOT: x / 2**exponent to nearest, halves away from zero."""
    mask = (1 << exponent) - 1
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if (x & mask) > threshold else 0)


def _saturating_left_shift(x: int, amount: int) -> int:
    return min(max(x * (1 << amount), _I16_MIN), _I16_MAX)


def _int16_multiplier(real: np.float32) -> tuple[int, int]:
    """QuantizeMultiplier then DownScaleInt32ToInt16Multiplier: (16-bit multiplier, exponent)."""
    multiplier, exponent = quantize_multiplier(float(real))
    if multiplier >= (1 << 31) - 1 - (1 << 15):
        return _I16_MAX, exponent
    return (multiplier + (1 << 15)) >> 16, exponent


def tflite_hard_swish_table(input_q: tuple[float, int], output_q: tuple[float, int], what: str = "hard_swish"):
    """int8[256], entry q + 128: LiteRT's reference int8 HARD_SWISH of q."""
    (s_in, z_in), (s_out, z_out) = input_q, output_q
    hires = _F32(1.0 / 128.0) * _F32(s_in)
    out_m, out_exp = _int16_multiplier(hires / _F32(s_out))
    if out_exp > 0:
        raise UnsupportedOpError(f"{what}: output scale {s_out:g} is under input scale / 128 ({float(hires):g}); "
                                 f"LiteRT refuses such a HARD_SWISH (its output multiplier must be below 1)")
    relu_m, relu_exp = _int16_multiplier(hires / (_F32(3.0) / _F32(32768.0)))
    table = np.empty(256, np.int8)
    for q in range(-128, 128):
        v = _int16((q - z_in) * 128)
        on_output_scale = _rounding_doubling_high_mul(v, out_m)
        r = _saturating_left_shift(v, relu_exp - 1) if relu_exp > 0 else v
        r = _rounding_doubling_high_mul(r, relu_m)
        if relu_exp > 0:
            r = _saturating_left_shift(r, 1)
        elif relu_exp < 0:
            r = _rounding_divide_by_pot(r, -relu_exp)
        r = _int16((r + (1 << 15)) >> 1)
        out = _rounding_divide_by_pot(_doubling_high_mul(r, on_output_scale), -out_exp)
        table[q + 128] = min(max(_int16(out + z_out), -128), 127)
    return table


def onnx_hard_swish_table(input_q: tuple[float, int], output_q: tuple[float, int]) -> np.ndarray:
    (s_in, z_in), (s_out, z_out) = input_q, output_q
    x = float(s_in) * (np.arange(-128, 128) - z_in)
    real = x * np.clip(x + 3.0, 0.0, 6.0) / 6.0 / float(s_out)
    return np.clip(np.rint(real) + z_out, -128, 127).astype(np.int8)


@rule("hard_swish", "int8")
def hard_swish_int8_rule(ctx, node):
    g = ctx.graph
    qin, qout = scale_zp(g, node.inputs[0], node), scale_zp(g, node.outputs[0], node)
    if numerics(node) == "onnx":
        values = onnx_hard_swish_table(qin, qout)
    else:
        values = tflite_hard_swish_table(qin, qout, f"node {node.name!r} (hard_swish)")
    symbol = ctx.tvm_kernel(lookup_int8, LookupParams(g.tensor(node.inputs[0]).size), "lut")
    args = (TensorArg(node.inputs[0]), ctx.derived(values), TensorArg(node.outputs[0]))
    return [KernelCall(node.name, node.op, symbol, args)]


@rule("hard_swish", "float32")
def hard_swish_float_rule(ctx, node):
    symbol = ctx.tvm_kernel(hard_swish_float32, ctx.graph.tensor(node.inputs[0]).shape, "hswish")
    return [KernelCall(node.name, node.op, symbol, (TensorArg(node.inputs[0]), TensorArg(node.outputs[0])))]
