/* SOFTMAX int16 -> int16 (16x8 quantization) with the arithmetic of LiteRT's reference kernel: the difference to
 * the row maximum scaled so that [-65535, 0] stands for [-10, 0], recentred to int16 and looked up in a 513-entry
 * table of exp with linear interpolation; the sum of the exps normalised to [1, 2) and looked up the same way in a
 * table of 1 / (1 + x); each exp times that reciprocal, rounded, in [0, 32767]. The tables and the multiplier
 * are computed at compile time (compilers/lowering/softmax.py). The exps are kept in the output row between the
 * two passes, so the kernel needs no scratch memory. C99, no allocation, returns 0.
 */
#include <stdint.h>

#include "softmax_int16.h"

/* x * multiplier * 2**(shift - 31), LiteRT's two roundings (MultiplyByQuantizedMultiplier for int32): a rounding
 * doubling high multiply, then a rounding right shift, halves away from zero. The left shift is at most 15
 * (checked at compile time), so a difference of at most 65535 in magnitude stays inside int32. */
static int32_t scale_difference(int32_t x, int32_t multiplier, int32_t shift)
{
    int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    int64_t ab = (int64_t)(x * (1 << left)) * multiplier;
    int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    int32_t high = (int32_t)((ab + nudge) / ((int64_t)1 << 31));
    if (right == 0) return high;
    int32_t mask = (int32_t)(((int64_t)1 << right) - 1);
    int32_t threshold = (mask >> 1) + (high < 0 ? 1 : 0);
    return (high >> right) + ((high & mask) > threshold ? 1 : 0);
}

static int16_t saturate16(int32_t x)
{
    return (int16_t)(x < -32768 ? -32768 : (x > 32767 ? 32767 : x));
}

/* The table's value at x: entry 256 + x / 128 (rounded down) plus the slope to the next entry times the
 * remaining 7 bits, rounded. */
static int16_t lookup(int16_t x, const int16_t* lut)
{
    int32_t index = 256 + (x >> 7);
    int32_t offset = x & 0x7f;
    int16_t base = lut[index];
    int16_t slope = (int16_t)(lut[index + 1] - base);
    return (int16_t)(base + ((slope * offset + 64) >> 7));
}

int32_t edgeai_softmax_int16(const int16_t* input, int16_t* output, int32_t outer, int32_t depth,
                             int32_t input_multiplier, int32_t input_shift, const int16_t* exp_lut,
                             const int16_t* one_over_one_plus_x_lut)
{
    for (int32_t row = 0; row < outer; ++row) {
        const int16_t* in = input + row * depth;
        int16_t* out = output + row * depth;
        int32_t max_in_row = -32768;
        for (int32_t c = 0; c < depth; ++c) max_in_row = in[c] > max_in_row ? in[c] : max_in_row;

        int32_t sum_of_exps = 0; /* Q16.15 */
        for (int32_t c = 0; c < depth; ++c) {
            int32_t scaled = scale_difference(in[c] - max_in_row, input_multiplier, input_shift);
            out[c] = lookup(saturate16(scaled + 32767), exp_lut); /* Q0.15; read again below */
            sum_of_exps += out[c];
        }

        /* sum_of_exps > 0: the row maximum's exp is 32767 (GCC and Clang have the builtin on every target) */
        int headroom_plus_one = __builtin_clz((uint32_t)sum_of_exps);
        int32_t shifted_sum = (int32_t)((((int64_t)sum_of_exps << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
        /* the table holds 1 / (1 + x) for x in [0, 1]: x = sum - 1, recentred from [0, 65535] to int16 */
        int16_t reciprocal = lookup(saturate16(shifted_sum - ((1 << 15) + (1 << 16))), one_over_one_plus_x_lut);

        int right_shift = 31 - headroom_plus_one;
        int64_t round = (int64_t)1 << (right_shift - 1);
        for (int32_t c = 0; c < depth; ++c) {
            int32_t result = (int32_t)(((int64_t)out[c] * reciprocal + round) >> right_shift);
            out[c] = (int16_t)(result < 0 ? 0 : (result > 32767 ? 32767 : result));
        }
    }
    return 0;
}
