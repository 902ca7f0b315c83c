/* int8 DEPTHWISE_CONV_2D on Helium (MVE); see dwconv_s8_mve.h.
 *
 * One output pixel x 16 channels at a time: four int32x4 accumulators, per tap four VLDRB.S32 of the input,
 * four of the weights, four VMUL and four VADD (MVE has no lane-wise vector x vector multiply-accumulate).
 * A tap outside the image adds zp_in * w (VMLA by a scalar), so padding needs no buffer; interior pixels take
 * a path with no bounds tests, unrolled for 3x3.
 *
 * Requantization, TFLite (exact: SaturatingRoundingDoublingHighMul then RoundingDivideByPOT, per channel):
 *   t = VQRDMULH(acc, M);  out = VRSHL(t + (t < 0 ? -1 : 0), -e) + zp_out
 * VRSHL rounds halves up, (t + 2^(e-1)) >> e; subtracting 1 from a negative t first makes halves go away from
 * zero as RoundingDivideByPOT does, for every e >= 1 (t > -2^31 when M < 2^31, so t - 1 cannot wrap).
 * ONNX numerics (one rounding of acc * M / 2^T, T >= 33): ((acc * M) >> 32) + 2^(T-33) + (zp << (T-32)) >> (T-32)
 * with VMULH (the high word, floor) and VSHL (floor): adding the rounding constant after the floor is exact
 * because it is a multiple of 2^32 before it.
 */
#include "dwconv_s8_mve.h"

#include "mve_lanes.h"

#define BLOCK 16

typedef struct {
    int32_t row; /* W * C: bytes between input rows */
    int32_t col; /* C */
    int32_t kh, kw, zp_in;
} dw_window;

EDGEAI_INLINE ev4 dw_requantize(ev4 acc, const int32_t* c, int32_t zp_out, int32_t mode)
{
    if (mode == 0) {
        const ev4 t = ev_qrdmulh(acc, ev_load_s32(c + 4));
        return ev_add_n(ev_rshl(ev_add(t, ev_sign(t)), ev_load_s32(c + 8)), zp_out);
    }
    return ev_shl(ev_add(ev_mulh(acc, ev_load_s32(c + 4)), ev_load_s32(c + 8)), ev_load_s32(c + 12));
}

#define DW_STORE(j, a)                                                                   \
    do {                                                                                 \
        const ev4 q = ev_clamp(dw_requantize(a, chan + 16 * (j), zp_out, mode), lo, hi); \
        if (live == BLOCK) {                                                             \
            ev_store_s8(out + 4 * (j), q);                                               \
        } else {                                                                         \
            ev_store_s8_n(out + 4 * (j), q, live - 4 * (j));                             \
        }                                                                                \
    } while (0)

#if EDGEAI_MVE
/* a += x[OFF..OFF+3] * w[OFF..OFF+3] lane by lane, and a += zp * w[OFF..OFF+3] (a tap on padding), in asm:
 * GCC 12 gives each widening VLDRB's address a register of its own and spills Q registers, where an immediate
 * offset does (VLDRB.S32 needs a low base register: constraint "l"); 4 and 2 instructions. */
#define DW_MAC4(ACC, xt, wt, OFF)                                                                      \
    do {                                                                                               \
        ev4 t_, u_;                                                                                    \
        __asm__("vldrb.s32 %q[t], [%[x], #" #OFF "]\n\tvldrb.s32 %q[u], [%[w], #" #OFF "]\n\t"        \
                "vmul.i32 %q[t], %q[t], %q[u]\n\tvadd.i32 %q[a], %q[a], %q[t]"                         \
                : [a] "+w"(ACC), [t] "=&w"(t_), [u] "=&w"(u_)                                          \
                : [x] "l"(xt), [w] "l"(wt), "m"(*(const int8_t(*)[16])(xt)), "m"(*(const int8_t(*)[16])(wt))); \
    } while (0)
#define DW_ZP4(ACC, wt, OFF, zp)                                                                       \
    do {                                                                                               \
        ev4 u_;                                                                                        \
        __asm__("vldrb.s32 %q[u], [%[w], #" #OFF "]\n\tvmla.s32 %q[a], %q[u], %[z]"                    \
                : [a] "+w"(ACC), [u] "=&w"(u_)                                                         \
                : [w] "l"(wt), [z] "r"(zp), "m"(*(const int8_t(*)[16])(wt)));                          \
    } while (0)
#else
#define DW_MAC4(a, xt, wt, OFF) ((a) = ev_add((a), ev_mul(ev_load_s8((xt) + (OFF)), ev_load_s8((wt) + (OFF)))))
#define DW_ZP4(a, wt, OFF, zp) ((a) = ev_mla_n((a), ev_load_s8((wt) + (OFF)), (zp)))
#endif

/* Lanes 4j..4j+3 (byte offset OFF = 4j) of one tap: whole when the block has them all, predicated when it
 * has some, nothing when it has none (those lanes are never stored). */
#define DW_LANES(a, j, OFF)                                                                            \
    do {                                                                                               \
        if (live > 4 * (j)) {                                                                          \
            if (!inside_) {                                                                            \
                DW_ZP4(a, wt, OFF, d->zp_in);                                                          \
            } else if (live >= 4 * (j) + 4) {                                                          \
                DW_MAC4(a, xt, wt, OFF);                                                               \
            } else {                                                                                   \
                a = ev_add(a, ev_mul(ev_load_s8_n(xt + (OFF), live - 4 * (j)), ev_load_s8(wt + (OFF)))); \
            }                                                                                          \
        }                                                                                              \
    } while (0)

/* One tap (ky, kx) of the window into a0..a3; wt and xt then move to the next tap. */
#define DW_TAP(ky, kx)                                                                                 \
    do {                                                                                               \
        const int32_t inside_ = interior || ((ky) >= y0 && (ky) < y1 && (kx) >= x0 && (kx) < x1);      \
        DW_LANES(a0, 0, 0);                                                                            \
        DW_LANES(a1, 1, 4);                                                                            \
        DW_LANES(a2, 2, 8);                                                                            \
        DW_LANES(a3, 3, 12);                                                                           \
        wt += BLOCK;                                                                                   \
        xt += d->col;                                                                                  \
    } while (0)

/* One output pixel, one block of channels: start values, taps, requantize, store. x: the input at the window's
 * top-left point for the block's first channel (only taps inside the image are read); the taps inside are ky in
 * [y0, y1), kx in [x0, x1) (interior: all, and the tap loops unroll for a constant window). Four named
 * accumulators, not an array, so that GCC keeps them in Q registers. */
#if EDGEAI_MVE
#define DW_BLOCK_FN EDGEAI_INLINE /* specialised per window, block width and numerics */
#else
#define DW_BLOCK_FN static __attribute__((noinline)) /* the portable path: one copy, quick to build */
#endif
DW_BLOCK_FN void dw_block(const int8_t* x, const int8_t* w, const int32_t* chan, int8_t* out, const dw_window* d,
                            int32_t kh, int32_t kw, int32_t y0, int32_t y1, int32_t x0, int32_t x1, int32_t live,
                            int32_t interior, int32_t zp_out, ev4 lo, ev4 hi, int32_t mode)
{
    /* Each group of 4 channels has 16 constants, the block's last group ends the layer's array: the start values
     * of groups past `live` are not read (their lanes are never stored; with a constant `live` the tests fold). */
    ev4 a0 = ev_load_s32(chan), a1 = a0, a2 = a0, a3 = a0;
    if (live > 4) {
        a1 = ev_load_s32(chan + 16);
    }
    if (live > 8) {
        a2 = ev_load_s32(chan + 32);
    }
    if (live > 12) {
        a3 = ev_load_s32(chan + 48);
    }
    const int8_t* wt = w;
    const int8_t* xrow = x;
    if (EDGEAI_MVE && kh == 3 && kw == 3) { /* the common window: the taps unroll */
#pragma GCC unroll 3
        for (int32_t ky = 0; ky < 3; ky++, xrow += d->row) {
            const int8_t* xt = xrow;
#pragma GCC unroll 3
            for (int32_t kx = 0; kx < 3; kx++) {
                DW_TAP(ky, kx);
            }
        }
    } else {
        for (int32_t ky = 0; ky < kh; ky++, xrow += d->row) {
            const int8_t* xt = xrow;
            for (int32_t kx = 0; kx < kw; kx++) {
                DW_TAP(ky, kx);
            }
        }
    }
    DW_STORE(0, a0);
    if (live > 4) {
        DW_STORE(1, a1);
    }
    if (live > 8) {
        DW_STORE(2, a2);
    }
    if (live > 12) {
        DW_STORE(3, a3);
    }
}

EDGEAI_INLINE void dw_pixel(const int8_t* input, const int8_t* weights, const int32_t* channel, int8_t* out,
                            const dw_window* d, int32_t kh, int32_t kw, int32_t y0, int32_t y1, int32_t x0,
                            int32_t x1, int32_t interior, int32_t zp_out, ev4 lo, ev4 hi, int32_t mode)
{
    const int32_t c = d->col, taps = kh * kw;
    int32_t c0 = 0;
    for (; c0 + BLOCK <= c; c0 += BLOCK) {
        dw_block(input + c0, weights + c0 * taps, channel + 4 * c0, out + c0, d, kh, kw, y0, y1, x0, x1, BLOCK,
                 interior, zp_out, lo, hi, mode);
    }
    /* the last block: 8 or 4 channels (C = 8, 24, 40, ...) get their own code, with no tests per lane */
#define DW_LAST(LIVE) \
    dw_block(input + c0, weights + c0 * taps, channel + 4 * c0, out + c0, d, kh, kw, y0, y1, x0, x1, LIVE, interior, \
             zp_out, lo, hi, mode)
    if (EDGEAI_MVE && c - c0 == 8) {
        DW_LAST(8);
    } else if (EDGEAI_MVE && c - c0 == 4) {
        DW_LAST(4);
    } else if (c0 < c) {
        DW_LAST(c - c0);
    }
#undef DW_LAST
}

EDGEAI_INLINE int32_t dw_max(int32_t a, int32_t b) { return a > b ? a : b; }
EDGEAI_INLINE int32_t dw_min(int32_t a, int32_t b) { return a < b ? a : b; }

/* The whole layer with the window size kh x kw (constants for 3x3: the taps unroll). */
EDGEAI_INLINE void dw_layer(const int8_t* input, const int8_t* weights, const int32_t* channel, const int32_t* g,
                            int8_t* output, int32_t kh, int32_t kw, int32_t mode)
{
    const int32_t h = g[EDGEAI_DWM_H], wd = g[EDGEAI_DWM_W], c = g[EDGEAI_DWM_C];
    const int32_t oh = g[EDGEAI_DWM_OH], ow = g[EDGEAI_DWM_OW], sh = g[EDGEAI_DWM_SH], sw = g[EDGEAI_DWM_SW];
    const int32_t pt = g[EDGEAI_DWM_PT], pl = g[EDGEAI_DWM_PL], zp_out = mode == 0 ? g[EDGEAI_DWM_ZP_OUT] : 0;
    const ev4 lo = ev_dup(g[EDGEAI_DWM_ACT_MIN]), hi = ev_dup(g[EDGEAI_DWM_ACT_MAX]);
    const dw_window d = {wd * c, c, kh, kw, g[EDGEAI_DWM_ZP_IN]};
    for (int32_t oy = 0; oy < oh; oy++) {
        const int32_t iy = oy * sh - pt, y0 = dw_max(0, -iy), y1 = dw_min(kh, h - iy);
        const int32_t row_inside = y0 == 0 && y1 == kh;
        int8_t* out = output + oy * ow * c;
        for (int32_t ox = 0; ox < ow; ox++, out += c) {
            const int32_t ix = ox * sw - pl, x0 = dw_max(0, -ix), x1 = dw_min(kw, wd - ix);
            /* the window's top-left point; only its taps inside the image are read */
            const int8_t* x = input + (iy * wd + ix) * c;
            if (row_inside && x0 == 0 && x1 == kw) {
                dw_pixel(x, weights, channel, out, &d, kh, kw, 0, kh, 0, kw, 1, zp_out, lo, hi, mode);
            } else {
                dw_pixel(x, weights, channel, out, &d, kh, kw, y0, y1, x0, x1, 0, zp_out, lo, hi, mode);
            }
        }
    }
}

EDGEAI_INLINE void dw_dispatch(const int8_t* input, const int8_t* weights, const int32_t* channel, const int32_t* g,
                               int8_t* output, int32_t mode)
{
    if (EDGEAI_MVE && g[EDGEAI_DWM_KH] == 3 && g[EDGEAI_DWM_KW] == 3) {
        dw_layer(input, weights, channel, g, output, 3, 3, mode);
    } else {
        dw_layer(input, weights, channel, g, output, g[EDGEAI_DWM_KH], g[EDGEAI_DWM_KW], mode);
    }
}

int32_t edgeai_dwconv_s8_mve(const int8_t* input, const int8_t* weights, const int32_t* channel, const int32_t* geom,
                             int8_t* output)
{
    dw_dispatch(input, weights, channel, geom, output, 0);
    return 0;
}

int32_t edgeai_dwconv_s8_mve_one_rounding(const int8_t* input, const int8_t* weights, const int32_t* channel,
                                          const int32_t* geom, int8_t* output)
{
    dw_dispatch(input, weights, channel, geom, output, 1);
    return 0;
}
