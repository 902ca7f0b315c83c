#ifndef EDGEAI_POINTWISE_S8_H
#define EDGEAI_POINTWISE_S8_H
#include <stdint.h>

/*
 * int8 1x1 stride-1 unpadded CONV_2D with few input channels (C = 8 or 16), TFLite's two-rounding
 * requantization, for Cortex-M cores with the DSP extension (SMLAD, SXTB16, SMMLA, SSAT), with a portable C
 * fallback computing the same integers. The activations are a [P, C] matrix, the output [P, O].
 *
 * records: per output channel (O rounded up to 4, the padding channels' outputs overwritten or never stored),
 * prepared by compilers/lowering/dsp_pointwise.py, in the order the kernel's LDM reads them:
 *   start (int32: (bias - zp_in * sum(w)) * 2^s), C / 2 int16 weight pairs (w * 2^s; for each 4 inputs
 *   (w0, w2), (w1, w3): SXTB16's order), multiplier M, rounding K, and in the _signed entries q = 2^d;
 * with s = 1 + left_shift + d and d = EDGEAI_PW_SHIFT - e (e: the channel's right shift) one value per channel,
 * so that out = SSAT8((SMMLA(acc, M, K) >> EDGEAI_PW_SHIFT) for every channel (the derivation is in the .c).
 * geom: [P, O, O4, clamp, lo, hi]; the _clamp entries (for [lo, hi] narrower than [-128, 127]) clamp the output
 * in one more pass over it.
 * The plain entries drop TFLite's sign-dependent rounding of the right shift: exact only where the activation
 * clamps every output below the zero point (lo >= zp_out: ReLU, ReLU6); the _signed entries keep it.
 * All functions return 0.
 */

#define EDGEAI_PW_SHIFT 12
#define EDGEAI_PW_MAX_O4 256

enum { EDGEAI_PW_P, EDGEAI_PW_O, EDGEAI_PW_O4, EDGEAI_PW_CLAMP, EDGEAI_PW_LO, EDGEAI_PW_HI, EDGEAI_PW_GEOM };

int32_t edgeai_pointwise_s8_c8(const int8_t* input, const int32_t* records, const int32_t* geom, int8_t* output);
int32_t edgeai_pointwise_s8_c8_signed(const int8_t* input, const int32_t* records, const int32_t* geom,
                                      int8_t* output);
int32_t edgeai_pointwise_s8_c16(const int8_t* input, const int32_t* records, const int32_t* geom, int8_t* output);
int32_t edgeai_pointwise_s8_c16_signed(const int8_t* input, const int32_t* records, const int32_t* geom,
                                       int8_t* output);
int32_t edgeai_pointwise_s8_c8_clamp(const int8_t* input, const int32_t* records, const int32_t* geom,
                                     int8_t* output);
int32_t edgeai_pointwise_s8_c8_signed_clamp(const int8_t* input, const int32_t* records, const int32_t* geom,
                                            int8_t* output);
int32_t edgeai_pointwise_s8_c16_clamp(const int8_t* input, const int32_t* records, const int32_t* geom,
                                      int8_t* output);
int32_t edgeai_pointwise_s8_c16_signed_clamp(const int8_t* input, const int32_t* records, const int32_t* geom,
                                             int8_t* output);

#endif
