#ifndef EDGEAI_REQUANT_S8_NEON_H
#define EDGEAI_REQUANT_S8_NEON_H
/*
 * Requantization shared by the aarch64 int8 kernels (conv_s8_neon.c, conv_s8_dot.c, dwconv_s8_neon.c,
 * add_s8_neon.c): int32 accumulators → int8, vectorised, bit-exact with LiteRT's reference kernels.
 *
 * Per-channel constants are planar, each array padded to a multiple of 16 channels (compilers/lowering/
 * neon_conv.py: channel_constants), so a vector load at channel c reads channels c..c+3:
 *   mode 0, 2 (TFLite's two roundings): start[Op] | multiplier[Op] | left shift[Op] | -right shift[Op] | fix[Op]
 *   mode 1 (one rounding: LiteRT FC; ONNX numerics where no half is reachable): start[Op] | multiplier[Op] |
 *                                      -(31 - shift) as int64[Op] (two words each)
 * start: the bias with the input zero point folded in (bias - zp_in * sum(weights)).
 *
 * Mode 0 is SaturatingRoundingDoublingHighMul(acc << left, M) then RoundingDivideByPOT(., right):
 *   SQRDMULH is the first exactly (it saturates the one overflowing case as TFLite does).
 *   SRSHL by -right rounds halves up, RoundingDivideByPOT rounds them away from zero: the two differ on
 *   negative ties only. Subtracting 1 from a negative value first moves a negative tie below the half and
 *   leaves every other value's rounding alone, so x + (x < 0 ? -1 : 0) then SRSHL is exact for right >= 1;
 *   fix is all ones where right >= 1 and 0 where right == 0 (SRSHL by 0 is no rounding at all).
 * Mode 1 is (acc * M + 2^(T-1)) >> T in 64 bits, T = 31 - shift: SMULL then SRSHL by -T, truncated to
 * 32 bits as TFLite's cast does.
 */
#include <arm_neon.h>
#include <stdint.h>
#include <string.h>

#define EDGEAI_NEON_INLINE static inline __attribute__((always_inline))

/* Which requantization a layer uses: geom[EDGEAI_NEON_G_MODE]. TWO_ROUNDINGS_RIGHT is TWO_ROUNDINGS where no
 * channel shifts left and every channel shifts right at least once (the common case): no SSHL, no fix mask. */
enum { EDGEAI_NEON_TWO_ROUNDINGS = 0, EDGEAI_NEON_ONE_ROUNDING = 1, EDGEAI_NEON_TWO_ROUNDINGS_RIGHT = 2 };

/* The constants of 4 channels, loaded once per block of channels and reused for every pixel. */
typedef struct {
    int32x4_t mult, left, right, fix;
    int64x2_t t_lo, t_hi;
} edgeai_rq4;

EDGEAI_NEON_INLINE edgeai_rq4 edgeai_rq4_load(const int32_t* channel, int32_t op, int32_t c, int32_t mode)
{
    edgeai_rq4 q;
    q.mult = vld1q_s32(channel + op + c);
    if (mode == EDGEAI_NEON_TWO_ROUNDINGS_RIGHT) {
        q.right = vld1q_s32(channel + 3 * op + c);
        q.left = q.fix = vdupq_n_s32(0);
        q.t_lo = q.t_hi = vdupq_n_s64(0);
    } else if (mode == EDGEAI_NEON_TWO_ROUNDINGS) {
        q.left = vld1q_s32(channel + 2 * op + c);
        q.right = vld1q_s32(channel + 3 * op + c);
        q.fix = vld1q_s32(channel + 4 * op + c);
        q.t_lo = q.t_hi = vdupq_n_s64(0);
    } else {
        q.t_lo = vreinterpretq_s64_s32(vld1q_s32(channel + 2 * op + 2 * c));
        q.t_hi = vreinterpretq_s64_s32(vld1q_s32(channel + 2 * op + 2 * c + 4));
        q.left = q.right = q.fix = vdupq_n_s32(0);
    }
    return q;
}

/* 4 accumulators (start included) → 4 requantized values before the output zero point. */
EDGEAI_NEON_INLINE int32x4_t edgeai_rq4_apply(int32x4_t acc, const edgeai_rq4* q, int32_t mode)
{
    if (mode == EDGEAI_NEON_TWO_ROUNDINGS_RIGHT) {
        const int32x4_t x = vqrdmulhq_s32(acc, q->mult);
        return vrshlq_s32(vsraq_n_s32(x, x, 31), q->right);
    }
    if (mode == EDGEAI_NEON_TWO_ROUNDINGS) {
        int32x4_t x = vqrdmulhq_s32(vshlq_s32(acc, q->left), q->mult);
        x = vsraq_n_s32(x, vandq_s32(x, q->fix), 31); /* x - 1 where x < 0 and right >= 1 */
        return vrshlq_s32(x, q->right);
    }
    const int64x2_t lo = vrshlq_s64(vmull_s32(vget_low_s32(acc), vget_low_s32(q->mult)), q->t_lo);
    const int64x2_t hi = vrshlq_s64(vmull_high_s32(acc, q->mult), q->t_hi);
    return vmovn_high_s64(vmovn_s64(lo), hi);
}

/* 8 requantized values + output zero point, saturated to int8 and clamped to [lo, hi]. Saturating to int16
 * before adding the zero point changes nothing: a value beyond int16 stays beyond int8 after it. */
EDGEAI_NEON_INLINE int8x8_t edgeai_narrow8(int32x4_t a, int32x4_t b, int16x8_t zp, int8x8_t lo, int8x8_t hi)
{
    const int16x8_t s = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(a), b), zp);
    return vmin_s8(vmax_s8(vqmovn_s16(s), lo), hi);
}

EDGEAI_NEON_INLINE int8x16_t edgeai_narrow16(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d, int16x8_t zp,
                                             int8x16_t lo, int8x16_t hi)
{
    const int16x8_t s0 = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(a), b), zp);
    const int16x8_t s1 = vqaddq_s16(vqmovn_high_s32(vqmovn_s32(c), d), zp);
    return vminq_s8(vmaxq_s8(vqmovn_high_s16(vqmovn_s16(s0), s1), lo), hi);
}

/* n < 8 bytes of v to out (a block's last channels, a layer's last pixels: never past the tensor). */
EDGEAI_NEON_INLINE void edgeai_store_partial8(int8_t* out, int8x8_t v, int32_t n)
{
    int8_t tmp[8];
    vst1_s8(tmp, v);
    for (int32_t i = 0; i < n; i++) {
        out[i] = tmp[i];
    }
}

/* n bytes from src to dst by 16, 8, 4 and 1 (the im2col rows; n is small and varies per layer). */
EDGEAI_NEON_INLINE void edgeai_copy_bytes(int8_t* dst, const int8_t* src, int32_t n)
{
    for (; n >= 16; n -= 16, src += 16, dst += 16) {
        vst1q_s8(dst, vld1q_s8(src));
    }
    if (n >= 8) {
        vst1_s8(dst, vld1_s8(src));
        n -= 8, src += 8, dst += 8;
    }
    if (n >= 4) {
        memcpy(dst, src, 4); /* one 32-bit load and store */
        n -= 4, src += 4, dst += 4;
    }
    for (; n > 0; n--) {
        *dst++ = *src++;
    }
}

EDGEAI_NEON_INLINE void edgeai_fill_bytes(int8_t* dst, int8x16_t v, int32_t n)
{
    for (; n >= 16; n -= 16, dst += 16) {
        vst1q_s8(dst, v);
    }
    for (; n > 0; n--) {
        *dst++ = vgetq_lane_s8(v, 0);
    }
}

/* One channel's requantization in scalar C (the channels a vector does not fill), the same integers as
 * edgeai_rq4_apply. */
EDGEAI_NEON_INLINE int32_t edgeai_rq1(int32_t acc, const int32_t* channel, int32_t op, int32_t c, int32_t mode)
{
    const int64_t mult = channel[op + c];
    if (mode != EDGEAI_NEON_ONE_ROUNDING) {
        const int32_t a = (int32_t)((uint32_t)acc << channel[2 * op + c]); /* wraps as TFLite's int32 product */
        const int32_t e = -channel[3 * op + c];
        if (a == INT32_MIN && mult == INT32_MIN) {
            return INT32_MAX; /* SaturatingRoundingDoublingHighMul's one overflow */
        }
        const int64_t x = ((int64_t)a * mult + (INT64_C(1) << 30)) >> 31;
        return e == 0 ? (int32_t)x : (int32_t)((x + (INT64_C(1) << (e - 1)) - (x < 0)) >> e);
    }
    const int32_t t = -channel[2 * op + 2 * c]; /* the int64's low word (little endian) */
    return (int32_t)(((int64_t)acc * mult + (INT64_C(1) << (t - 1))) >> t);
}

/* A requantized value + output zero point, clamped to [lo, hi]. */
EDGEAI_NEON_INLINE int8_t edgeai_clamp1(int32_t v, int32_t zp, int32_t lo, int32_t hi)
{
    const int64_t x = (int64_t)v + zp;
    return (int8_t)(x < lo ? lo : (x > hi ? hi : x));
}

#endif
