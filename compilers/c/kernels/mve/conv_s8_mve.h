#ifndef EDGEAI_CONV_S8_MVE_H
#define EDGEAI_CONV_S8_MVE_H
#include <stdint.h>

/*
 * int8 CONV_2D and FULLY_CONNECTED for cores with Helium (M-profile Vector Extension, Cortex-M55/M85), with a
 * portable C path that computes the same integers everywhere else.
 *
 * Everything layer-specific is prepared at compile time by compilers/lowering/mve_conv.py:
 *   geom[EDGEAI_MVE_GEOM]  the layer's geometry, indices EDGEAI_MVE_* below;
 *   weights                int8, [O4 / 4][ROWS][SEG / 16][4 channels][16 bytes]: per group of 4 output channels
 *                          (O rounded up to 4, extra channels zero), per weight row, 16 input bytes of each of the
 *                          4 channels in turn, rows zero-padded to SEG bytes;
 *   channel                per group of 4 output channels, constants as 4-lane vectors [group][constant][lane]:
 *                          edgeai_conv_s8_mve (TFLite's two roundings): start, left shift, multiplier,
 *                          -right shift, output offset (the zero point; a pruned channel's constant output);
 *                          edgeai_conv_s8_mve_one_rounding (LiteRT FC, ONNX numerics): the four constants of
 *                          the DSP kernels' one rounding (compilers/lowering/cortex_m.py, _channel_constants).
 * start = bias - input_zero_point * sum(weights): the input zero point is folded in, so the inner loop multiplies
 * raw inputs and padding reads the zero point. Batch 1, NHWC. All functions return 0.
 */

enum {
    EDGEAI_MVE_H, EDGEAI_MVE_W, EDGEAI_MVE_C, EDGEAI_MVE_OH, EDGEAI_MVE_OW, EDGEAI_MVE_O, EDGEAI_MVE_KH,
    EDGEAI_MVE_KW, EDGEAI_MVE_SH, EDGEAI_MVE_SW, EDGEAI_MVE_PT, EDGEAI_MVE_PL, EDGEAI_MVE_ZP_IN,
    EDGEAI_MVE_ACT_MIN, EDGEAI_MVE_ACT_MAX,
    EDGEAI_MVE_ROWS,      /* weight rows: KH (each window row read in place), or 1 (the whole window im2col'd) */
    EDGEAI_MVE_ROW_BYTES, /* bytes of one weight row: KW * C, or KH * KW * C when ROWS is 1 and KH > 1 */
    EDGEAI_MVE_SEG,       /* ROW_BYTES rounded up to 16 */
    EDGEAI_MVE_FLAT,      /* 1: every pixel's window is gathered into one contiguous row (ROWS 1) */
    EDGEAI_MVE_SKIP,      /* 1: some group of 4 channels is pruned (constant output): skip its sums */
    EDGEAI_MVE_LEFT,      /* 1: some channel has a left shift (two roundings only) */
    EDGEAI_MVE_RIGHT,     /* 1: every channel has a right shift of at least 1 (two roundings only) */
    EDGEAI_MVE_GEOM
};

/* Largest gathered window (bytes on the stack, two of them). */
#define EDGEAI_MVE_MAX_PATCH 1152

int32_t edgeai_conv_s8_mve(const int8_t* input, const int8_t* weights, const int32_t* channel, const int32_t* geom,
                           int8_t* output);
int32_t edgeai_conv_s8_mve_one_rounding(const int8_t* input, const int8_t* weights, const int32_t* channel,
                                        const int32_t* geom, int8_t* output);

#endif
