#ifndef EDGEAI_CONV_F32_MVE_H
#define EDGEAI_CONV_F32_MVE_H
#include <stdint.h>

/*
 * float32 CONV_2D and FULLY_CONNECTED (as a 1x1 convolution over [rows, 1, in_features]) with Helium's float
 * vectors (MVE-F: VLDRW, VFMA by a scalar), Cortex-M55. Batch 1, NHWC, dilation 1, any padding (taps outside the
 * input are skipped, geom_f32_mve.h). Without MVE-F (a host build) the same sums in portable C. The sums are the
 * reference's in another order (the bias first, then kh, kw, c in sequence, fused multiply-adds), so results
 * differ from LiteRT's by rounding only.
 *
 * Prepared at compile time by compilers/lowering/mve_float.py:
 *   geom     indices EDGEAI_MVEF_G_* (geom_f32_mve.h);
 *   weights  in blocks of 8 output channels (O rounded up to OV, the extra ones zero): [OV / 8][KH][KW][C][8];
 *   channel  bias[OV], then the activation's clamp lo, hi.
 * The tile is 2 output pixels with the same taps x 8 channels: per input channel two scalar loads, two weight
 * vectors, four VFMA (16 MACs); a pixel alone 1 x 16 channels while two blocks are left, then 1 x 8. Returns 0.
 */
int32_t edgeai_conv_f32_mve(const float* input, const float* weights, const float* channel, const int32_t* geom,
                            float* output);

#endif
