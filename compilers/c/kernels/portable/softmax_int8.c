/* SOFTMAX int8 -> int8 (output scale 1/256, zero point -128) with the fixed-point arithmetic of
 * TFLite's reference kernel: exp of the scaled difference to the row maximum in Q5.26, sum in Q12.19,
 * reciprocal by Newton-Raphson. input_multiplier, input_left_shift and diff_min come from
 * compilers.tvm.requant.softmax_quant_params. C99, no allocation, returns 0.
 */
#include <stdint.h>

#include "softmax_int8.h"

static int32_t srdhm(int32_t a, int32_t b) /* SaturatingRoundingDoublingHighMul */
{
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

static int32_t rounding_divide_by_pot(int32_t x, int exponent)
{
    int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

static int32_t saturating_shift_left(int32_t x, int exponent) /* SaturatingRoundingMultiplyByPOT, exponent > 0 */
{
    int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) return INT32_MAX;
    if (x < -threshold) return INT32_MIN;
    return (int32_t)((uint32_t)x << exponent);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out. */
static int32_t exp_on_interval(int32_t a)
{
    const int32_t constant_term = 1895147668;    /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883; /* 1/3 */
    int32_t x = a + (1 << 28);                   /* a + 1/8 */
    int32_t x2 = srdhm(x, x);
    int32_t x3 = srdhm(x2, x);
    int32_t x4 = srdhm(x2, x2);
    int32_t x4_over_4 = rounding_divide_by_pot(x4, 2);
    int32_t poly = rounding_divide_by_pot(srdhm(x4_over_4 + x3, constant_1_over_3) + x2, 1);
    return constant_term + srdhm(constant_term, x + poly);
}

/* exp(a) for a <= 0 given in Q5.26; result Q0.31. */
static int32_t exp_on_negative_values(int32_t a)
{
    enum { kFractionalBits = 26 };
    static const int32_t kMultipliers[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t one_quarter = 1 << (kFractionalBits - 2);
    const int32_t mask = one_quarter - 1;
    int32_t a_mod_quarter_minus_one_quarter = (a & mask) - one_quarter;
    int32_t result = exp_on_interval(saturating_shift_left(a_mod_quarter_minus_one_quarter, 5));
    int32_t remainder = a_mod_quarter_minus_one_quarter - a;
    for (int i = 0; i < 7; ++i) { /* exponents -2 .. +4 */
        if (remainder & (1 << (kFractionalBits - 2 + i))) result = srdhm(result, kMultipliers[i]);
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + x) for x in [0, 1), Q0.31 in and out. */
static int32_t one_over_one_plus_x(int32_t a)
{
    int64_t sum = (int64_t)a + INT32_MAX;
    int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = 1515870810 + srdhm(half_denominator, -1010580540); /* Q2.29: 48/17 - 32/17 d */
    for (int i = 0; i < 3; ++i) {
        int32_t half_denominator_times_x = srdhm(half_denominator, x);
        int32_t one_minus = (1 << 29) - half_denominator_times_x;
        x = x + saturating_shift_left(srdhm(x, one_minus), 2);
    }
    return saturating_shift_left(x, 1);
}

static int count_leading_zeros(uint32_t x)
{
    int n = 0;
    if (x == 0) return 32;
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++n;
    }
    return n;
}

int32_t edgeai_softmax_int8(const int8_t* input, int8_t* output, int32_t outer, int32_t depth,
                            int32_t input_multiplier, int32_t input_left_shift, int32_t diff_min)
{
    for (int32_t row = 0; row < outer; ++row) {
        const int8_t* in = input + row * depth;
        int8_t* out = output + row * depth;
        int32_t max_in_row = in[0];
        for (int32_t c = 1; c < depth; ++c) max_in_row = in[c] > max_in_row ? in[c] : max_in_row;

        int32_t sum_of_exps = 0; /* Q12.19 */
        for (int32_t c = 0; c < depth; ++c) {
            int32_t diff = in[c] - max_in_row;
            if (diff >= diff_min) {
                int32_t scaled = srdhm(diff * (1 << input_left_shift), input_multiplier);
                sum_of_exps += rounding_divide_by_pot(exp_on_negative_values(scaled), 12);
            }
        }
        int headroom_plus_one = count_leading_zeros((uint32_t)sum_of_exps);
        int num_bits_over_unit = 12 - headroom_plus_one;
        int32_t shifted_sum_minus_one = (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31));
        int32_t shifted_scale = one_over_one_plus_x(shifted_sum_minus_one);

        for (int32_t c = 0; c < depth; ++c) {
            int32_t diff = in[c] - max_in_row;
            int32_t q = -128;
            if (diff >= diff_min) {
                int32_t scaled = srdhm(diff * (1 << input_left_shift), input_multiplier);
                int32_t exp_in_0 = exp_on_negative_values(scaled);
                q = rounding_divide_by_pot(srdhm(shifted_scale, exp_in_0), num_bits_over_unit + 31 - 8) - 128;
                q = q < -128 ? -128 : (q > 127 ? 127 : q);
            }
            out[c] = (int8_t)q;
        }
    }
    return 0;
}
