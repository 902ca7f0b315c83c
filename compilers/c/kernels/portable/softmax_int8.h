#ifndef EDGEAI_SOFTMAX_INT8_H
#define EDGEAI_SOFTMAX_INT8_H
#include <stdint.h>

/* input and output are [outer, depth]; output scale 1/256, zero point -128. Returns 0. */
int32_t edgeai_softmax_int8(const int8_t* input, int8_t* output, int32_t outer, int32_t depth,
                            int32_t input_multiplier, int32_t input_left_shift, int32_t diff_min);

#endif
