#ifndef EDGEAI_CONV_S8_DOT_H
#define EDGEAI_CONV_S8_DOT_H
#include "conv_s8_neon.h"

/*
 * int8 CONV_2D and FULLY_CONNECTED for aarch64 cores with the dot product extension (Armv8.2-A DotProd:
 * Cortex-A76, -mcpu=cortex-a76), same geometry, channel constants and patches as conv_s8_neon.h; only the
 * weights' order differs, 16 bytes per (4 channels x 4 k) as SDOT reads them:
 *   [O8 / 8][K16 / 16][half: channels 0-3, 4-7][j: k 4j .. 4j+3 of the step][4 channels][4 k].
 * Returns 0.
 */
int32_t edgeai_conv_s8_dot(const int8_t* input, const int8_t* weights, const int32_t* channel, const int32_t* geom,
                           int8_t* output);

#endif
