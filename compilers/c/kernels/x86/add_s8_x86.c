/* int8 ADD for x86-64; see add_s8_x86.h. */
#include "add_s8_x86.h"

#include "requant_s8_x86.h"

#include <string.h>

/* One value rescaled by q (multiplier, left, -right): the channel layout of edgeai_x86_rq1 with one channel. */
static inline int32_t rescale1(int32_t v, const int32_t* q)
{
    const int32_t one[5] = {0, q[0], q[1], q[2], 0};
    return edgeai_x86_rq1(v, one, 1, 0, EDGEAI_X86_TWO_ROUNDINGS);
}

static inline int8_t add1(int8_t x, int8_t y, const int32_t* p)
{
    const int32_t s = rescale1(x - p[EDGEAI_X86_ADD_ZP1], p + EDGEAI_X86_ADD_RQ1) +
                      rescale1(y - p[EDGEAI_X86_ADD_ZP2], p + EDGEAI_X86_ADD_RQ2);
    return edgeai_x86_clamp1(rescale1(s, p + EDGEAI_X86_ADD_RQ_OUT), p[EDGEAI_X86_ADD_ZP_OUT], p[EDGEAI_X86_ADD_LO],
                             p[EDGEAI_X86_ADD_HI]);
}

#if defined(__x86_64__) && !defined(EDGEAI_X86_PORTABLE)
EDGEAI_AVX2 edgeai_x86_rq8 rq_params(const int32_t* q)
{
    edgeai_x86_rq8 r;
    r.mult = _mm256_set1_epi32(q[0]), r.left = _mm256_set1_epi32(q[1]), r.right = _mm256_set1_epi32(-q[2]);
    r.t_even = r.t_odd = _mm256_setzero_si256();
    edgeai_x86_rq8_derive(&r);
    return r;
}

EDGEAI_AVX2 __m256i widen8(const int8_t* v)
{
    int64_t bytes;
    memcpy(&bytes, v, 8);
    return _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(bytes));
}

__attribute__((target("avx2"))) static int32_t add_avx2(const int8_t* input1, const int8_t* input2, const int32_t* p,
                                                        int8_t* output)
{
    const int32_t n = p[EDGEAI_X86_ADD_N];
    const __m256i zp1 = _mm256_set1_epi32(p[EDGEAI_X86_ADD_ZP1]), zp2 = _mm256_set1_epi32(p[EDGEAI_X86_ADD_ZP2]);
    const edgeai_x86_rq8 q1 = rq_params(p + EDGEAI_X86_ADD_RQ1), q2 = rq_params(p + EDGEAI_X86_ADD_RQ2);
    const edgeai_x86_rq8 qo = rq_params(p + EDGEAI_X86_ADD_RQ_OUT);
    const __m128i zo = _mm_set1_epi16((int16_t)p[EDGEAI_X86_ADD_ZP_OUT]);
    const __m128i lo = _mm_set1_epi8((char)p[EDGEAI_X86_ADD_LO]), hi = _mm_set1_epi8((char)p[EDGEAI_X86_ADD_HI]);
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i a = edgeai_x86_rq8_apply(_mm256_sub_epi32(widen8(input1 + i), zp1), &q1, EDGEAI_X86_TWO_ROUNDINGS);
        const __m256i b = edgeai_x86_rq8_apply(_mm256_sub_epi32(widen8(input2 + i), zp2), &q2, EDGEAI_X86_TWO_ROUNDINGS);
        const __m256i s = edgeai_x86_rq8_apply(_mm256_add_epi32(a, b), &qo, EDGEAI_X86_TWO_ROUNDINGS);
        edgeai_x86_store8(output + i, edgeai_x86_narrow8(s, zo, lo, hi), 8);
    }
    for (; i < n; i++) {
        output[i] = add1(input1[i], input2[i], p);
    }
    return 0;
}
#endif

int32_t edgeai_add_s8_x86(const int8_t* input1, const int8_t* input2, const int32_t* p, int8_t* output)
{
#if defined(__x86_64__) && !defined(EDGEAI_X86_PORTABLE)
    if (__builtin_cpu_supports("avx2")) {
        return add_avx2(input1, input2, p, output);
    }
#endif
    for (int32_t i = 0; i < p[EDGEAI_X86_ADD_N]; i++) {
        output[i] = add1(input1[i], input2[i], p);
    }
    return 0;
}
