#ifndef EDGEAI_ADD_S8_X86_H
#define EDGEAI_ADD_S8_X86_H
#include <stdint.h>

/*
 * ADD of two same-shape int8 tensors for x86-64, TFLite's arithmetic (bit-exact with LiteRT's reference kernel):
 * each input (x - zp) << left is rescaled to the common scale (SaturatingRoundingDoublingHighMul,
 * RoundingDivideByPOT), the two are added and the sum is requantized to the output. AVX2 or portable C, picked at
 * run time (-DEDGEAI_X86_PORTABLE builds the portable path alone). p: the aarch64 kernel's parameters
 * (compilers/lowering/neon_conv.py: add_call; add_s8_neon.h), int32: [n, zp1, zp2, zp_out, lo, hi, then for input 1,
 * input 2 and the output: multiplier, left shift, -right shift, fix (unused here)]. 8 elements at a time; the
 * output may alias an input. Returns 0.
 */
enum { EDGEAI_X86_ADD_N, EDGEAI_X86_ADD_ZP1, EDGEAI_X86_ADD_ZP2, EDGEAI_X86_ADD_ZP_OUT, EDGEAI_X86_ADD_LO,
       EDGEAI_X86_ADD_HI, EDGEAI_X86_ADD_RQ1, EDGEAI_X86_ADD_RQ2 = EDGEAI_X86_ADD_RQ1 + 4,
       EDGEAI_X86_ADD_RQ_OUT = EDGEAI_X86_ADD_RQ2 + 4 };

int32_t edgeai_add_s8_x86(const int8_t* input1, const int8_t* input2, const int32_t* p, int8_t* output);

#endif
