#ifndef EDGEAI_DWCONV_S8_MVE_H
#define EDGEAI_DWCONV_S8_MVE_H
#include <stdint.h>

/*
 * DEPTHWISE_CONV_2D, int8, depth multiplier 1, for Helium (MVE) cores (Cortex-M55), with a portable path
 * (mve_lanes.h) that computes the same integers elsewhere. Batch 1, NHWC, any C (a last block of fewer than
 * 16 channels is predicated). Prepared at compile time by compilers/lowering/mve_dwconv.py:
 *   geom[EDGEAI_DWM_GEOM]   indices EDGEAI_DWM_* below;
 *   weights                 int8 [ceil(C / 16)][KH * KW][16], channels past C zero;
 *   channel                 int32 [ceil(C / 4)][4 constants][4 channels]: the accumulator's start value
 *                           (bias - input_zero_point * sum(weights)), the multiplier, then per numerics
 *       edgeai_dwconv_s8_mve (TFLite): -e (VRSHL right shift, e >= 1), unused: out = RDBPOT(SRDHM(acc, M), e)
 *       _one_rounding (ONNX):        rounding R, -s: out = ((acc * M) >> 32) + R >> s, one rounding (the
 *                                    output zero point inside R);
 * padded input points read the input zero point (they add zp_in * w, which the start value subtracts).
 * Returns 0.
 */

enum {
    EDGEAI_DWM_H, EDGEAI_DWM_W, EDGEAI_DWM_C, EDGEAI_DWM_OH, EDGEAI_DWM_OW, EDGEAI_DWM_KH, EDGEAI_DWM_KW,
    EDGEAI_DWM_SH, EDGEAI_DWM_SW, EDGEAI_DWM_PT, EDGEAI_DWM_PL, EDGEAI_DWM_ZP_IN, EDGEAI_DWM_ZP_OUT,
    EDGEAI_DWM_ACT_MIN, EDGEAI_DWM_ACT_MAX, EDGEAI_DWM_GEOM
};

int32_t edgeai_dwconv_s8_mve(const int8_t* input, const int8_t* weights, const int32_t* channel, const int32_t* geom,
                             int8_t* output);
int32_t edgeai_dwconv_s8_mve_one_rounding(const int8_t* input, const int8_t* weights, const int32_t* channel,
                                          const int32_t* geom, int8_t* output);

#endif
