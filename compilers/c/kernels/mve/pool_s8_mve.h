#ifndef EDGEAI_POOL_S8_MVE_H
#define EDGEAI_POOL_S8_MVE_H
#include <stdint.h>

/*
 * AVERAGE_POOL_2D, int8, batch 1, NHWC, any C, on Helium (MVE) cores, portable elsewhere (mve_lanes.h). The
 * average is over the window's points inside the image. geom: indices EDGEAI_PM_* (compilers/lowering/
 * mve_pool.py). edgeai_avgpool_s8_mve, TFLite's: (sum +- count / 2) / count, halves away from zero, same
 * quantization in and out. _one_rounding, ONNX numerics (whole windows only): ((sum - count * zp_in) * M) / 2^T
 * rounded half to even, plus zp_out, where M / 2^T is input scale / (output scale * count). Returns 0.
 */

enum {
    EDGEAI_PM_H, EDGEAI_PM_W, EDGEAI_PM_C, EDGEAI_PM_OH, EDGEAI_PM_OW, EDGEAI_PM_KH, EDGEAI_PM_KW, EDGEAI_PM_SH,
    EDGEAI_PM_SW, EDGEAI_PM_PT, EDGEAI_PM_PL, EDGEAI_PM_ACT_MIN, EDGEAI_PM_ACT_MAX,
    EDGEAI_PM_ZP_IN, EDGEAI_PM_ZP_OUT, EDGEAI_PM_MULT, EDGEAI_PM_TOTAL, /* ONNX numerics only */
    EDGEAI_PM_GEOM
};

int32_t edgeai_avgpool_s8_mve(const int8_t* input, const int32_t* geom, int8_t* output);
int32_t edgeai_avgpool_s8_mve_one_rounding(const int8_t* input, const int32_t* geom, int8_t* output);

#endif
