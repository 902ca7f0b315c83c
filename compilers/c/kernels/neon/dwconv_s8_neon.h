#ifndef EDGEAI_DWCONV_S8_NEON_H
#define EDGEAI_DWCONV_S8_NEON_H
#include <stdint.h>

#include "conv_s8_neon.h"

/*
 * int8 DEPTHWISE_CONV_2D with depth multiplier 1 for aarch64 NEON, bit-exact with LiteRT's reference kernels.
 * geom: conv_s8_neon.h's EDGEAI_NEON_G_* (O = C; K16, DIRECT, HP, WP unused). weights: int8, [KH * KW][OP] (OP:
 * C rounded up to 16, the extra ones zero), none -128; channel: requant_s8_neon.h. A tap outside the image reads a stack
 * row of C input zero points (its weight times zp_in is what the folded start value expects), so the inner
 * loop has no padding test. Channels go 16 and 8 at a time, the rest one at a time. Returns 0.
 */

/* Largest C (the zero-point row on the stack) and KH * KW (the tap pointers on the stack). */
#define EDGEAI_NEON_MAX_DW_CHANNELS 2048
#define EDGEAI_NEON_MAX_TAPS 64

int32_t edgeai_dwconv_s8_neon(const int8_t* input, const int8_t* weights, const int32_t* channel,
                              const int32_t* geom, int8_t* output);

#endif
