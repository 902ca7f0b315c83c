/* int8 ADD for aarch64 NEON; see add_s8_neon.h. */
#include "add_s8_neon.h"

#include "requant_s8_neon.h"

/* One tensor's requantization constants (multiplier, left, -right, fix), broadcast to 4 lanes. */
EDGEAI_NEON_INLINE edgeai_rq4 rq_params(const int32_t* q)
{
    edgeai_rq4 r;
    r.mult = vdupq_n_s32(q[0]), r.left = vdupq_n_s32(q[1]), r.right = vdupq_n_s32(q[2]), r.fix = vdupq_n_s32(q[3]);
    r.t_lo = r.t_hi = vdupq_n_s64(0);
    return r;
}

/* 4 int16 (x - zp) values rescaled to the common scale. */
EDGEAI_NEON_INLINE int32x4_t rescale4(int16x4_t v, const edgeai_rq4* q)
{
    return edgeai_rq4_apply(vmovl_s16(v), q, EDGEAI_NEON_TWO_ROUNDINGS);
}

/* out_mode: the output stage's requantization (TWO_ROUNDINGS_RIGHT when the output does not shift left). */
EDGEAI_NEON_INLINE int8x16_t add16(int8x16_t x, int8x16_t y, int8x16_t zp1, int8x16_t zp2, const edgeai_rq4* q1,
                                   const edgeai_rq4* q2, const edgeai_rq4* qo, int16x8_t zo, int8x16_t lo,
                                   int8x16_t hi, const int32_t out_mode)
{
    const int16x8_t xl = vsubl_s8(vget_low_s8(x), vget_low_s8(zp1)), xh = vsubl_high_s8(x, zp1);
    const int16x8_t yl = vsubl_s8(vget_low_s8(y), vget_low_s8(zp2)), yh = vsubl_high_s8(y, zp2);
    int32x4_t s[4];
    s[0] = vaddq_s32(rescale4(vget_low_s16(xl), q1), rescale4(vget_low_s16(yl), q2));
    s[1] = vaddq_s32(rescale4(vget_high_s16(xl), q1), rescale4(vget_high_s16(yl), q2));
    s[2] = vaddq_s32(rescale4(vget_low_s16(xh), q1), rescale4(vget_low_s16(yh), q2));
    s[3] = vaddq_s32(rescale4(vget_high_s16(xh), q1), rescale4(vget_high_s16(yh), q2));
    const int32_t two = out_mode;
    return edgeai_narrow16(edgeai_rq4_apply(s[0], qo, two), edgeai_rq4_apply(s[1], qo, two),
                           edgeai_rq4_apply(s[2], qo, two), edgeai_rq4_apply(s[3], qo, two), zo, lo, hi);
}

EDGEAI_NEON_INLINE void add_s8(const int8_t* input1, const int8_t* input2, const int32_t* p, int8_t* output,
                              const int32_t out_mode)
{
    const int32_t n = p[EDGEAI_ADD_N];
    const int8x16_t zp1 = vdupq_n_s8((int8_t)p[EDGEAI_ADD_ZP1]), zp2 = vdupq_n_s8((int8_t)p[EDGEAI_ADD_ZP2]);
    const int16x8_t zo = vdupq_n_s16((int16_t)p[EDGEAI_ADD_ZP_OUT]);
    const int8x16_t lo = vdupq_n_s8((int8_t)p[EDGEAI_ADD_LO]), hi = vdupq_n_s8((int8_t)p[EDGEAI_ADD_HI]);
    const edgeai_rq4 q1 = rq_params(p + EDGEAI_ADD_RQ1), q2 = rq_params(p + EDGEAI_ADD_RQ2);
    const edgeai_rq4 qo = rq_params(p + EDGEAI_ADD_RQ_OUT);
    int32_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const int8x16_t x = vld1q_s8(input1 + i), y = vld1q_s8(input2 + i);
        vst1q_s8(output + i, add16(x, y, zp1, zp2, &q1, &q2, &qo, zo, lo, hi, out_mode));
    }
    if (i < n) { /* the last n % 16 through a 16-byte line on the stack */
        int8_t a[16] = {0}, b[16] = {0}, r[16];
        for (int32_t j = 0; j < n - i; j++) {
            a[j] = input1[i + j], b[j] = input2[i + j];
        }
        vst1q_s8(r, add16(vld1q_s8(a), vld1q_s8(b), zp1, zp2, &q1, &q2, &qo, zo, lo, hi, out_mode));
        for (int32_t j = 0; j < n - i; j++) {
            output[i + j] = r[j];
        }
    }
}

/* Not GCC's loop distribution: the tail's byte loops would become memcpy calls. */
__attribute__((optimize("no-tree-loop-distribute-patterns"))) int32_t edgeai_add_s8_neon(const int8_t* input1,
                                                                                       const int8_t* input2,
                                                                                       const int32_t* p,
                                                                                       int8_t* output)
{
    const int32_t* qo = p + EDGEAI_ADD_RQ_OUT;
    if (qo[1] == 0 && qo[2] < 0) { /* no left shift, a right shift */
        add_s8(input1, input2, p, output, EDGEAI_NEON_TWO_ROUNDINGS_RIGHT);
    } else {
        add_s8(input1, input2, p, output, EDGEAI_NEON_TWO_ROUNDINGS);
    }
    return 0;
}
