/* SOFTMAX float32 as TFLite's reference kernel: exp((x - max) * beta) / sum. C99, returns 0. */
#include <math.h>
#include <stdint.h>

#include "softmax_float.h"

int32_t edgeai_softmax_float(const float* input, float* output, int32_t outer, int32_t depth, float beta)
{
    for (int32_t row = 0; row < outer; ++row) {
        const float* in = input + row * depth;
        float* out = output + row * depth;
        float max_in_row = in[0];
        for (int32_t c = 1; c < depth; ++c) max_in_row = in[c] > max_in_row ? in[c] : max_in_row;
        float sum = 0.0f;
        for (int32_t c = 0; c < depth; ++c) {
            out[c] = expf((in[c] - max_in_row) * beta);
            sum += out[c];
        }
        for (int32_t c = 0; c < depth; ++c) out[c] = out[c] / sum;
    }
    return 0;
}
