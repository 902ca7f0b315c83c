#ifndef EDGEAI_DWCONV_S8_X86_H
#define EDGEAI_DWCONV_S8_X86_H
#include <stdint.h>

#include "conv_s8_x86.h"

/*
 * int8 DEPTHWISE_CONV_2D with depth multiplier 1 for x86-64, bit-exact with LiteRT's reference kernels; AVX2 or
 * portable C picked at run time (-DEDGEAI_X86_PORTABLE builds the portable path alone). geom: conv_s8_x86.h's
 * EDGEAI_X86_G_* (O = C; K16, DIRECT, HP, WP unused). weights (compilers/lowering/x86_conv.py: dwconv_call): int16
 * pairs of taps t, t + 1 per channel, [ceil(KH * KW / 2)][OP][2] (an odd last tap paired with 0), the channels
 * of each 16 in the order 0-3, 8-11, 4-7, 12-15 (the lanes VPUNPCKLWD / VPUNPCKHWD leave them in), so VPMADDWD
 * gives each channel's two products summed in int32; channel: requant_s8_x86.h, start = bias - zp_in * sum(w), its
 * planes in the same channel order (the accumulators' lanes take their constants without a permutation).
 * A tap outside the image reads a stack row of C input zero points (its product is what the start expects).
 * 16 channels at a time, then 8, the rest one at a time. Returns 0.
 */

/* Largest C (the zero-point row on the stack) and KH * KW (the tap pointers on the stack). */
#define EDGEAI_X86_MAX_DW_CHANNELS 2048
#define EDGEAI_X86_MAX_TAPS 64

int32_t edgeai_dwconv_s8_x86(const int8_t* input, const int16_t* weights, const int32_t* channel,
                             const int32_t* geom, int8_t* output);

#endif
