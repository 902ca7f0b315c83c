#ifndef EDGEAI_CONV_F32_X86_H
#define EDGEAI_CONV_F32_X86_H
#include <stdint.h>

/*
 * float32 CONV_2D and FULLY_CONNECTED (as a 1x1 convolution over [rows, 1, in_features]) for x86-64. Batch 1,
 * NHWC, dilation 1. The path is picked at run time: AVX2 with FMA, else portable C; -DEDGEAI_X86_PORTABLE builds
 * the portable path alone. The sums are those of the reference in another order (per channel, kh, kw, c in
 * sequence, fused multiply-adds on the AVX2 path), so results differ from LiteRT's by rounding only.
 *
 * Prepared at compile time by compilers/lowering/x86_float.py:
 *   geom     indices EDGEAI_X86F_G_* (image_f32_x86.h);
 *   weights  in blocks of 16 output channels (O rounded up to OV = O16, the extra ones zero):
 *            [OV / 16][KH][KW][C][16];
 *   channel  bias[OV], then the activation's clamp lo, hi.
 * The AVX2 tile is 4 output pixels x 16 channels (8 accumulators: each weight vector serves 4 pixels, each
 * broadcast input 16 channels), or 1 pixel x up to 64 channels for the last pixels and fully connected layers.
 * Returns 0.
 */
int32_t edgeai_conv_f32_x86(const float* input, const float* weights, const float* channel, const int32_t* geom,
                            float* output);

#endif
