#ifndef EDGEAI_REQUANT_S8_X86_H
#define EDGEAI_REQUANT_S8_X86_H
/*
 * Requantization shared by the x86-64 int8 kernels (conv_s8_x86.c, dwconv_s8_x86.c, add_s8_x86.c): int32
 * accumulators → int8, bit-exact with LiteRT's reference kernels, in scalar C (the portable path, and the
 * channels a vector does not fill) and for 8 lanes in AVX2 (the functions carry target("avx2"): the library is
 * built without -mavx2 and each kernel picks its path at run time).
 *
 * The per-channel constants are those of the aarch64 kernels (compilers/lowering/neon_conv.py:
 * channel_constants, one layout for both), planar, each array padded to OP (a multiple of 16) channels:
 *   mode 0, 2 (TFLite's two roundings): start[OP] | multiplier[OP] | left shift[OP] | -right shift[OP] | fix[OP]
 *   mode 1 (one rounding: LiteRT FC; ONNX numerics where no half is reachable): start[OP] | multiplier[OP] |
 *                                      -(31 - shift) as int64[OP] (two words each, the low one first)
 * Mode 0 and 2 are SaturatingRoundingDoublingHighMul(acc << left, M) then RoundingDivideByPOT(., right); mode 1
 * is (acc * M + 2^(T-1)) >> T in 64 bits, T = 31 - shift, truncated to 32 bits as TFLite's cast does.
 */
#include <stdint.h>
#include <string.h>

#define EDGEAI_X86_INLINE static inline __attribute__((always_inline))

enum { EDGEAI_X86_TWO_ROUNDINGS = 0, EDGEAI_X86_ONE_ROUNDING = 1, EDGEAI_X86_TWO_ROUNDINGS_RIGHT = 2 };

/* RoundingDivideByPOT(x, e), e in 0..31: the quotient rounded to nearest, ties away from zero (TFLite's
 * remainder-and-threshold form: no sum that could overflow). */
EDGEAI_X86_INLINE int32_t edgeai_x86_div_pot(int32_t x, int32_t e)
{
    const int32_t mask = (int32_t)((UINT32_C(1) << e) - 1u);
    const int32_t remainder = x & mask, threshold = (mask >> 1) + (x < 0);
    return (x >> e) + (remainder > threshold);
}

/* One channel's requantization in scalar C; acc includes the start value. */
EDGEAI_X86_INLINE int32_t edgeai_x86_rq1(int32_t acc, const int32_t* channel, int32_t op, int32_t c, int32_t mode)
{
    const int64_t mult = channel[op + c];
    if (mode == EDGEAI_X86_ONE_ROUNDING) {
        const int32_t t = -channel[2 * op + 2 * c];
        return (int32_t)(((int64_t)acc * mult + (INT64_C(1) << (t - 1))) >> t);
    }
    const int32_t a = (int32_t)((uint32_t)acc << channel[2 * op + c]); /* wraps as TFLite's int32 product */
    if (a == INT32_MIN && mult == INT32_MIN) {
        return INT32_MAX; /* SaturatingRoundingDoublingHighMul's one overflow */
    }
    /* (a*M + 2^30) >> 31 rounds as TFLite's nudge-and-truncate does (both give the nearest, halves up). */
    const int32_t high = (int32_t)(((int64_t)a * mult + (INT64_C(1) << 30)) >> 31);
    return edgeai_x86_div_pot(high, -channel[3 * op + c]);
}

/* v + zero point, clamped to [lo, hi] (lo, hi within int8). */
EDGEAI_X86_INLINE int8_t edgeai_x86_clamp1(int32_t v, int32_t zp, int32_t lo, int32_t hi)
{
    const int64_t x = (int64_t)v + zp;
    return (int8_t)(x < lo ? lo : (x > hi ? hi : x));
}

#if defined(__x86_64__) && !defined(EDGEAI_X86_PORTABLE)
#include <immintrin.h>

#define EDGEAI_AVX2 static inline __attribute__((always_inline, target("avx2")))

/* The constants of 8 channels, loaded once per block and reused for every pixel. */
typedef struct {
    __m256i mult, mult_odd, left, right; /* mult_odd: the odd lanes' multipliers in the even lanes' place */
    __m256i mask, half;                  /* RoundingDivideByPOT's 2^right - 1 and its half */
    __m256i t_even, t_odd;               /* mode 1: T of channels 0,2,4,6 and 1,3,5,7 in 64-bit lanes */
} edgeai_x86_rq8;

/* The derived fields of q (mult_odd, mask, half), from mult and right. */
EDGEAI_AVX2 void edgeai_x86_rq8_derive(edgeai_x86_rq8* q)
{
    q->mult_odd = _mm256_srli_epi64(q->mult, 32);
    q->mask = _mm256_sub_epi32(_mm256_sllv_epi32(_mm256_set1_epi32(1), q->right), _mm256_set1_epi32(1));
    q->half = _mm256_srai_epi32(q->mask, 1);
}

EDGEAI_AVX2 __m256i edgeai_x86_load8(const int32_t* p)
{
    return _mm256_loadu_si256((const __m256i*)(const void*)p);
}

EDGEAI_AVX2 edgeai_x86_rq8 edgeai_x86_rq8_load(const int32_t* channel, int32_t op, int32_t c, int32_t mode)
{
    edgeai_x86_rq8 q;
    q.mult = edgeai_x86_load8(channel + op + c);
    q.left = q.right = q.t_even = q.t_odd = _mm256_setzero_si256();
    q.mult_odd = _mm256_srli_epi64(q.mult, 32);
    q.mask = q.half = _mm256_setzero_si256();
    if (mode == EDGEAI_X86_ONE_ROUNDING) {
        int32_t t[8];
        for (int32_t j = 0; j < 8; j++) {
            t[j] = -channel[2 * op + 2 * (c + j)];
        }
        const __m256i tv = _mm256_loadu_si256((const __m256i*)(const void*)t);
        q.t_even = _mm256_and_si256(tv, _mm256_set1_epi64x(0xFFFFFFFF));
        q.t_odd = _mm256_srli_epi64(tv, 32);
        return q;
    }
    q.right = _mm256_sub_epi32(_mm256_setzero_si256(), edgeai_x86_load8(channel + 3 * op + c));
    if (mode == EDGEAI_X86_TWO_ROUNDINGS) {
        q.left = edgeai_x86_load8(channel + 2 * op + c);
    }
    edgeai_x86_rq8_derive(&q);
    return q;
}

/* 64-bit lanes x >> t, arithmetic (AVX2 shifts 64-bit lanes logically only: flip the sign bits around it). */
EDGEAI_AVX2 __m256i edgeai_x86_sra64(__m256i x, __m256i t)
{
    const __m256i sign = _mm256_cmpgt_epi64(_mm256_setzero_si256(), x);
    return _mm256_xor_si256(_mm256_srlv_epi64(_mm256_xor_si256(x, sign), t), sign);
}

/* 8 accumulators (start included) → 8 requantized values before the output zero point: edgeai_x86_rq1 per lane. */
EDGEAI_AVX2 __m256i edgeai_x86_rq8_apply(__m256i acc, const edgeai_x86_rq8* q, int32_t mode)
{
    if (mode == EDGEAI_X86_ONE_ROUNDING) {
        const __m256i one = _mm256_set1_epi64x(1);
        __m256i e = _mm256_mul_epi32(acc, q->mult);
        __m256i o = _mm256_mul_epi32(_mm256_srli_epi64(acc, 32), q->mult_odd);
        e = edgeai_x86_sra64(_mm256_add_epi64(e, _mm256_sllv_epi64(one, _mm256_sub_epi64(q->t_even, one))),
                             q->t_even);
        o = edgeai_x86_sra64(_mm256_add_epi64(o, _mm256_sllv_epi64(one, _mm256_sub_epi64(q->t_odd, one))),
                             q->t_odd);
        return _mm256_blend_epi32(e, _mm256_slli_epi64(o, 32), 0xAA); /* the low words: the int32 casts */
    }
    const __m256i a = mode == EDGEAI_X86_TWO_ROUNDINGS ? _mm256_sllv_epi32(acc, q->left) : acc;
    /* SaturatingRoundingDoublingHighMul: bits 31..62 of a*M + 2^30, from even and odd lanes' 64-bit products.
     * Its one saturating case (a == M == INT32_MIN) cannot occur: the lowering declines a multiplier of INT32_MIN
     * (compilers/lowering/x86_conv.py). */
    const __m256i nudge = _mm256_set1_epi64x(INT64_C(1) << 30);
    const __m256i e = _mm256_add_epi64(_mm256_mul_epi32(a, q->mult), nudge);
    const __m256i o = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(a, 32), q->mult_odd), nudge);
    const __m256i x = _mm256_blend_epi32(_mm256_srli_epi64(e, 31), _mm256_slli_epi64(o, 1), 0xAA);
    /* RoundingDivideByPOT, the remainder-and-threshold form per lane */
    const __m256i threshold = _mm256_add_epi32(q->half, _mm256_srli_epi32(x, 31));
    const __m256i up = _mm256_cmpgt_epi32(_mm256_and_si256(x, q->mask), threshold);
    return _mm256_sub_epi32(_mm256_srav_epi32(x, q->right), up);
}

/* 8 requantized values + zero point, saturated to int8 and clamped to [lo, hi]: the 8 bytes in the low half.
 * Saturating to int16 before adding the zero point changes nothing (a value past int16 stays past int8). */
EDGEAI_AVX2 __m128i edgeai_x86_narrow8(__m256i v, __m128i zp16, __m128i lo8, __m128i hi8)
{
    const __m128i s = _mm_adds_epi16(_mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)),
                                     zp16);
    return _mm_min_epi8(_mm_max_epi8(_mm_packs_epi16(s, s), lo8), hi8);
}

/* Two pixels' 16 channels (a0, a1: channels 0-7 and 8-15 of the first; b0, b1 the second's) narrowed as
 * edgeai_x86_narrow8 does, in a third of its instructions, to out_a and out_b (16 bytes each). zp16: the zero point
 * in every 16-bit lane; lo8, hi8: the clamp in every byte. */
EDGEAI_AVX2 void edgeai_x86_narrow16x2(__m256i a0, __m256i a1, __m256i b0, __m256i b1, __m256i zp16, __m256i lo8,
                                       __m256i hi8, int8_t* out_a, int8_t* out_b)
{
    const __m256i a = _mm256_adds_epi16(_mm256_packs_epi32(a0, a1), zp16); /* a's 0-3, 8-11 | 4-7, 12-15 */
    const __m256i b = _mm256_adds_epi16(_mm256_packs_epi32(b0, b1), zp16);
    /* VPACKSSWB per 128-bit lane: the 4-byte groups a 0-3, a 8-11, b 0-3, b 8-11 | a 4-7, a 12-15, b 4-7, b 12-15 */
    __m256i v = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(a, b), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    v = _mm256_min_epi8(_mm256_max_epi8(v, lo8), hi8);
    _mm_storeu_si128((__m128i*)(void*)out_a, _mm256_castsi256_si128(v));
    _mm_storeu_si128((__m128i*)(void*)out_b, _mm256_extracti128_si256(v, 1));
}

/* The low n <= 8 bytes of v to out (never past the tensor). */
EDGEAI_AVX2 void edgeai_x86_store8(int8_t* out, __m128i v, int32_t n)
{
    if (n >= 8) {
        _mm_storeu_si64((void*)out, v);
        return;
    }
    int8_t tmp[16];
    _mm_storeu_si128((__m128i*)(void*)tmp, v);
    memcpy(out, tmp, (size_t)n);
}
#endif

#endif
