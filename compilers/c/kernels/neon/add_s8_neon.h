#ifndef EDGEAI_ADD_S8_NEON_H
#define EDGEAI_ADD_S8_NEON_H
#include <stdint.h>

/*
 * ADD of two same-shape int8 tensors for aarch64 NEON, TFLite's arithmetic (bit-exact with LiteRT's reference
 * kernel): each input (x - zp) << left_shift is rescaled to the common scale (SaturatingRoundingDoublingHighMul,
 * RoundingDivideByPOT), the two are added and the sum is requantized to the output. p (compilers/lowering/
 * neon_conv.py: add_call), int32: [n, zp1, zp2, zp_out, lo, hi, then per input 1, input 2 and the output:
 * multiplier, left shift, -right shift, fix (requant_s8_neon.h)], the inputs' left shift including
 * left_shift. 16 elements at a time; the output may alias an input. Returns 0.
 */
enum { EDGEAI_ADD_N, EDGEAI_ADD_ZP1, EDGEAI_ADD_ZP2, EDGEAI_ADD_ZP_OUT, EDGEAI_ADD_LO, EDGEAI_ADD_HI, EDGEAI_ADD_RQ1,
       EDGEAI_ADD_RQ2 = EDGEAI_ADD_RQ1 + 4, EDGEAI_ADD_RQ_OUT = EDGEAI_ADD_RQ2 + 4,
       EDGEAI_ADD_PARAMS = EDGEAI_ADD_RQ_OUT + 4 };

int32_t edgeai_add_s8_neon(const int8_t* input1, const int8_t* input2, const int32_t* p, int8_t* output);

#endif
