#ifndef EDGEAI_SOFTMAX_FLOAT_H
#define EDGEAI_SOFTMAX_FLOAT_H
#include <stdint.h>

/* input and output are [outer, depth]. Returns 0. */
int32_t edgeai_softmax_float(const float* input, float* output, int32_t outer, int32_t depth, float beta);

#endif
