/* Integer LSTM (int8 activations and weights, int16 cell state) with the arithmetic of LiteRT's 8x8_16 kernel:
 * per gate, the input and the recurrent matrix products each requantized to Q3.12 and added with int16
 * saturation; sigmoid and tanh in 16-bit fixed point (the exp barrel shifter, Newton-Raphson reciprocal of
 * gemmlowp's fixed-point library, re-derived here); the cell update c = f*c >> 15 + i*g >> (30 + log2 scale),
 * saturated and clipped; the output tanh(c) * o requantized to int8.
 *
 * Every operation after the matrix products is elementwise, so the kernel computes one unit at a time: its four
 * gate rows, its cell state (kept in `cell`), its output. The previous step's output is read from the output
 * tensor, so the only scratch is the cell state. C99, no allocation, returns 0 (1 on parameters out of range).
 */
#include <stdint.h>

#include "lstm_s8.h"

static int16_t sat16(int32_t x)
{
    return (int16_t)(x < -32768 ? -32768 : (x > 32767 ? 32767 : x));
}

/* x / 2**e rounded to nearest, halves away from zero (e in 0..31). */
static int32_t rounding_shift(int32_t x, int32_t e)
{
    int32_t mask = (int32_t)(((int64_t)1 << e) - 1);
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + ((x & mask) > threshold ? 1 : 0);
}

/* x * multiplier * 2**(shift - 31), LiteRT's two roundings (MultiplyByQuantizedMultiplier). */
static int32_t requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    int32_t a = (int32_t)((uint32_t)x << left);
    if (a == INT32_MIN && multiplier == INT32_MIN) return INT32_MAX;
    int64_t ab = (int64_t)a * multiplier;
    int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    return rounding_shift((int32_t)((ab + nudge) / ((int64_t)1 << 31)), right);
}

/* -- 16-bit fixed point: a raw int16 with a given number of integer bits ----------------------------------- */

/* a * b / 2**15 rounded (the product of two fixed-point numbers, their integer bits adding up), saturating the
 * one overflow, -1 * -1. */
static int16_t fx_mul(int16_t a, int16_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) return INT16_MAX;
    int32_t ab = (int32_t)a * b;
    int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
    return (int16_t)((ab + nudge) / (1 << 15));
}

/* x * 2**e, saturating for e > 0, rounding for e < 0. */
static int16_t fx_pot(int16_t x, int32_t e)
{
    if (e < 0) return (int16_t)rounding_shift(x, -e);
    if (e == 0) return x;
    int32_t threshold = (1 << (15 - e)) - 1;
    if (x > threshold) return INT16_MAX;
    if (x < -threshold) return INT16_MIN;
    return (int16_t)(x * (1 << e));
}

/* A 32-bit fixed-point constant (raw value of a Q0.31 or Q2.29 number) at 16 bits: rounded by 2**16. */
static int16_t fx_const(int32_t raw32)
{
    return (int16_t)rounding_shift(raw32, 16);
}

/* exp(a) for a in [-1/4, 0), Q0.15 in and out: the Taylor expansion around -1/8 to the fourth power. */
static int16_t exp_quarter(int16_t a)
{
    const int16_t exp_minus_eighth = fx_const(1895147668), third = fx_const(715827883);
    int16_t x = (int16_t)(a + (1 << 12));
    int16_t x2 = fx_mul(x, x), x3 = fx_mul(x2, x), x4 = fx_mul(x2, x2);
    int16_t x4_over_4 = fx_pot(x4, -2);
    int16_t poly = fx_pot((int16_t)(fx_mul((int16_t)(x4_over_4 + x3), third) + x2), -1);
    return sat16(exp_minus_eighth + fx_mul(exp_minus_eighth, (int16_t)(x + poly)));
}

/* exp(a) for a <= 0 with `bits` integer bits (0..7), Q0.15 out: exp of a's remainder modulo 1/4, times
 * exp(-2**k) for each bit k of the rest. */
static int16_t exp_negative(int16_t a, int32_t bits)
{
    static const int32_t factors[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    int32_t fraction = 15 - bits;
    int16_t quarter = (int16_t)(1 << (fraction - 2));
    int16_t reduced = (int16_t)((a & (quarter - 1)) - quarter);
    int16_t result = exp_quarter(fx_pot(reduced, bits));
    int16_t rest = (int16_t)(reduced - a);
    for (int32_t k = -2; k <= 4; k++) {  /* exp(-1/4), exp(-1/2), exp(-1), ... exp(-16) */
        if (bits > k && (rest & (1 << (fraction + k)))) result = fx_mul(result, fx_const(factors[k + 2]));
    }
    if (bits > 5 && a < fx_const(-(1 << (36 - bits)))) result = 0;  /* below -32 */
    return a == 0 ? INT16_MAX : result;
}

/* 1 / (1 + a) (one_minus 0) or (1 - a) / (1 + a) (one_minus 1) for a in [0, 1), Q0.15 in and out: three
 * Newton-Raphson steps on half the denominator in Q2.13, from 48/17 - 32/17 d. */
static int16_t reciprocal_step(int16_t a, int one_minus)
{
    int32_t sum = (int32_t)a + INT16_MAX;
    int16_t half_denominator = (int16_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int16_t one = 1 << 13;
    int16_t x = (int16_t)(fx_const(1515870810) + fx_mul(half_denominator, fx_const(-1010580540)));
    for (int i = 0; i < 3; i++) {
        int16_t error = (int16_t)(one - fx_mul(half_denominator, x));
        x = (int16_t)(x + fx_pot(fx_mul(x, error), 2));
    }
    return one_minus ? fx_pot((int16_t)(x - one), 2) : fx_pot(x, 1);
}

/* sigmoid of a Q3.12 value, Q0.15 out. */
static int16_t sigmoid_q3(int16_t a)
{
    if (a == 0) return 1 << 14;
    int16_t magnitude = a > 0 ? a : (int16_t)-a;
    int16_t positive = reciprocal_step(exp_negative((int16_t)-magnitude, 3), 0);
    return a > 0 ? positive : (int16_t)(INT16_MAX - positive);
}

/* tanh of a value with `bits` integer bits, Q0.15 out: (1 - exp(-2|a|)) / (1 + exp(-2|a|)), signed. */
static int16_t tanh_fx(int16_t a, int32_t bits)
{
    if (a == 0) return 0;
    int16_t negative = a < 0 ? a : (int16_t)-a;
    int16_t t = reciprocal_step(exp_negative(negative, bits + 1), 1);
    return a < 0 ? (int16_t)-t : t;
}

/* One gate's pre-activation: its input row times x and its recurrent row times h (none on the first step of the
 * declared zero state, whose product is 0), each requantized to Q3.12 and added with int16 saturation. */
static int16_t gate(const int8_t* x, const int8_t* w, int32_t features, const int8_t* h, const int8_t* r,
                    int32_t hidden, int32_t in_bias, int32_t rec_bias, const int32_t* multiplier,
                    const int32_t* shift)
{
    int32_t acc = in_bias;
    for (int32_t k = 0; k < features; k++) acc += (int32_t)x[k] * w[k];
    int16_t sum = sat16(requantize(acc, multiplier[0], shift[0]));
    if (h == 0) return sum;
    acc = rec_bias;
    for (int32_t k = 0; k < hidden; k++) acc += (int32_t)h[k] * r[k];
    return sat16(requantize(acc, multiplier[4], shift[4]) + sum);
}

int32_t edgeai_lstm_s8(const int8_t* input, int8_t* output, int16_t* cell, int32_t batch, int32_t steps,
                       int32_t features, int32_t hidden, int32_t time_major, const int8_t* input_weights,
                       const int8_t* recurrent_weights, const int32_t* bias, const int32_t* multiplier,
                       const int32_t* shift, const int32_t* params)
{
    int32_t out_zp = params[0], cell_shift = params[1], cell_bits = params[2], clip = params[3];
    if (cell_shift < 0 || cell_shift > 31 || cell_bits < 0 || cell_bits > 6) return 1;
    for (int32_t b = 0; b < batch; b++) {
        int16_t* c = cell + b * hidden;
        for (int32_t j = 0; j < hidden; j++) c[j] = 0;
        for (int32_t t = 0; t < steps; t++) {
            int32_t row = time_major ? t * batch + b : b * steps + t;
            int32_t prev = time_major ? (t - 1) * batch + b : row - 1;
            const int8_t* x = input + row * features;
            const int8_t* h = t == 0 ? 0 : output + prev * hidden;
            int8_t* y = output + row * hidden;
            for (int32_t j = 0; j < hidden; j++) {
                int16_t g[4];
                for (int32_t n = 0; n < 4; n++) {
                    g[n] = gate(x, input_weights + (n * hidden + j) * features, features, h,
                                recurrent_weights + (n * hidden + j) * hidden, hidden, bias[n * hidden + j],
                                bias[(4 + n) * hidden + j], multiplier + n, shift + n);
                }
                int16_t in = sigmoid_q3(g[0]), forget = sigmoid_q3(g[1]), candidate = tanh_fx(g[2], 3);
                int16_t out = sigmoid_q3(g[3]);
                int16_t kept = (int16_t)rounding_shift((int32_t)forget * c[j], 15);
                int16_t added = (int16_t)rounding_shift((int32_t)in * candidate, cell_shift);
                int16_t state = sat16((int32_t)kept + added);
                if (clip > 0) state = (int16_t)(state > clip ? clip : (state < -clip ? -clip : state));
                c[j] = state;
                int32_t v = requantize((int32_t)out * tanh_fx(state, cell_bits), multiplier[8], shift[8]) + out_zp;
                y[j] = (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v));
            }
        }
    }
    return 0;
}
