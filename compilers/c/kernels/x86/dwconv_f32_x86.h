#ifndef EDGEAI_DWCONV_F32_X86_H
#define EDGEAI_DWCONV_F32_X86_H
#include <stdint.h>

/*
 * float32 DEPTHWISE_CONV_2D (depth multiplier 1, dilation 1) for x86-64, NHWC, batch 1: AVX2 with FMA (8
 * channels a vector, the last partial vector through masked loads and stores) picked at run time, else portable C
 * (-DEDGEAI_X86_PORTABLE forces it). Prepared by compilers/lowering/x86_float.py:
 *   geom     EDGEAI_X86F_G_* (image_f32_x86.h), OV = C rounded up to 8;
 *   weights  [KH][KW][OV] (extra channels zero);
 *   channel  bias[OV], then the clamp lo, hi.
 * Returns 0.
 */
int32_t edgeai_dwconv_f32_x86(const float* input, const float* weights, const float* channel, const int32_t* geom,
                              float* output);

#endif
