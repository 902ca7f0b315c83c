#ifndef EDGEAI_IM2COL_S8_X86_H
#define EDGEAI_IM2COL_S8_X86_H
/* The patch gathering of conv_s8_x86.c, in plain C for every path (16-byte memcpy compiles to one unaligned
 * vector load and store): the bordered image once per call, then each output pixel's KH window rows. */
#include "conv_s8_x86.h"
#include "requant_s8_x86.h"

#include <string.h>

/* The patch stride: K16 and the last row's spill (edgeai_x86_im2col). */
#define EDGEAI_X86_PATCH_STRIDE(k16) ((k16) + 16)

/* The input with its zero-point border (HP x WP x C) in `image` (EDGEAI_X86_MAX_IMAGE + 16 bytes: the patch rows
 * read whole 16-byte chunks); the input itself for a DIRECT layer. */
EDGEAI_X86_INLINE const int8_t* edgeai_x86_padded_image(int8_t* image, const int8_t* input, const int32_t* g)
{
    const int32_t H = g[EDGEAI_X86_G_H], W = g[EDGEAI_X86_G_W], C = g[EDGEAI_X86_G_C];
    const int32_t HP = g[EDGEAI_X86_G_HP], WP = g[EDGEAI_X86_G_WP], PT = g[EDGEAI_X86_G_PT];
    const int32_t PL = g[EDGEAI_X86_G_PL], zp = g[EDGEAI_X86_G_ZP_IN];
    if (g[EDGEAI_X86_G_DIRECT]) {
        return input;
    }
    const size_t row = (size_t)WP * C, left = (size_t)PL * C, inner = (size_t)W * C;
    memset(image, zp, (size_t)HP * row + 16);
    for (int32_t y = 0; y < H; y++) {
        memcpy(image + (size_t)(PT + y) * row + left, input + (size_t)y * inner, inner);
    }
    return image;
}

/* The KH x KW x C window of output pixel `pix` into dst, each row in whole 16-byte chunks: a row's last chunk
 * spills into the next row's place, which that row's copy overwrites; the last row's spills up to 15 bytes past
 * K, into the stride's slack (bytes past K meet zero weights). */
EDGEAI_X86_INLINE void edgeai_x86_im2col(int8_t* dst, const int8_t* image, const int32_t* g, int32_t pix)
{
    const int32_t C = g[EDGEAI_X86_G_C], WP = g[EDGEAI_X86_G_WP], KH = g[EDGEAI_X86_G_KH];
    const int32_t OW = g[EDGEAI_X86_G_OW], row = g[EDGEAI_X86_G_KW] * C;
    const int32_t oy = pix / OW, ox = pix - oy * OW;
    const int8_t* src = image + ((size_t)oy * g[EDGEAI_X86_G_SH] * WP + (size_t)ox * g[EDGEAI_X86_G_SW]) * C;
    for (int32_t ky = 0; ky < KH; ky++, dst += row, src += (size_t)WP * C) {
        for (int32_t i = 0; i < row; i += 16) {
            memcpy(dst + i, src + i, 16);
        }
    }
}

/* p[i]: the K bytes of output pixel pix + i (in the input for a DIRECT layer, else gathered into patch). */
EDGEAI_X86_INLINE void edgeai_x86_patches(const int8_t** p, int32_t n, int32_t pix, const int8_t* image,
                                          int8_t* patch, const int32_t* g)
{
    const int32_t stride = EDGEAI_X86_PATCH_STRIDE(g[EDGEAI_X86_G_K16]);
    for (int32_t i = 0; i < n; i++) {
        if (g[EDGEAI_X86_G_DIRECT]) {
            p[i] = image + (size_t)(pix + i) * g[EDGEAI_X86_G_C];
        } else {
            edgeai_x86_im2col(patch + (size_t)i * stride, image, g, pix + i);
            p[i] = patch + (size_t)i * stride;
        }
    }
}

#endif
