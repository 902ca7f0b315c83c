#ifndef EDGEAI_IM2COL_S8_NEON_H
#define EDGEAI_IM2COL_S8_NEON_H
/* The patch gathering and the output stage the two convolution kernels (conv_s8_neon.c, conv_s8_dot.c)
 * share: everything but their inner products. */
#include "conv_s8_neon.h"
#include "requant_s8_neon.h"

#include <string.h>

/* The input with its zero-point border (geom HP x WP x C; HP x WP = H x W when the layer does not pad), copied
 * once per call into `image` (EDGEAI_NEON_MAX_IMAGE + 16 bytes: the patch rows read whole 16-byte chunks), so
 * that every patch row is one run of chunk copies without a padding test. */
EDGEAI_NEON_INLINE const int8_t* edgeai_padded_image(int8_t* image, const int8_t* input, const int32_t* g)
{
    const int32_t H = g[EDGEAI_NEON_G_H], W = g[EDGEAI_NEON_G_W], C = g[EDGEAI_NEON_G_C];
    const int32_t HP = g[EDGEAI_NEON_G_HP], WP = g[EDGEAI_NEON_G_WP];
    const int32_t PT = g[EDGEAI_NEON_G_PT], PL = g[EDGEAI_NEON_G_PL];
    if (g[EDGEAI_NEON_G_DIRECT]) {
        return input; /* read in place, no patches */
    }
    const int8x16_t zp16 = vdupq_n_s8((int8_t)g[EDGEAI_NEON_G_ZP_IN]);
    const int32_t row = WP * C, left = PL * C, right = (WP - PL - W) * C;
    int8_t* dst = image;
    if (left == 0 && right == 0) {
        edgeai_fill_bytes(dst, zp16, PT * row);
        edgeai_copy_bytes(dst + PT * row, input, H * row);
        dst += (PT + H) * row;
    } else {
        edgeai_fill_bytes(dst, zp16, PT * row);
        dst += PT * row;
        for (int32_t y = 0; y < H; y++, dst += row) {
            edgeai_fill_bytes(dst, zp16, left);
            edgeai_copy_bytes(dst + left, input + (size_t)y * W * C, W * C);
            edgeai_fill_bytes(dst + left + W * C, zp16, right);
        }
    }
    edgeai_fill_bytes(dst, zp16, (HP - PT - H) * row + 16);
    return image;
}

/* The KH x KW x C window of output pixel `pix` into dst, from the bordered image, each row in whole 16-byte
 * chunks: a row's last chunk spills into the next row's place, which that row's copy then overwrites, and the
 * last row's spills up to 15 bytes past K (the patch stride is K16 + 16; bytes past K meet zero weights). */
EDGEAI_NEON_INLINE void edgeai_im2col(int8_t* dst, const int8_t* image, const int32_t* g, int32_t pix)
{
    const int32_t C = g[EDGEAI_NEON_G_C], WP = g[EDGEAI_NEON_G_WP], KH = g[EDGEAI_NEON_G_KH];
    const int32_t OW = g[EDGEAI_NEON_G_OW], row = g[EDGEAI_NEON_G_KW] * C, stride = WP * C;
    const int32_t oy = pix / OW, ox = pix - oy * OW;
    const int8_t* src = image + ((size_t)oy * g[EDGEAI_NEON_G_SH] * WP + (size_t)ox * g[EDGEAI_NEON_G_SW]) * C;
    for (int32_t ky = 0; ky < KH; ky++, dst += row, src += stride) {
        int32_t i = 0;
        do {
            vst1q_s8(dst + i, vld1q_s8(src + i));
            i += 16;
        } while (i < row);
    }
}

/* The output stage of one pixel and one block of 8 channels: acc (start included) → int8 at out. */
EDGEAI_NEON_INLINE void edgeai_conv_store8(int8_t* out, int32x4_t a, int32x4_t b, const edgeai_rq4* qa,
                                           const edgeai_rq4* qb, int32_t mode, int16x8_t zp, int8x8_t lo,
                                           int8x8_t hi, int32_t n)
{
    const int8x8_t v = edgeai_narrow8(edgeai_rq4_apply(a, qa, mode), edgeai_rq4_apply(b, qb, mode), zp, lo, hi);
    if (n >= 8) {
        vst1_s8(out, v);
    } else {
        edgeai_store_partial8(out, v, n);
    }
}

/* The patch stride: K16 and the last row's spill (edgeai_im2col). */
#define EDGEAI_NEON_PATCH_STRIDE(k16) ((k16) + 16)

/* Zero the patches once, so that the bytes past K that no row spills into hold a defined value (they meet zero
 * weights). */
EDGEAI_NEON_INLINE void edgeai_conv_patch_init(int8_t* patch, int32_t tile, const int32_t* g)
{
    if (!g[EDGEAI_NEON_G_DIRECT]) {
        memset(patch, 0, (size_t)tile * (size_t)EDGEAI_NEON_PATCH_STRIDE(g[EDGEAI_NEON_G_K16]));
    }
}

/* The patches of output pixels pix .. pix + n - 1: p[i] points at pixel pix + i's K bytes (the input itself
 * for a DIRECT layer, else its gathered copy in patch); image: edgeai_padded_image. */
EDGEAI_NEON_INLINE void edgeai_conv_patches(const int8_t** p, int32_t n, int32_t pix, const int8_t* image,
                                            int8_t* patch, const int32_t* g)
{
    const int32_t stride = EDGEAI_NEON_PATCH_STRIDE(g[EDGEAI_NEON_G_K16]);
    for (int32_t i = 0; i < n; i++) {
        if (g[EDGEAI_NEON_G_DIRECT]) {
            p[i] = image + (size_t)(pix + i) * g[EDGEAI_NEON_G_C];
        } else {
            edgeai_im2col(patch + i * stride, image, g, pix + i);
            p[i] = patch + i * stride;
        }
    }
}

#endif
