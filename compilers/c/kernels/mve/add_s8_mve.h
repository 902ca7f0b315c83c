#ifndef EDGEAI_ADD_S8_MVE_H
#define EDGEAI_ADD_S8_MVE_H
#include <stdint.h>

/* ADD of two same-shape int8 tensors on Helium (MVE) cores, portable elsewhere (mve_lanes.h). tables and p are
 * the DSP kernel's (compilers/lowering/cortex_m.py: add_constants): each input's rescaled value per byte value
 * ([input 1: 256][input 2: 256], indexed by the byte as unsigned), p = [n, multiplier, e, rounding, lo, hi].
 * edgeai_add_s8_mve: TFLite's arithmetic; _one_rounding: ONNX numerics. The output may alias an input. */
int32_t edgeai_add_s8_mve(const int8_t* input1, const int8_t* input2, const int32_t* tables, const int32_t* p,
                          int8_t* output);
int32_t edgeai_add_s8_mve_one_rounding(const int8_t* input1, const int8_t* input2, const int32_t* tables,
                                       const int32_t* p, int8_t* output);

#endif
