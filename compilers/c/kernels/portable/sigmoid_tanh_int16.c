/* LOGISTIC and TANH int16 -> int16 (16x8 quantization) with the arithmetic of LiteRT's reference kernels: the
 * input times a multiplier, shifted right with rounding (halves up), so that 2**17 stands for 32/3; its magnitude
 * split into a table index and a remainder (9 bits for sigmoid, 8 for tanh, which reads the table at twice the
 * argument), the table entry plus the remainder times the slope to the next entry; past the table the saturated
 * value; reflected for negative inputs (sigmoid(-x) = 1 - sigmoid(x), tanh(-x) = -tanh(x)) and rounded to the
 * output's 15 fraction bits. The multiplier keeps |input * multiplier| inside int32 (checked at compile time).
 * C99, no allocation, returns 0.
 */
#include <stdint.h>

#include "sigmoid_tanh_int16.h"

static int32_t rescale(int16_t x, int32_t multiplier, int32_t shift)
{
    int32_t half = shift > 0 ? (int32_t)1 << (shift - 1) : 0;
    return (x * multiplier + half) >> shift; /* arithmetic shift: rounds towards minus infinity, as LiteRT's */
}

/* The interpolated table value at magnitude m, in 0.(16 + fraction_bits) format; saturated from entry 255 on. */
static uint32_t interpolate(uint32_t m, int32_t fraction_bits, uint32_t saturated, const int32_t* table)
{
    uint32_t index = m >> fraction_bits;
    if (index >= 255) return saturated;
    uint32_t low = (uint32_t)table[index], high = (uint32_t)table[index + 1];
    uint32_t remainder = m & ((1u << fraction_bits) - 1);
    return (low << fraction_bits) + remainder * (high - low);
}

int32_t edgeai_sigmoid_int16(const int16_t* input, int16_t* output, int32_t size, int32_t multiplier,
                             int32_t shift, const int32_t* table)
{
    for (int32_t i = 0; i < size; ++i) {
        int32_t x = rescale(input[i], multiplier, shift);
        uint32_t m = (uint32_t)(x < 0 ? -x : x);
        uint32_t v = interpolate(m, 9, 0x7fffu << 10, table); /* sigmoid(|x|) in 0.25 */
        /* sigmoid(x) = 1 - sigmoid(-x); the -1 makes the reflected rounding match the positive side's */
        v = x >= 0 ? v + (1u << 9) : (1u << 25) - v + (1u << 9) - 1;
        output[i] = (int16_t)(v >> 10);
    }
    return 0;
}

int32_t edgeai_tanh_int16(const int16_t* input, int16_t* output, int32_t size, int32_t multiplier, int32_t shift,
                          const int32_t* table)
{
    for (int32_t i = 0; i < size; ++i) {
        int32_t x = rescale(input[i], multiplier, shift);
        uint32_t m = (uint32_t)(x < 0 ? -x : x);
        int32_t v = (int32_t)interpolate(m, 8, 0xffffu << 8, table); /* sigmoid(2|x|) in 0.24 */
        /* tanh = 2 sigmoid(2x) - 1: take off one half (2**23), round at bit 7, reflect for negative x */
        v = x >= 0 ? v - (1 << 23) + (1 << 7) : -v + (1 << 23) + (1 << 7) - 1;
        output[i] = (int16_t)(v >> 8);
    }
    return 0;
}
