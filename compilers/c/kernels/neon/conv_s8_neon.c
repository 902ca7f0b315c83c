/* int8 CONV_2D / FULLY_CONNECTED for aarch64 NEON without the dot product extension (Cortex-A72); see
 * conv_s8_neon.h.
 *
 * Inner product: SMULL + SMLAL2 multiply 16 int8 inputs by 16 int8 weights into 8 int16 lanes, two products
 * per lane (at most 2 * 128 * 127 in magnitude: the lowering refuses a weight of -128), and SADALP adds
 * the lanes pairwise into 4 int32 partial sums: 16 multiply-adds in 3 instructions. A tile is 2 pixels x 8
 * output channels (16 partial-sum registers), so each weight load serves two pixels and each input load
 * eight channels. */
#include "conv_s8_neon.h"

#include "im2col_s8_neon.h"

#define NEON_TILE 2

EDGEAI_NEON_INLINE int32x4_t mac16(int32x4_t acc, int8x16_t x, int8x16_t w)
{
    return vpadalq_s16(acc, vmlal_high_s8(vmull_s8(vget_low_s8(x), vget_low_s8(w)), x, w));
}

/* The partial sums of 4 channels → their 4 totals. */
EDGEAI_NEON_INLINE int32x4_t total4(const int32x4_t* s)
{
    return vpaddq_s32(vpaddq_s32(s[0], s[1]), vpaddq_s32(s[2], s[3]));
}

/* Partial sums s[pixel][channel] of N pixels (patches p) against one block of 8 channels (w). */
EDGEAI_NEON_INLINE void block_sums(const int8_t* const* p, const int32_t N, const int8_t* w, int32_t steps,
                                   int32x4_t s[NEON_TILE][8])
{
    const int8_t* x0 = p[0];
    const int8_t* x1 = p[N - 1];
    for (int32_t c = 0; c < 8; c++) {
        s[0][c] = s[1][c] = vdupq_n_s32(0);
    }
    for (int32_t st = 0; st < steps; st++, w += 128, x0 += 16, x1 += 16) {
        const int8x16_t v0 = vld1q_s8(x0);
        const int8x16_t v1 = N > 1 ? vld1q_s8(x1) : v0;
#pragma GCC unroll 8
        for (int32_t c = 0; c < 8; c++) {
            const int8x16_t wc = vld1q_s8(w + 16 * c);
            s[0][c] = mac16(s[0][c], v0, wc);
            if (N > 1) {
                s[1][c] = mac16(s[1][c], v1, wc);
            }
        }
    }
}

/* N pixels from pix on, every block of channels. */
EDGEAI_NEON_INLINE void conv_pixels(const int8_t* const* p, const int32_t N, int32_t pix, const int8_t* weights,
                                    const int32_t* channel, const int32_t* g, int8_t* output, const int32_t mode)
{
    const int32_t O = g[EDGEAI_NEON_G_O], OP = g[EDGEAI_NEON_G_OP], K16 = g[EDGEAI_NEON_G_K16];
    const int16x8_t zp = vdupq_n_s16((int16_t)g[EDGEAI_NEON_G_ZP_OUT]);
    const int8x8_t lo = vdup_n_s8((int8_t)g[EDGEAI_NEON_G_ACT_MIN]), hi = vdup_n_s8((int8_t)g[EDGEAI_NEON_G_ACT_MAX]);
    for (int32_t ob = 0; ob < O; ob += 8) {
        int32x4_t s[NEON_TILE][8];
        block_sums(p, N, weights + (size_t)ob * K16, K16 / 16, s);
        const edgeai_rq4 qa = edgeai_rq4_load(channel, OP, ob, mode), qb = edgeai_rq4_load(channel, OP, ob + 4, mode);
        const int32x4_t start_a = vld1q_s32(channel + ob), start_b = vld1q_s32(channel + ob + 4);
#pragma GCC unroll 4
        for (int32_t i = 0; i < N; i++) {
            edgeai_conv_store8(output + (size_t)(pix + i) * O + ob, vaddq_s32(start_a, total4(s[i])),
                               vaddq_s32(start_b, total4(s[i] + 4)), &qa, &qb, mode, zp, lo, hi, O - ob);
        }
    }
}

EDGEAI_NEON_INLINE void conv_layer(const int8_t* input, const int8_t* weights, const int32_t* channel,
                                   const int32_t* g, int8_t* output, const int32_t mode)
{
    int8_t patch[NEON_TILE * EDGEAI_NEON_PATCH_STRIDE(EDGEAI_NEON_MAX_K16)];
    int8_t bordered[EDGEAI_NEON_MAX_IMAGE + 16];
    const int8_t* image = edgeai_padded_image(bordered, input, g);
    const int32_t n_pix = g[EDGEAI_NEON_G_OH] * g[EDGEAI_NEON_G_OW];
    const int8_t* p[NEON_TILE];
    edgeai_conv_patch_init(patch, NEON_TILE, g);
    for (int32_t pix = 0; pix < n_pix;) {
        const int32_t n = n_pix - pix >= NEON_TILE ? NEON_TILE : 1;
        edgeai_conv_patches(p, n, pix, image, patch, g);
        if (n == NEON_TILE) {
            conv_pixels(p, NEON_TILE, pix, weights, channel, g, output, mode);
        } else {
            conv_pixels(p, 1, pix, weights, channel, g, output, mode);
        }
        pix += n;
    }
}

/* GCC's pre-allocation scheduler hoists all the weight loads of a step and spills accumulators (the source order
 * is the good one), and its loop distribution turns the short patch-row copies into memcpy calls. */
__attribute__((optimize("no-schedule-insns", "no-tree-loop-distribute-patterns"))) int32_t edgeai_conv_s8_neon(const int8_t* input, const int8_t* weights, const int32_t* channel, const int32_t* geom,
                            int8_t* output)
{
    if (geom[EDGEAI_NEON_G_MODE] == EDGEAI_NEON_TWO_ROUNDINGS_RIGHT) {
        conv_layer(input, weights, channel, geom, output, EDGEAI_NEON_TWO_ROUNDINGS_RIGHT);
    } else if (geom[EDGEAI_NEON_G_MODE] == EDGEAI_NEON_TWO_ROUNDINGS) {
        conv_layer(input, weights, channel, geom, output, EDGEAI_NEON_TWO_ROUNDINGS);
    } else {
        conv_layer(input, weights, channel, geom, output, EDGEAI_NEON_ONE_ROUNDING);
    }
    return 0;
}
