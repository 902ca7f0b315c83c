#ifndef EDGEAI_SOFTMAX_INT16_H
#define EDGEAI_SOFTMAX_INT16_H
#include <stdint.h>

/* input and output are [outer, depth], int16 with zero point 0; exp_lut and one_over_one_plus_x_lut hold 513
 * entries each (compilers/lowering/softmax.py). Returns 0. */
int32_t edgeai_softmax_int16(const int16_t* input, int16_t* output, int32_t outer, int32_t depth,
                             int32_t input_multiplier, int32_t input_shift, const int16_t* exp_lut,
                             const int16_t* one_over_one_plus_x_lut);

#endif
