#ifndef EDGEAI_CONV_S8_X86_H
#define EDGEAI_CONV_S8_X86_H
#include <stdint.h>

/*
 * int8 CONV_2D and FULLY_CONNECTED (as a 1x1 convolution over [rows, 1, in_features]) for x86-64, bit-exact with
 * LiteRT's reference kernels. Batch 1, NHWC. The path is picked at run time: AVX-VNNI, or AVX512-VNNI with
 * AVX512VL (VPDPBUSD on 256-bit vectors), else AVX2 (VPMADDWD on the bytes widened to 16 bits), else portable C;
 * -DEDGEAI_X86_NO_VNNI stops at AVX2 and -DEDGEAI_X86_PORTABLE builds the portable path alone (the tests force
 * each one).
 *
 * Everything layer-specific is prepared at compile time by compilers/lowering/x86_conv.py (the geometry, the
 * per-channel constants and the bordered image are those of the aarch64 kernels: compilers/lowering/neon_conv.py):
 *   geom     indices EDGEAI_X86_G_* below (the order of neon_conv._geom);
 *   weights  int8 in blocks of 8 output channels (O rounded up to 8, the extra ones zero) and steps of 4 patch
 *            bytes (K = KH*KW*C rounded up to K16, a multiple of 16, the extra ones zero):
 *            [O8 / 8][K16 / 4][8 channels][4 k];
 *   channel  requant_s8_x86.h, its start value folded for inputs offset by +128: start = bias - (zp_in + 128) *
 *            sum(w), since VPDPBUSD multiplies unsigned bytes and every path reads an input x as the byte x + 128.
 * A layer that is not DIRECT first copies its input once into a stack image with a border of input zero points
 * (HP x WP); each output pixel's patch is then KH row copies into a stack line, so no inner loop tests padding;
 * a 1x1 stride-1 unpadded layer with C % 16 == 0 (DIRECT) reads the input in place. Returns 0.
 */

enum {
    EDGEAI_X86_G_H, EDGEAI_X86_G_W, EDGEAI_X86_G_C, EDGEAI_X86_G_OH, EDGEAI_X86_G_OW, EDGEAI_X86_G_O,
    EDGEAI_X86_G_KH, EDGEAI_X86_G_KW, EDGEAI_X86_G_SH, EDGEAI_X86_G_SW, EDGEAI_X86_G_PT, EDGEAI_X86_G_PL,
    EDGEAI_X86_G_ZP_IN, EDGEAI_X86_G_ZP_OUT, EDGEAI_X86_G_ACT_MIN, EDGEAI_X86_G_ACT_MAX,
    EDGEAI_X86_G_MODE, /* requant_s8_x86.h */
    EDGEAI_X86_G_K16,
    EDGEAI_X86_G_DIRECT,
    EDGEAI_X86_G_OP, /* the per-channel arrays' length: O (depthwise: C) rounded up to 16 */
    EDGEAI_X86_G_HP,
    EDGEAI_X86_G_WP,
    EDGEAI_X86_GEOM
};

/* Largest patch K16 and bordered image (bytes, on the stack): those of the aarch64 kernels. */
#define EDGEAI_X86_MAX_K16 4096
#define EDGEAI_X86_MAX_IMAGE 65536

int32_t edgeai_conv_s8_x86(const int8_t* input, const int8_t* weights, const int32_t* channel, const int32_t* geom,
                           int8_t* output);

#endif
