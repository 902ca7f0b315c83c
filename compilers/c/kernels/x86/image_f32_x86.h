#ifndef EDGEAI_IMAGE_F32_X86_H
#define EDGEAI_IMAGE_F32_X86_H
#include <stdint.h>
#include <string.h>

/* The float kernels' shared geometry (compilers/lowering/x86_float.py: _geom) and their bordered image: a padded
 * layer first copies its input once into a zero-bordered HP x WP x C image on the stack, so no inner loop tests
 * padding; an unpadded one reads its input in place (WP is then W, the row stride). */
enum {
    EDGEAI_X86F_G_H, EDGEAI_X86F_G_W, EDGEAI_X86F_G_C, EDGEAI_X86F_G_OH, EDGEAI_X86F_G_OW, EDGEAI_X86F_G_O,
    EDGEAI_X86F_G_KH, EDGEAI_X86F_G_KW, EDGEAI_X86F_G_SH, EDGEAI_X86F_G_SW, EDGEAI_X86F_G_PT, EDGEAI_X86F_G_PL,
    EDGEAI_X86F_G_HP, EDGEAI_X86F_G_WP,
    EDGEAI_X86F_G_PADDED,
    EDGEAI_X86F_G_OV, /* output channels rounded up to the vector block: 16 (conv), 8 (depthwise) */
    EDGEAI_X86F_GEOM
};

/* Largest bordered image, in floats (256 KiB on the stack; the lowering declines a larger one). */
#define EDGEAI_X86F_MAX_IMAGE 65536

static inline const float* edgeai_x86f_image(float* bordered, const float* input, const int32_t* g)
{
    if (!g[EDGEAI_X86F_G_PADDED]) {
        return input;
    }
    const int32_t H = g[EDGEAI_X86F_G_H], W = g[EDGEAI_X86F_G_W], C = g[EDGEAI_X86F_G_C];
    const int32_t HP = g[EDGEAI_X86F_G_HP], WP = g[EDGEAI_X86F_G_WP];
    const int32_t PT = g[EDGEAI_X86F_G_PT], PL = g[EDGEAI_X86F_G_PL];
    const int32_t cols = (PL + W <= WP ? W : WP - PL);
    memset(bordered, 0, sizeof(float) * (size_t)HP * (size_t)WP * (size_t)C);
    for (int32_t y = 0; y < H && PT + y < HP; y++) {
        memcpy(bordered + ((size_t)(PT + y) * WP + PL) * C, input + (size_t)y * W * C, sizeof(float) * (size_t)cols * C);
    }
    return bordered;
}

static inline float edgeai_x86f_clamp(float v, float lo, float hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

#endif
