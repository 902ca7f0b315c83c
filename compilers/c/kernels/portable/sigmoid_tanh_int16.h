#ifndef EDGEAI_SIGMOID_TANH_INT16_H
#define EDGEAI_SIGMOID_TANH_INT16_H
#include <stdint.h>

/* input and output hold `size` int16 values, zero point 0, output scale 1/32768; multiplier and shift take the
 * input to the table's units, table holds 256 entries of sigmoid(i / 24) in 0.16 format
 * (compilers/lowering/sigmoid_tanh_int16.py). Return 0. */
int32_t edgeai_sigmoid_int16(const int16_t* input, int16_t* output, int32_t size, int32_t multiplier,
                             int32_t shift, const int32_t* table);
int32_t edgeai_tanh_int16(const int16_t* input, int16_t* output, int32_t size, int32_t multiplier, int32_t shift,
                          const int32_t* table);

#endif
