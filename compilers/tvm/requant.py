"""TFLite's fixed-point requantization: multiplier math in Python, the same arithmetic as TE.

Everything here follows tensorflow/lite/kernels/internal/quantization_util.cc and common.h
with TFLITE_SINGLE_ROUNDING off (the default, and what the reference kernels use):
a real multiplier becomes a Q31 significand and a power-of-two shift (positive = left).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

INT_RANGES = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}  # quantized tensor dtypes
INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def _round_half_away(x: float) -> int:
    """std::round: halves go away from zero."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplier: real ~= multiplier * 2**(shift - 31), multiplier in [2**30, 2**31)."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = _round_half_away(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    return int(q_fixed), int(shift)


# What the int8 stage keeps of a scaled accumulator before adding the zero point: every value past it clamps
# to -128 or 127 anyway, and the sum with a zero point stays inside int32.
SATURATION = 1 << 30


def output_multiplier(real: float) -> tuple[int, int]:
    """quantize_multiplier for a multiplier whose product goes straight to an int8 output (conv, FC, MUL, MEAN,
    ADD's output stage), with TFLite's saturation of a shift past 30 (QuantizeMultiplier under
    TFLITE_SINGLE_ROUNDING): the largest multiplier at shift 30. A real multiplier of 2**30 or more (a weight
    scale of 1e30, an output scale of 1e-42) saturates every non-zero accumulator either way, as the
    real-number arithmetic, LiteRT and onnxruntime do; without the clamp the left shift would pass an int32's
    width (undefined in C). Below 2**-31 quantize_multiplier already flushes to zero, as TFLite does."""
    q_fixed, shift = quantize_multiplier(real)
    if shift > 30:
        return INT32_MAX, 30
    return q_fixed, shift


def per_channel_multipliers(
    input_scale: float, weight_scales, output_scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """Conv/depthwise/FC requantization (PopulateConvolutionQuantizationParams).

    The scales are float32 in the model; TFLite widens each one to double before
    computing input_scale * weight_scale / output_scale.
    Returns (multiplier int32[C], shift int32[C]).
    """
    ins, outs = float(np.float32(input_scale)), float(np.float32(output_scale))
    pairs = [output_multiplier(ins * float(np.float32(w)) / outs) for w in np.atleast_1d(weight_scales)]
    return (np.array([m for m, _ in pairs], dtype=np.int32), np.array([s for _, s in pairs], dtype=np.int32))


def per_tensor_fc_multiplier(input_scale: float, weight_scale: float, output_scale: float) -> tuple[int, int]:
    """FULLY_CONNECTED per-tensor (GetQuantizedConvolutionMultipler): the scale product is float32."""
    product = float(np.float32(input_scale) * np.float32(weight_scale))
    return output_multiplier(product / float(np.float32(output_scale)))


@dataclass(frozen=True)
class AddQuantParams:
    """What TFLite's quantized ADD Prepare derives from the three scales (int8: left_shift 20, int16: 15)."""

    left_shift: int
    input1_multiplier: int
    input1_shift: int
    input2_multiplier: int
    input2_shift: int
    output_multiplier: int
    output_shift: int


def add_quant_params(input1_scale: float, input2_scale: float, output_scale: float,
                     left_shift: int = 20) -> AddQuantParams:
    """left_shift: 20 for int8, 15 for int16 (the 16x8 ADD's general-scale path, where 65535 << 15 fits)."""
    s1, s2, so = (float(np.float32(s)) for s in (input1_scale, input2_scale, output_scale))
    twice_max = 2.0 * max(s1, s2)
    m1 = quantize_multiplier(s1 / twice_max)
    m2 = quantize_multiplier(s2 / twice_max)
    mo = output_multiplier(twice_max / ((1 << left_shift) * so))
    return AddQuantParams(left_shift, m1[0], m1[1], m2[0], m2[1], mo[0], mo[1])


@dataclass(frozen=True)
class SoftmaxQuantParams:
    input_multiplier: int
    input_left_shift: int
    diff_min: int


def softmax_quant_params(input_scale: float, beta: float, what: str) -> SoftmaxQuantParams:
    """PreprocessSoftmaxScaling + CalculateInputRadius with 5 integer bits for the scaled diff. An input scale
    times beta under 2**-26 has no such multiplier (TFLite's check fails there): ModelError naming `what`."""
    from edgeai.errors import ModelError

    integer_bits = 5
    real = min(float(beta) * float(np.float32(input_scale)) * (1 << (31 - integer_bits)), (1 << 31) - 1.0)
    multiplier, left_shift = quantize_multiplier(real)
    if left_shift < 0:
        raise ModelError(f"{what}: input scale {input_scale:g} * beta {beta:g} is too small for int8 softmax "
                         f"(must be at least 2**-26)")
    radius = math.floor(((1 << integer_bits) - 1) * (1 << (31 - integer_bits)) / (1 << left_shift))
    return SoftmaxQuantParams(multiplier, left_shift, -int(radius))


# --- the same arithmetic as TE expressions ---------------------------------------------------


def te_requantize(shape, value, multiplier, shift, name: str):
    """MultiplyByQuantizedMultiplier(value(*i), multiplier(*i), shift(*i)) as two TE stages.

    Stage `{name}_high`: x * 2**max(shift, 0), then SaturatingRoundingDoublingHighMul; stage `{name}`:
    RoundingDivideByPOT by max(-shift, 0). Two stages instead of one expression because each step uses
    its input several times and TE expressions are trees: nested in one expression, the copies
    multiply (an int8 ADD would hold ~100 copies of each load). The kernels schedule both stages
    inside their output loop, where each becomes one stack scalar.
    value, multiplier and shift are functions of the output indices; multiplier and shift may also
    return Python ints (known at compile time).
    """
    from tvm import te, tirx

    def _const(v):
        return tirx.const(v, "int32") if isinstance(v, int) else v

    def high(*i):
        s = shift(*i)
        x = value(*i)
        # x * 2**left in int64 (a multiplication: shifting a negative value left is undefined in C), kept within
        # +-SATURATION: TFLite's int32 product wherever that does not overflow, and past it a value that
        # saturates the int8 output just as well (a left shift means no right shift follows)
        if isinstance(s, int):
            a = x if s <= 0 else _saturate(x.astype("int64") * tirx.const(1 << s, "int64")).astype("int32")
        else:
            left = tirx.const(1, "int64") << tirx.max(s, 0).astype("int64")
            a = tirx.Select(s > 0, _saturate(x.astype("int64") * left).astype("int32"), x)
        return te_saturating_rounding_doubling_high_mul(a, _const(multiplier(*i)))

    hi = te.compute(shape, high, name=f"{name}_high")

    def low(*i):
        s = shift(*i)
        exponent = max(-s, 0) if isinstance(s, int) else tirx.max(-s, 0)
        return te_rounding_divide_by_pot(hi[i], exponent)

    return te.compute(shape, low, name=name)


def te_requantize_single_rounding(shape, value, multiplier, shift, name: str, half_even: bool = False):
    """x * multiplier / 2**(31 - shift) in int64 with one rounding: halves up, or to even (half_even).

    Halves up is LiteRT 2.3's reference FULLY_CONNECTED int8 (measured on ad01_int8: the two-step
    MultiplyByQuantizedMultiplier differs by 1 LSB on 11 of 1416 outputs, this on none), while its
    CONV_2D/DEPTHWISE_CONV_2D/ADD use the two-step rounding. Halves to even is ONNX's QuantizeLinear
    applied to the exact value: what a QDQ graph means.
    """
    from tvm import te, tirx

    def body(*i):
        x, m, s = value(*i), multiplier(*i), shift(*i)
        m = tirx.const(m, "int32") if isinstance(m, int) else m
        total = tirx.const(31 - s, "int64") if isinstance(s, int) else (31 - s).astype("int64")
        product = x.astype("int64") * m.astype("int64")
        if half_even:
            return _saturate(te_shift_half_even(product, total)).astype("int32")
        rnd = tirx.const(1, "int64") << (total - 1)
        return _saturate((product + rnd) >> total).astype("int32")

    return te.compute(shape, body, name=name)


def _saturate(x):
    """An int64 value clamped to +-SATURATION, so that it fits an int32 and stays there with a zero point added."""
    from tvm import tirx

    return tirx.min(tirx.max(x, tirx.const(-SATURATION, "int64")), tirx.const(SATURATION, "int64"))


def te_shift_half_even(x, total):
    """x / 2**total (int64, total >= 1) rounded to nearest, ties to even: adding 2**(total-1) - 1 plus the
    lowest bit of the quotient carries exactly when the remainder is over a half, or a half of an odd one."""
    from tvm import tirx

    one = tirx.const(1, "int64")
    return (x + (one << (total - 1)) - one + ((x >> total) & one)) >> total


def te_divide_half_even(x, divisor):
    """x / divisor (int64, divisor > 0) rounded to nearest, ties to even."""
    from tvm import tirx

    q, r = tirx.floordiv(x, divisor), tirx.floormod(x, divisor)
    up = tirx.Select(2 * r == divisor, q & tirx.const(1, "int64"),
                     tirx.Select(2 * r > divisor, tirx.const(1, "int64"), tirx.const(0, "int64")))
    return q + up


def exact_multiplier(real: float, what: str) -> tuple[int, int]:
    """real = multiplier / 2**total with multiplier < 2**31 (31 significant bits) and total >= 1, for one
    rounding of an int64 product: the requantization of ONNX numerics. `what` names the node for the error."""
    from edgeai.errors import ModelError

    m, shift = quantize_multiplier(real)
    if m == 0 or 31 - shift < 1:
        raise ModelError(f"{what}: scale ratio {real:g} cannot be requantized (must be in (2**-32, 2**30))")
    return m, 31 - shift


def half_even_ties_possible(multiplier, shift, acc_bound) -> np.ndarray:
    """Per channel: can acc * multiplier / 2**(31 - shift) fall exactly on a half for some |acc| <= acc_bound?
    Only then do halves-up and halves-to-even differ. With multiplier = odd * 2**k a half needs acc = odd *
    2**(30 - shift - k), which no acc within the bound is when that power exceeds it."""
    m = np.atleast_1d(np.asarray(multiplier, np.int64))
    s = np.broadcast_to(np.asarray(shift, np.int64), m.shape)
    bound = np.broadcast_to(np.asarray(acc_bound, np.int64), m.shape)
    k = np.array([(int(v) & -int(v)).bit_length() - 1 if v else 0 for v in m], np.int64)
    z = 30 - s - k
    return (m != 0) & (z >= 0) & (np.left_shift(1, np.clip(z, 0, 62)) <= bound)


def te_saturating_rounding_doubling_high_mul(a, b):
    """SaturatingRoundingDoublingHighMul for a multiplier b from quantize_multiplier.

    Its only overflow case is a == b == INT32_MIN; |b| < 2**31 for every multiplier quantize_multiplier
    produces, so the saturation branch is left out.
    """
    from tvm import tirx

    i32, i64 = "int32", "int64"
    ab = a.astype(i64) * b.astype(i64)
    nudge = tirx.Select(ab >= 0, tirx.const(1 << 30, i64), tirx.const(1 - (1 << 30), i64))
    return tirx.truncdiv(ab + nudge, tirx.const(1 << 31, i64)).astype(i32)


def te_rounding_divide_by_pot(x, exponent):
    """RoundingDivideByPOT: x / 2**exponent rounded to nearest, ties away from zero."""
    from tvm import tirx

    i32 = "int32"
    if isinstance(exponent, int):
        if exponent == 0:
            return x
        mask, e = tirx.const((1 << exponent) - 1, i32), tirx.const(exponent, i32)
    else:
        e = exponent
        mask = ((tirx.const(1, "int64") << exponent.astype("int64")) - 1).astype(i32)
    threshold = (mask >> 1) + tirx.Select(x < 0, tirx.const(1, i32), tirx.const(0, i32))
    return (x >> e) + tirx.Select((x & mask) > threshold, tirx.const(1, i32), tirx.const(0, i32))


# --- 16x8: int16 activations, int8 weights, int64 accumulators -------------------------------


def wide_multipliers(multiplier, shift, reduced: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The (multiplier, right shift) pairs of LiteRT's 16x8 requantization of an int64 accumulator: one
    rounding, halves up, (acc * multiplier + 2**(total - 1)) >> total.

    reduced (CONV_2D, DEPTHWISE_CONV_2D: the int64 MultiplyByQuantizedMultiplier): the multiplier rounded to 15
    bits, (m + 2**15) >> 16 (0x7FFF from 0x7FFF0000 up, where that sum would pass 2**31), and total = 15 - shift.
    Not reduced (FULLY_CONNECTED, measured against LiteRT's reference kernels: the 15-bit multiplier differs by
    1 LSB on 9 of 80 outputs of field_models/int16x8_tf2.21/dscnn_block.tflite, this on none): the whole Q31
    multiplier and total = 31 - shift. Precomputed here, so the kernel does one int64 multiply, add and shift.
    Returns (multiplier int32[C], total shift int32[C])."""
    m = np.asarray(multiplier, np.int64)
    if reduced:
        m, total = np.where(m < 0x7FFF0000, (m + (1 << 15)) >> 16, 0x7FFF), 15 - np.asarray(shift, np.int64)
    else:
        total = 31 - np.asarray(shift, np.int64)
    if np.any(total < 1):  # LiteRT checks shift < 8; past 15 - 1 the reduced form would shift by zero or less
        raise ValueError(f"16x8 requantization shift {int(np.max(shift))} is out of range (must be below 15)")
    return m.astype(np.int32), total.astype(np.int32)


def te_requantize_wide(shape, value, multiplier, total, act_min: int, act_max: int, dtype: str, name: str,
                       whole: bool = False):
    """(value * multiplier + 2**(total - 1)) >> total, clamped to [act_min, act_max] as `dtype`: LiteRT's 16x8
    epilogue (wide_multipliers). value(*i) is int64; multiplier and total are functions of the indices.

    whole: the multiplier is the whole Q31 one (FULLY_CONNECTED), whose product with a long layer's accumulator can
    pass int64 (127 * 32767 * 2048 * 2**31): the product is then formed in two halves of the accumulator, exactly
    (LiteRT saturates such a layer correctly). The 15-bit multiplier of the convolutions cannot overflow (LiteRT
    assumes |value| < 2**47)."""
    from tvm import te, tirx

    i64 = lambda v: tirx.const(v, "int64")  # noqa: E731

    def direct(x, m, t):
        return (x * m + (i64(1) << (t - i64(1)))) >> t

    def halves(x, m, t):
        x = tirx.min(tirx.max(x, i64(-(1 << 62))), i64(1 << 62))
        low = (x & i64((1 << 31) - 1)) * m + (i64(1) << (t - i64(1)))  # < 2**62 + 2**61
        high = (x >> i64(31)) * m + (low >> i64(31))  # x * m + rounding = high * 2**31 + (low & (2**31 - 1))
        above = high >> tirx.max(t - i64(31), i64(0))
        held = tirx.min(tirx.max(high, i64(-(1 << 32))), i64(1 << 32))  # past it the output saturates anyway
        below = held * (i64(1) << tirx.max(i64(31) - t, i64(0))) + ((low & i64((1 << 31) - 1)) >> t)
        return tirx.Select(t >= i64(31), above, below)

    def body(*i):
        t, m = total(*i).astype("int64"), multiplier(*i).astype("int64")
        scaled = (halves if whole else direct)(value(*i), m, t)
        return tirx.min(tirx.max(scaled, i64(act_min)), i64(act_max)).astype(dtype)

    return te.compute(shape, body, name=name)
