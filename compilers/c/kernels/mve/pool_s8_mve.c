/* int8 AVERAGE_POOL_2D on Helium (MVE); see pool_s8_mve.h.
 *
 * The sums run 16 channels at a time over the window's points inside the image only: in two int16x8
 * accumulators (one VLDRB.S16 and one VADD per eight values) when a window has at most 256 points, else (and
 * for a last block of fewer channels, predicated) in four int32x4.
 * The division, once per output value, is scalar: its rounding is TFLite's (a C division truncates toward
 * zero, which with +-count/2 rounds halves away from zero) or ONNX's (int64, halves to even).
 */
#include "pool_s8_mve.h"

#include "mve_lanes.h"

#define BLOCK 16

EDGEAI_INLINE int32_t pm_max(int32_t a, int32_t b) { return a > b ? a : b; }
EDGEAI_INLINE int32_t pm_min(int32_t a, int32_t b) { return a < b ? a : b; }

EDGEAI_INLINE int32_t pm_average(int32_t sum, int32_t count, const int32_t* g, int32_t mode)
{
    int32_t q;
    if (mode == 0) {
        q = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
    } else {
        const int32_t total = g[EDGEAI_PM_TOTAL];
        const int64_t x = (int64_t)(sum - count * g[EDGEAI_PM_ZP_IN]) * g[EDGEAI_PM_MULT];
        const int64_t one = 1;
        q = (int32_t)((x + (one << (total - 1)) - one + ((x >> total) & one)) >> total) + g[EDGEAI_PM_ZP_OUT];
    }
    q = q < g[EDGEAI_PM_ACT_MIN] ? g[EDGEAI_PM_ACT_MIN] : q;
    return q > g[EDGEAI_PM_ACT_MAX] ? g[EDGEAI_PM_ACT_MAX] : q;
}

/* Sums of one window for one block of `live` channels into sums[BLOCK]; x: the window's first point inside. */
EDGEAI_INLINE void pm_sums(int32_t sums[BLOCK], const int8_t* x, int32_t rows, int32_t cols, int32_t row_stride,
                           int32_t c, int32_t live)
{
    ev4 acc[4] = {ev_dup(0), ev_dup(0), ev_dup(0), ev_dup(0)};
    for (int32_t y = 0; y < rows; y++, x += row_stride) {
        const int8_t* p = x;
        for (int32_t k = 0; k < cols; k++, p += c) {
            for (int j = 0; j < 4; j++) {
                acc[j] = ev_add(acc[j], live == BLOCK ? ev_load_s8(p + 4 * j) : ev_load_s8_n(p + 4 * j, live - 4 * j));
            }
        }
    }
    for (int j = 0; j < 4; j++) {
        ev_store_s32(sums + 4 * j, acc[j]);
    }
}

#if EDGEAI_MVE
/* The same sums in int16 lanes, 8 channels per VLDRB.S16 and VADD.I16 (half the instructions): exact while the
 * window has at most 256 points (|sum| <= 256 * 128). In asm because GCC 12 gives each widening load's
 * address a register of its own (VLDRB.S16 wants a low base register: constraint "l"). Full blocks only. */
EDGEAI_INLINE void pm_sums16(int32_t sums[BLOCK], const int8_t* x, int32_t rows, int32_t cols, int32_t row_stride,
                             int32_t c)
{
    int16x8_t s0 = vdupq_n_s16(0), s1 = vdupq_n_s16(0);
    for (int32_t y = 0; y < rows; y++, x += row_stride) {
        const int8_t* p = x;
        for (int32_t k = 0; k < cols; k++, p += c) {
            int16x8_t t;
            __asm__("vldrb.s16 %q[t], [%[p]]\n\tvadd.i16 %q[s0], %q[s0], %q[t]\n\t"
                    "vldrb.s16 %q[t], [%[p], #8]\n\tvadd.i16 %q[s1], %q[s1], %q[t]"
                    : [s0] "+w"(s0), [s1] "+w"(s1), [t] "=&w"(t)
                    : [p] "l"(p), "m"(*(const int8_t(*)[16])p));
        }
    }
    vstrwq_s32(sums, vmovlbq_s16(s0)); /* even channels 0, 2, 4, 6 */
    vstrwq_s32(sums + 4, vmovltq_s16(s0));
    vstrwq_s32(sums + 8, vmovlbq_s16(s1));
    vstrwq_s32(sums + 12, vmovltq_s16(s1));
}
/* sums16's order: channel i of the block is at SUM16_AT[i] */
static const uint8_t SUM16_AT[BLOCK] = {0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15};
#endif

EDGEAI_INLINE void pm_layer(const int8_t* input, const int32_t* g, int8_t* output, int32_t mode)
{
    const int32_t h = g[EDGEAI_PM_H], wd = g[EDGEAI_PM_W], c = g[EDGEAI_PM_C];
    const int32_t kh = g[EDGEAI_PM_KH], kw = g[EDGEAI_PM_KW], sh = g[EDGEAI_PM_SH], sw = g[EDGEAI_PM_SW];
    int8_t* out = output;
    for (int32_t oy = 0; oy < g[EDGEAI_PM_OH]; oy++) {
        const int32_t y0 = pm_max(oy * sh - g[EDGEAI_PM_PT], 0), y1 = pm_min(oy * sh - g[EDGEAI_PM_PT] + kh, h);
        for (int32_t ox = 0; ox < g[EDGEAI_PM_OW]; ox++, out += c) {
            const int32_t x0 = pm_max(ox * sw - g[EDGEAI_PM_PL], 0), x1 = pm_min(ox * sw - g[EDGEAI_PM_PL] + kw, wd);
            const int32_t count = (y1 - y0) * (x1 - x0);
            const int8_t* x = input + (y0 * wd + x0) * c;
            for (int32_t c0 = 0; c0 < c; c0 += BLOCK) {
                int32_t sums[BLOCK];
                const int32_t live = pm_min(BLOCK, c - c0);
#if EDGEAI_MVE
                if (live == BLOCK && kh * kw <= 256) {
                    pm_sums16(sums, x + c0, y1 - y0, x1 - x0, wd * c, c);
                    for (int32_t i = 0; i < BLOCK; i++) {
                        out[c0 + i] = (int8_t)pm_average(sums[SUM16_AT[i]], count, g, mode);
                    }
                    continue;
                }
#endif
                if (live == BLOCK) {
                    pm_sums(sums, x + c0, y1 - y0, x1 - x0, wd * c, c, BLOCK);
                } else {
                    pm_sums(sums, x + c0, y1 - y0, x1 - x0, wd * c, c, live);
                }
                for (int32_t i = 0; i < live; i++) {
                    out[c0 + i] = (int8_t)pm_average(sums[i], count, g, mode);
                }
            }
        }
    }
}

int32_t edgeai_avgpool_s8_mve(const int8_t* input, const int32_t* geom, int8_t* output)
{
    pm_layer(input, geom, output, 0);
    return 0;
}

int32_t edgeai_avgpool_s8_mve_one_rounding(const int8_t* input, const int32_t* geom, int8_t* output)
{
    pm_layer(input, geom, output, 1);
    return 0;
}
