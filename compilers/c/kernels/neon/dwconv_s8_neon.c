/* int8 DEPTHWISE_CONV_2D for aarch64 NEON; see dwconv_s8_neon.h.
 *
 * Per output pixel the KH x KW tap pointers are set once (into the input, or the zero-point row), then per
 * 16 channels two taps at a time: SMULL/SMLAL (and their high halves) multiply the int8 inputs by the int8
 * weights into int16 lanes holding two products each (at most 2 * 128 * 127: the lowering refuses a weight of
 * -128), and SADDW/SADDW2 widen them into 4 x 4 int32 accumulators. 3x3 layers get the tap loop fully
 * unrolled, their 9 pointers in registers. */
#include "dwconv_s8_neon.h"

#include "requant_s8_neon.h"

#include <string.h>

/* Products of taps t and t + 1 (the second weight 0 past the last tap) for 16 channels, summed in int16 lanes
 * (two products of int8 values fit: no weight is -128). */
EDGEAI_NEON_INLINE void tap_pair16(const int8_t* x0, const int8_t* x1, const int8_t* w0, const int8_t* w1,
                                   int16x8_t* lo, int16x8_t* hi)
{
    const int8x16_t a = vld1q_s8(x0), b = vld1q_s8(x1), wa = vld1q_s8(w0), wb = vld1q_s8(w1);
    *lo = vmlal_s8(vmull_s8(vget_low_s8(a), vget_low_s8(wa)), vget_low_s8(b), vget_low_s8(wb));
    *hi = vmlal_high_s8(vmull_high_s8(a, wa), b, wb);
}

/* Channels c .. c+15 of one pixel. w: int8 [taps][op]. */
EDGEAI_NEON_INLINE void dw16(const int8_t* const* tp, const int32_t taps, const int8_t* w, const int32_t* channel,
                             int32_t op, int32_t c, int8_t* out, const int32_t mode, int16x8_t zp, int8x16_t lo,
                             int8x16_t hi)
{
    int32x4_t a0 = vld1q_s32(channel + c), a1 = vld1q_s32(channel + c + 4);
    int32x4_t a2 = vld1q_s32(channel + c + 8), a3 = vld1q_s32(channel + c + 12);
    int32_t t = 0;
#pragma GCC unroll 5
    for (; t + 1 < taps; t += 2) {
        int16x8_t l, h;
        tap_pair16(tp[t] + c, tp[t + 1] + c, w + (size_t)t * op + c, w + (size_t)(t + 1) * op + c, &l, &h);
        a0 = vaddw_s16(a0, vget_low_s16(l));
        a1 = vaddw_high_s16(a1, l);
        a2 = vaddw_s16(a2, vget_low_s16(h));
        a3 = vaddw_high_s16(a3, h);
    }
    if (t < taps) {
        const int8x16_t x = vld1q_s8(tp[t] + c), wt = vld1q_s8(w + (size_t)t * op + c);
        const int16x8_t l = vmull_s8(vget_low_s8(x), vget_low_s8(wt)), h = vmull_high_s8(x, wt);
        a0 = vaddw_s16(a0, vget_low_s16(l));
        a1 = vaddw_high_s16(a1, l);
        a2 = vaddw_s16(a2, vget_low_s16(h));
        a3 = vaddw_high_s16(a3, h);
    }
    const edgeai_rq4 q0 = edgeai_rq4_load(channel, op, c, mode), q1 = edgeai_rq4_load(channel, op, c + 4, mode);
    const edgeai_rq4 q2 = edgeai_rq4_load(channel, op, c + 8, mode), q3 = edgeai_rq4_load(channel, op, c + 12, mode);
    vst1q_s8(out + c, edgeai_narrow16(edgeai_rq4_apply(a0, &q0, mode), edgeai_rq4_apply(a1, &q1, mode),
                                      edgeai_rq4_apply(a2, &q2, mode), edgeai_rq4_apply(a3, &q3, mode), zp, lo, hi));
}

/* Channels c .. c+7 of one pixel. */
EDGEAI_NEON_INLINE void dw8(const int8_t* const* tp, const int32_t taps, const int8_t* w, const int32_t* channel,
                            int32_t op, int32_t c, int8_t* out, const int32_t mode, int16x8_t zp, int8x8_t lo,
                            int8x8_t hi)
{
    int32x4_t a0 = vld1q_s32(channel + c), a1 = vld1q_s32(channel + c + 4);
    int32_t t = 0;
#pragma GCC unroll 5
    for (; t + 1 < taps; t += 2) {
        const int16x8_t p = vmlal_s8(vmull_s8(vld1_s8(tp[t] + c), vld1_s8(w + (size_t)t * op + c)),
                                     vld1_s8(tp[t + 1] + c), vld1_s8(w + (size_t)(t + 1) * op + c));
        a0 = vaddw_s16(a0, vget_low_s16(p));
        a1 = vaddw_high_s16(a1, p);
    }
    if (t < taps) {
        const int16x8_t p = vmull_s8(vld1_s8(tp[t] + c), vld1_s8(w + (size_t)t * op + c));
        a0 = vaddw_s16(a0, vget_low_s16(p));
        a1 = vaddw_high_s16(a1, p);
    }
    const edgeai_rq4 q0 = edgeai_rq4_load(channel, op, c, mode), q1 = edgeai_rq4_load(channel, op, c + 4, mode);
    vst1_s8(out + c, edgeai_narrow8(edgeai_rq4_apply(a0, &q0, mode), edgeai_rq4_apply(a1, &q1, mode), zp, lo, hi));
}

/* tp: the KH x KW tap pointers of a window at (iy0, ix0), those outside the image at the zero-point row. */
EDGEAI_NEON_INLINE void dw_taps(const int8_t** tp, const int8_t* input, const int8_t* zero_row, int32_t iy0,
                                int32_t ix0, const int32_t KH, const int32_t KW, int32_t H, int32_t W, int32_t C)
{
#pragma GCC unroll 3
    for (int32_t ky = 0; ky < KH; ky++) {
        const int32_t iy = iy0 + ky, inside_y = iy >= 0 && iy < H;
        const int8_t* row = inside_y ? input + (size_t)iy * W * C : zero_row;
#pragma GCC unroll 3
        for (int32_t kx = 0; kx < KW; kx++) {
            const int32_t ix = ix0 + kx;
            tp[ky * KW + kx] = (!inside_y || ix < 0 || ix >= W) ? zero_row : row + (size_t)ix * C;
        }
    }
}

/* KH, KW: literals for 3x3 (the tap pointers then live in registers). A window inside the image steps its
 * pointers by the stride from the previous pixel's; one touching the border sets them again. */
EDGEAI_NEON_INLINE void dw_layer(const int8_t* restrict input, const int8_t* restrict w,
                                 const int32_t* restrict channel, const int32_t* restrict g,
                                 int8_t* restrict output, const int32_t KH, const int32_t KW, const int32_t mode)
{
    const int32_t H = g[EDGEAI_NEON_G_H], W = g[EDGEAI_NEON_G_W], C = g[EDGEAI_NEON_G_C];
    const int32_t OH = g[EDGEAI_NEON_G_OH], OW = g[EDGEAI_NEON_G_OW], op = g[EDGEAI_NEON_G_OP];
    const int32_t SW = g[EDGEAI_NEON_G_SW], step = SW * C, taps = KH * KW;
    const int32_t zo = g[EDGEAI_NEON_G_ZP_OUT], lo = g[EDGEAI_NEON_G_ACT_MIN], hi = g[EDGEAI_NEON_G_ACT_MAX];
    const int16x8_t zp = vdupq_n_s16((int16_t)zo);
    const int8x16_t lo16 = vdupq_n_s8((int8_t)lo), hi16 = vdupq_n_s8((int8_t)hi);
    int8_t zero_row[EDGEAI_NEON_MAX_DW_CHANNELS];
    const int8_t* tp[EDGEAI_NEON_MAX_TAPS];
    memset(zero_row, g[EDGEAI_NEON_G_ZP_IN], (size_t)C);
    int8_t* out = output;
    for (int32_t oy = 0; oy < OH; oy++) {
        const int32_t iy0 = oy * g[EDGEAI_NEON_G_SH] - g[EDGEAI_NEON_G_PT];
        const int32_t inside_y = iy0 >= 0 && iy0 + KH <= H;
        int32_t stepped = 0; /* tp holds the previous pixel's window, inside the image */
        for (int32_t ox = 0; ox < OW; ox++, out += C) {
            const int32_t ix0 = ox * SW - g[EDGEAI_NEON_G_PL];
            if (stepped && ix0 + KW <= W) {
#pragma GCC unroll 9
                for (int32_t t = 0; t < taps; t++) {
                    tp[t] += step;
                }
            } else {
                dw_taps(tp, input, zero_row, iy0, ix0, KH, KW, H, W, C);
                stepped = inside_y && ix0 >= 0 && ix0 + KW <= W;
            }
            int32_t c = 0;
            for (; c + 16 <= C; c += 16) {
                dw16(tp, taps, w, channel, op, c, out, mode, zp, lo16, hi16);
            }
            if (c + 8 <= C) {
                dw8(tp, taps, w, channel, op, c, out, mode, zp, vget_low_s8(lo16), vget_low_s8(hi16));
                c += 8;
            }
            for (; c < C; c++) {
                int32_t acc = channel[c];
                for (int32_t t = 0; t < taps; t++) {
                    acc += tp[t][c] * w[(size_t)t * op + c];
                }
                out[c] = edgeai_clamp1(edgeai_rq1(acc, channel, op, c, mode), zo, lo, hi);
            }
        }
    }
}

__attribute__((optimize("no-schedule-insns", "no-tree-loop-distribute-patterns"))) int32_t edgeai_dwconv_s8_neon(const int8_t* input, const int8_t* weights, const int32_t* channel,
                              const int32_t* geom, int8_t* output)
{
    const int32_t KH = geom[EDGEAI_NEON_G_KH], KW = geom[EDGEAI_NEON_G_KW], mode = geom[EDGEAI_NEON_G_MODE];
    if (KH == 3 && KW == 3) { /* the tap loops unrolled */
        if (mode == EDGEAI_NEON_TWO_ROUNDINGS_RIGHT) {
            dw_layer(input, weights, channel, geom, output, 3, 3, EDGEAI_NEON_TWO_ROUNDINGS_RIGHT);
        } else if (mode == EDGEAI_NEON_TWO_ROUNDINGS) {
            dw_layer(input, weights, channel, geom, output, 3, 3, EDGEAI_NEON_TWO_ROUNDINGS);
        } else {
            dw_layer(input, weights, channel, geom, output, 3, 3, EDGEAI_NEON_ONE_ROUNDING);
        }
    } else if (mode == EDGEAI_NEON_ONE_ROUNDING) {
        dw_layer(input, weights, channel, geom, output, KH, KW, EDGEAI_NEON_ONE_ROUNDING);
    } else { /* mode 0 computes mode 2's integers too */
        dw_layer(input, weights, channel, geom, output, KH, KW, EDGEAI_NEON_TWO_ROUNDINGS);
    }
    return 0;
}
