/* int8 CONV_2D / FULLY_CONNECTED with SDOT (Armv8.2-A dot product: Cortex-A76); see conv_s8_dot.h.
 *
 * SDOT by element multiplies 4 channels x 4 k weights by the 4 bytes in one 32-bit lane of the input and adds
 * each channel's 4 products to its int32 lane: 16 multiply-adds in one instruction, no widening, no
 * horizontal sum at the end. A tile is 4 pixels x 8 channels (8 accumulators): per 16 bytes of patch, 8
 * weight and 4 input loads feed 32 SDOTs. */
#include "conv_s8_dot.h"

#include "im2col_s8_neon.h"

#if !defined(__ARM_FEATURE_DOTPROD)
#error "conv_s8_dot.c needs the dot product extension (-mcpu=cortex-a76 or -march=armv8.2-a+dotprod)"
#endif

#define DOT_TILE 4

/* acc[pixel][half] += N pixels' patches (p) against one block of 8 channels (w); acc starts at the start. */
EDGEAI_NEON_INLINE void block_acc(const int8_t* const* p, const int32_t N, const int8_t* w, int32_t steps,
                                  int32x4_t acc[DOT_TILE][2])
{
    const int8_t* x[DOT_TILE];
#pragma GCC unroll 4
    for (int32_t i = 0; i < N; i++) {
        x[i] = p[i];
    }
    for (int32_t st = 0; st < steps; st++, w += 128) {
        int8x16_t v[DOT_TILE];
#pragma GCC unroll 4
        for (int32_t i = 0; i < N; i++) {
            v[i] = vld1q_s8(x[i]);
            x[i] += 16;
        }
        const int8x16_t w0 = vld1q_s8(w), w1 = vld1q_s8(w + 16), w2 = vld1q_s8(w + 32), w3 = vld1q_s8(w + 48);
        const int8x16_t w4 = vld1q_s8(w + 64), w5 = vld1q_s8(w + 80), w6 = vld1q_s8(w + 96);
        const int8x16_t w7 = vld1q_s8(w + 112);
#pragma GCC unroll 4
        for (int32_t i = 0; i < N; i++) {
            acc[i][0] = vdotq_laneq_s32(acc[i][0], w0, v[i], 0);
            acc[i][1] = vdotq_laneq_s32(acc[i][1], w4, v[i], 0);
            acc[i][0] = vdotq_laneq_s32(acc[i][0], w1, v[i], 1);
            acc[i][1] = vdotq_laneq_s32(acc[i][1], w5, v[i], 1);
            acc[i][0] = vdotq_laneq_s32(acc[i][0], w2, v[i], 2);
            acc[i][1] = vdotq_laneq_s32(acc[i][1], w6, v[i], 2);
            acc[i][0] = vdotq_laneq_s32(acc[i][0], w3, v[i], 3);
            acc[i][1] = vdotq_laneq_s32(acc[i][1], w7, v[i], 3);
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
        int32x4_t acc[DOT_TILE][2];
        const int32x4_t start_a = vld1q_s32(channel + ob), start_b = vld1q_s32(channel + ob + 4);
#pragma GCC unroll 4
        for (int32_t i = 0; i < N; i++) {
            acc[i][0] = start_a, acc[i][1] = start_b;
        }
        block_acc(p, N, weights + (size_t)ob * K16, K16 / 16, acc);
        const edgeai_rq4 qa = edgeai_rq4_load(channel, OP, ob, mode), qb = edgeai_rq4_load(channel, OP, ob + 4, mode);
#pragma GCC unroll 4
        for (int32_t i = 0; i < N; i++) {
            edgeai_conv_store8(output + (size_t)(pix + i) * O + ob, acc[i][0], acc[i][1], &qa, &qb, mode, zp, lo, hi,
                               O - ob);
        }
    }
}

EDGEAI_NEON_INLINE void conv_layer(const int8_t* input, const int8_t* weights, const int32_t* channel,
                                   const int32_t* g, int8_t* output, const int32_t mode)
{
    int8_t patch[DOT_TILE * EDGEAI_NEON_PATCH_STRIDE(EDGEAI_NEON_MAX_K16)];
    int8_t bordered[EDGEAI_NEON_MAX_IMAGE + 16];
    const int8_t* image = edgeai_padded_image(bordered, input, g);
    const int32_t n_pix = g[EDGEAI_NEON_G_OH] * g[EDGEAI_NEON_G_OW];
    const int8_t* p[DOT_TILE];
    edgeai_conv_patch_init(patch, DOT_TILE, g);
    for (int32_t pix = 0; pix < n_pix;) {
        const int32_t n = n_pix - pix >= DOT_TILE ? DOT_TILE : 1;
        edgeai_conv_patches(p, n, pix, image, patch, g);
        if (n == DOT_TILE) {
            conv_pixels(p, DOT_TILE, pix, weights, channel, g, output, mode);
        } else {
            conv_pixels(p, 1, pix, weights, channel, g, output, mode);
        }
        pix += n;
    }
}

/* GCC's pre-allocation scheduler hoists all the weight loads of a step and spills accumulators (the source order
 * is the good one), and its loop distribution turns the short patch-row copies into memcpy calls. */
__attribute__((optimize("no-schedule-insns", "no-tree-loop-distribute-patterns"))) int32_t edgeai_conv_s8_dot(const int8_t* input, const int8_t* weights, const int32_t* channel, const int32_t* geom,
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
