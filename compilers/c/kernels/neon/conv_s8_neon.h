#ifndef EDGEAI_CONV_S8_NEON_H
#define EDGEAI_CONV_S8_NEON_H
#include <stdint.h>

/*
 * int8 CONV_2D and FULLY_CONNECTED (as a 1x1 convolution over [rows, 1, in_features]) for aarch64 NEON
 * (Cortex-A72 and later), bit-exact with LiteRT's reference kernels. Batch 1, NHWC.
 *
 * Everything layer-specific is prepared at compile time by compilers/lowering/neon_conv.py:
 *   geom[EDGEAI_NEON_GEOM]  the layer's geometry and quantization, indices EDGEAI_NEON_G_* below;
 *   weights                 int8, in blocks of 8 output channels (O rounded up to 8, the extra ones zero) and
 *                           steps of 16 patch bytes (K = KH*KW*C rounded up to K16, the extra ones zero):
 *                           [O8 / 8][K16 / 16][8 channels][16 k] (edgeai_conv_s8_neon; no weight is -128, so
 *                           two products of an int8 input fit one int16 lane);
 *   channel                 planar per-channel constants (requant_s8_neon.h).
 * A layer that is not DIRECT first copies its input once into a stack image with a border of input zero points
 * (HP x WP, none when it does not pad); each output pixel's patch (its KH x KW x C window, row by row) is then KH copies from that image into a
 * stack scratch line, so neither the gathering nor the inner loop has a padding test; a 1x1 stride-1
 * unpadded layer with C % 16 == 0 (geom DIRECT) reads the input in place.
 * Returns 0.
 */

enum {
    EDGEAI_NEON_G_H, EDGEAI_NEON_G_W, EDGEAI_NEON_G_C, EDGEAI_NEON_G_OH, EDGEAI_NEON_G_OW, EDGEAI_NEON_G_O,
    EDGEAI_NEON_G_KH, EDGEAI_NEON_G_KW, EDGEAI_NEON_G_SH, EDGEAI_NEON_G_SW, EDGEAI_NEON_G_PT, EDGEAI_NEON_G_PL,
    EDGEAI_NEON_G_ZP_IN, EDGEAI_NEON_G_ZP_OUT, EDGEAI_NEON_G_ACT_MIN, EDGEAI_NEON_G_ACT_MAX,
    EDGEAI_NEON_G_MODE,   /* requant_s8_neon.h: 0 two roundings, 1 one rounding */
    EDGEAI_NEON_G_K16,    /* conv: KH * KW * C rounded up to 16 */
    EDGEAI_NEON_G_DIRECT, /* conv: 1 when the patch of pixel i is input + i * C (1x1, stride 1, no padding) */
    EDGEAI_NEON_G_OP,     /* the per-channel arrays' length: O (depthwise: C) rounded up to 16 */
    EDGEAI_NEON_G_HP,     /* conv: the zero-point-bordered image the windows read, HP x WP (H x W: no border) */
    EDGEAI_NEON_G_WP,
    EDGEAI_NEON_GEOM
};

/* Largest patch K16 (bytes; the kernels keep up to 4 patches on the stack, each K16 + 16 bytes), largest
 * bordered image (HP * WP * C bytes on the stack, plus 16) and the most pixels a tile holds. */
#define EDGEAI_NEON_MAX_K16 4096
#define EDGEAI_NEON_MAX_IMAGE 65536
#define EDGEAI_NEON_TILE 4

int32_t edgeai_conv_s8_neon(const int8_t* input, const int8_t* weights, const int32_t* channel, const int32_t* geom,
                            int8_t* output);

#endif
