#ifndef EDGEAI_DWCONV_F32_MVE_H
#define EDGEAI_DWCONV_F32_MVE_H
#include <stdint.h>

/*
 * float32 DEPTHWISE_CONV_2D (depth multiplier 1) with Helium's float vectors (MVE-F: VLDRW, VFMA), Cortex-M55.
 * Batch 1, NHWC, dilation 1, any padding (taps outside the input skipped, geom_f32_mve.h); portable C without
 * MVE-F. Per output pixel, 8 channels per step in two vectors: per tap two input and two weight loads and two
 * VFMA (four vectors would need twelve Q registers of MVE's eight); the last channels (C not a multiple of 8)
 * with predicated loads and stores. The sums are the
 * reference's in another order (the bias first), so results differ from LiteRT's by rounding only.
 *
 * Prepared at compile time by compilers/lowering/mve_float.py:
 *   geom     indices EDGEAI_MVEF_G_* (O = C);
 *   weights  [KH][KW][CV], CV = C rounded up to 8 (the extra ones zero);
 *   channel  bias[CV], then the activation's clamp lo, hi.
 * Returns 0.
 */
int32_t edgeai_dwconv_f32_mve(const float* input, const float* weights, const float* channel, const int32_t* geom,
                              float* output);

#endif
