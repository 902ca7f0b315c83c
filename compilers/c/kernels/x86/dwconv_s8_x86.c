/* int8 DEPTHWISE_CONV_2D for x86-64; see dwconv_s8_x86.h. Per output pixel the tap pointers are set once (into the
 * input, or the zero-point row); per 16 channels and pair of taps, the two taps' inputs widened to 16 bits and
 * interleaved (VPUNPCKLWD / VPUNPCKHWD) meet the packed weight pairs in two VPMADDWD: each channel's two products
 * summed in its int32 lane. */
#include "dwconv_s8_x86.h"

#include "requant_s8_x86.h"

#include <string.h>

/* tp: the KH x KW tap pointers of the window at (iy0, ix0) (row by row), those outside the image at zero_row; an
 * odd count gets one more, its weights zero. */
static inline void dw_taps(const int8_t** tp, const int8_t* input, const int8_t* zero_row, int32_t iy0, int32_t ix0,
                           const int32_t* g)
{
    const int32_t KH = g[EDGEAI_X86_G_KH], KW = g[EDGEAI_X86_G_KW], H = g[EDGEAI_X86_G_H], W = g[EDGEAI_X86_G_W];
    const int32_t C = g[EDGEAI_X86_G_C];
    for (int32_t ky = 0; ky < KH; ky++) {
        for (int32_t kx = 0; kx < KW; kx++) {
            const int32_t iy = iy0 + ky, ix = ix0 + kx;
            tp[ky * KW + kx] = iy < 0 || iy >= H || ix < 0 || ix >= W ? zero_row : input + ((size_t)iy * W + ix) * C;
        }
    }
    tp[KH * KW] = zero_row;
}

/* Where channel c's weight pair sits: within each 16 channels the order is 0-3, 8-11, 4-7, 12-15 (the lanes of
 * VPUNPCKLWD / VPUNPCKHWD on 16 widened channels; dwconv_s8_x86.h). */
static inline int32_t slot(int32_t c)
{
    const int32_t j = c & 15;
    return (c & ~15) | (j & 3) | ((j & 4) << 1) | ((j & 8) >> 1);
}

/* Channel c of one pixel in scalar C. */
static inline int8_t dw1(const int8_t* const* tp, int32_t pairs, const int16_t* w, const int32_t* channel,
                         const int32_t* g, int32_t c)
{
    const int32_t op = g[EDGEAI_X86_G_OP];
    const int32_t sc = slot(c);
    uint32_t acc = (uint32_t)channel[sc]; /* wraps modulo 2^32 as TFLite's int32 accumulator */
    for (int32_t t = 0; t < pairs; t++) {
        const int16_t* wp = w + ((size_t)t * op + sc) * 2;
        acc += (uint32_t)(tp[2 * t][c] * wp[0] + tp[2 * t + 1][c] * wp[1]);
    }
    return edgeai_x86_clamp1(edgeai_x86_rq1((int32_t)acc, channel, op, sc, g[EDGEAI_X86_G_MODE]),
                             g[EDGEAI_X86_G_ZP_OUT], g[EDGEAI_X86_G_ACT_MIN], g[EDGEAI_X86_G_ACT_MAX]);
}

#if defined(__x86_64__) && !defined(EDGEAI_X86_PORTABLE)
/* 8 input bytes as 8 int32 lanes. */
EDGEAI_AVX2 __m256i widen8(const int8_t* p)
{
    int64_t bytes;
    memcpy(&bytes, p, 8);
    return _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(bytes));
}

/* 4 words of plane at slot a, 4 at slot b. */
EDGEAI_AVX2 __m256i load_slots(const int32_t* plane, int32_t a, int32_t b)
{
    return _mm256_set_m128i(_mm_loadu_si128((const __m128i*)(const void*)(plane + b)),
                            _mm_loadu_si128((const __m128i*)(const void*)(plane + a)));
}

/* The requantization constants of the channels in slots a .. a+3, b .. b+3 (requant_s8_x86.h's planes). */
EDGEAI_AVX2 edgeai_x86_rq8 rq8_load_slots(const int32_t* channel, int32_t op, int32_t a, int32_t b, int32_t mode)
{
    edgeai_x86_rq8 q;
    q.mult = load_slots(channel + op, a, b);
    q.left = q.right = q.t_even = q.t_odd = _mm256_setzero_si256();
    if (mode == EDGEAI_X86_ONE_ROUNDING) {
        int32_t t[8];
        for (int32_t j = 0; j < 4; j++) {
            t[j] = -channel[2 * op + 2 * (a + j)], t[4 + j] = -channel[2 * op + 2 * (b + j)];
        }
        const __m256i tv = _mm256_loadu_si256((const __m256i*)(const void*)t);
        q.t_even = _mm256_and_si256(tv, _mm256_set1_epi64x(0xFFFFFFFF));
        q.t_odd = _mm256_srli_epi64(tv, 32);
    } else {
        q.right = _mm256_sub_epi32(_mm256_setzero_si256(), load_slots(channel + 3 * op, a, b));
        if (mode == EDGEAI_X86_TWO_ROUNDINGS) {
            q.left = load_slots(channel + 2 * op, a, b);
        }
    }
    edgeai_x86_rq8_derive(&q);
    return q;
}

/* The weight pairs of channels c .. c+3 (16 bytes). */
EDGEAI_AVX2 __m128i wpairs4(const int16_t* w, int32_t t, int32_t op, int32_t c)
{
    return _mm_loadu_si128((const __m128i*)(const void*)(w + ((size_t)t * op + slot(c)) * 2));
}

/* Channels c .. c+15 of one pixel (c a multiple of 16). */
EDGEAI_AVX2 void dw16(const int8_t* const* tp, const int32_t pairs, const int16_t* w, const int32_t* channel,
                      const int32_t* g, int32_t c, int8_t* out, const edgeai_x86_rq8* q, const int32_t mode)
{
    const int32_t op = g[EDGEAI_X86_G_OP];
    /* the constants are in the weights' channel order: lo holds channels 0-3, 8-11, hi 4-7, 12-15 */
    __m256i lo = edgeai_x86_load8(channel + c), hi = edgeai_x86_load8(channel + c + 8);
#pragma GCC unroll 5
    for (int32_t t = 0; t < pairs; t++) {
        const __m256i a = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(const void*)(tp[2 * t] + c)));
        const __m256i b = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(const void*)(tp[2 * t + 1] + c)));
        const int16_t* wp = w + ((size_t)t * op + c) * 2;
        lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b),
                                                    edgeai_x86_load8((const int32_t*)(const void*)wp)));
        hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b),
                                                    edgeai_x86_load8((const int32_t*)(const void*)(wp + 16))));
    }
    /* VPACKSSDW per 128-bit lane: [0-3 | 4-7] and [8-11 | 12-15], the channels in order */
    const __m256i v = _mm256_adds_epi16(_mm256_packs_epi32(edgeai_x86_rq8_apply(lo, &q[0], mode),
                                                           edgeai_x86_rq8_apply(hi, &q[1], mode)),
                                        _mm256_set1_epi16((int16_t)g[EDGEAI_X86_G_ZP_OUT]));
    __m128i r = _mm_packs_epi16(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    r = _mm_min_epi8(_mm_max_epi8(r, _mm_set1_epi8((char)g[EDGEAI_X86_G_ACT_MIN])),
                     _mm_set1_epi8((char)g[EDGEAI_X86_G_ACT_MAX]));
    _mm_storeu_si128((__m128i*)(void*)(out + c), r);
}

/* Channels c .. c+7 of one pixel (the 8 after the last 16). */
EDGEAI_AVX2 void dw8(const int8_t* const* tp, int32_t pairs, const int16_t* w, const int32_t* channel,
                     const int32_t* g, int32_t c, int8_t* out, const edgeai_x86_rq8* q, const int32_t mode)
{
    const int32_t op = g[EDGEAI_X86_G_OP], a = slot(c), b = slot(c + 4);
    __m256i acc = load_slots(channel, a, b);
#pragma GCC unroll 5
    for (int32_t t = 0; t < pairs; t++) {
        const __m256i x = _mm256_blend_epi16(widen8(tp[2 * t] + c), _mm256_slli_epi32(widen8(tp[2 * t + 1] + c), 16),
                                             0xAA);
        const __m256i wv = _mm256_set_m128i(wpairs4(w, t, op, c + 4), wpairs4(w, t, op, c));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x, wv));
    }
    const __m128i zp = _mm_set1_epi16((int16_t)g[EDGEAI_X86_G_ZP_OUT]);
    const __m128i lo = _mm_set1_epi8((char)g[EDGEAI_X86_G_ACT_MIN]), hi = _mm_set1_epi8((char)g[EDGEAI_X86_G_ACT_MAX]);
    edgeai_x86_store8(out + c, edgeai_x86_narrow8(edgeai_x86_rq8_apply(acc, q, mode), zp, lo, hi), 8);
}

/* The requantization constants of channels cs .. ce - 1 (cs a multiple of 16), 8 channels each in the order dw16
 * and dw8 take them: computed once per chunk of channels, not once per pixel. */
EDGEAI_AVX2 void dw_constants(edgeai_x86_rq8* q, const int32_t* channel, const int32_t* g, int32_t cs, int32_t ce,
                              const int32_t mode)
{
    const int32_t op = g[EDGEAI_X86_G_OP];
    int32_t c = cs;
    for (; c + 16 <= ce; c += 16) {
        q[(c - cs) / 8] = edgeai_x86_rq8_load(channel, op, c, mode);
        q[(c - cs) / 8 + 1] = edgeai_x86_rq8_load(channel, op, c + 8, mode);
    }
    if (c + 8 <= ce) {
        q[(c - cs) / 8] = rq8_load_slots(channel, op, slot(c), slot(c + 4), mode);
    }
}

EDGEAI_AVX2 void dw_pixel_avx2(const int8_t* const* tp, int32_t pairs, const int16_t* w, const int32_t* channel,
                               const int32_t* g, const edgeai_x86_rq8* q, int32_t cs, int32_t ce, int8_t* out,
                               const int32_t mode)
{
    int32_t c = cs;
    for (; c + 16 <= ce; c += 16) {
        dw16(tp, pairs, w, channel, g, c, out, q + (c - cs) / 8, mode);
    }
    if (c + 8 <= ce) {
        dw8(tp, pairs, w, channel, g, c, out, q + (c - cs) / 8, mode);
        c += 8;
    }
    for (; c < ce; c++) {
        out[c] = dw1(tp, pairs, w, channel, g, c);
    }
}

__attribute__((target("avx2"))) static void dw_pixel_avx2_any(const int8_t* const* tp, int32_t pairs,
                                                              const int16_t* w, const int32_t* channel,
                                                              const int32_t* g, const edgeai_x86_rq8* q,
                                                              int32_t cs, int32_t ce, int8_t* out)
{
    const int32_t mode = g[EDGEAI_X86_G_MODE];
    if (pairs == 5 && mode == EDGEAI_X86_TWO_ROUNDINGS_RIGHT) { /* 3x3, the common case: the tap loop unrolled */
        dw_pixel_avx2(tp, 5, w, channel, g, q, cs, ce, out, EDGEAI_X86_TWO_ROUNDINGS_RIGHT);
    } else if (mode == EDGEAI_X86_TWO_ROUNDINGS_RIGHT) {
        dw_pixel_avx2(tp, pairs, w, channel, g, q, cs, ce, out, EDGEAI_X86_TWO_ROUNDINGS_RIGHT);
    } else if (mode == EDGEAI_X86_TWO_ROUNDINGS) {
        dw_pixel_avx2(tp, pairs, w, channel, g, q, cs, ce, out, EDGEAI_X86_TWO_ROUNDINGS);
    } else {
        dw_pixel_avx2(tp, pairs, w, channel, g, q, cs, ce, out, EDGEAI_X86_ONE_ROUNDING);
    }
}

__attribute__((target("avx2"))) static void dw_constants_any(edgeai_x86_rq8* q, const int32_t* channel,
                                                             const int32_t* g, int32_t cs, int32_t ce)
{
    const int32_t mode = g[EDGEAI_X86_G_MODE];
    if (mode == EDGEAI_X86_TWO_ROUNDINGS_RIGHT) {
        dw_constants(q, channel, g, cs, ce, EDGEAI_X86_TWO_ROUNDINGS_RIGHT);
    } else if (mode == EDGEAI_X86_TWO_ROUNDINGS) {
        dw_constants(q, channel, g, cs, ce, EDGEAI_X86_TWO_ROUNDINGS);
    } else {
        dw_constants(q, channel, g, cs, ce, EDGEAI_X86_ONE_ROUNDING);
    }
}
#endif

/* Channels per pass over the image: their requantization constants (8 KiB) stay on the stack for the pass. */
#define DW_CHUNK 256

int32_t edgeai_dwconv_s8_x86(const int8_t* input, const int16_t* weights, const int32_t* channel,
                             const int32_t* geom, int8_t* output)
{
    const int32_t C = geom[EDGEAI_X86_G_C], OH = geom[EDGEAI_X86_G_OH], OW = geom[EDGEAI_X86_G_OW];
    const int32_t pairs = (geom[EDGEAI_X86_G_KH] * geom[EDGEAI_X86_G_KW] + 1) / 2;
    int8_t zero_row[EDGEAI_X86_MAX_DW_CHANNELS];
    const int8_t* tp[EDGEAI_X86_MAX_TAPS + 1];
    memset(zero_row, geom[EDGEAI_X86_G_ZP_IN], (size_t)C);
#if defined(__x86_64__) && !defined(EDGEAI_X86_PORTABLE)
    const int avx2 = __builtin_cpu_supports("avx2");
    edgeai_x86_rq8 q[DW_CHUNK / 8];
#endif
    const int32_t KH = geom[EDGEAI_X86_G_KH], KW = geom[EDGEAI_X86_G_KW], H = geom[EDGEAI_X86_G_H];
    const int32_t W = geom[EDGEAI_X86_G_W], step = geom[EDGEAI_X86_G_SW] * C;
    for (int32_t cs = 0; cs < C; cs += DW_CHUNK) {
        const int32_t ce = C - cs > DW_CHUNK ? cs + DW_CHUNK : C;
#if defined(__x86_64__) && !defined(EDGEAI_X86_PORTABLE)
        if (avx2) {
            dw_constants_any(q, channel, geom, cs, ce);
        }
#endif
        for (int32_t oy = 0; oy < OH; oy++) {
            const int32_t iy0 = oy * geom[EDGEAI_X86_G_SH] - geom[EDGEAI_X86_G_PT];
            int32_t inside = 0; /* tp holds the previous pixel's window, wholly inside the image */
            for (int32_t ox = 0; ox < OW; ox++) {
                int8_t* out = output + ((size_t)oy * OW + ox) * C;
                const int32_t ix0 = ox * geom[EDGEAI_X86_G_SW] - geom[EDGEAI_X86_G_PL];
                if (inside && ix0 + KW <= W) { /* the next window inside too: every tap one stride on */
                    for (int32_t t = 0; t < KH * KW; t++) {
                        tp[t] += step;
                    }
                } else {
                    dw_taps(tp, input, zero_row, iy0, ix0, geom);
                    inside = iy0 >= 0 && iy0 + KH <= H && ix0 >= 0 && ix0 + KW <= W;
                }
#if defined(__x86_64__) && !defined(EDGEAI_X86_PORTABLE)
                if (avx2) {
                    dw_pixel_avx2_any(tp, pairs, weights, channel, geom, q, cs, ce, out);
                    continue;
                }
#endif
                for (int32_t c = cs; c < ce; c++) {
                    out[c] = dw1(tp, pairs, weights, channel, geom, c);
                }
            }
        }
    }
    return 0;
}
