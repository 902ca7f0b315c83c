#ifndef EDGEAI_POOL_S8_H
#define EDGEAI_POOL_S8_H
#include <stdint.h>

/*
 * Global AVERAGE_POOL_2D, int8, batch 1, NHWC: one window over all `pixels` (H * W <= 256) points, no padding,
 * `channels` a multiple of 8; TFLite's arithmetic (same quantization in and out): (sum +- pixels / 2) / pixels,
 * halves away from zero, no activation clamp. On Cortex-M DSP cores (SXTAB16), portable C elsewhere
 * (compilers/lowering/dsp_pool.py). Returns 0.
 */
int32_t edgeai_global_avgpool_s8(const int8_t* input, int8_t* output, int32_t pixels, int32_t channels);

#endif
