#ifndef EDGEAI_CONV_STEM_S8_H
#define EDGEAI_CONV_STEM_S8_H
#include <stdint.h>

/*
 * int8 CONV_2D for inputs of few channels (a CNN's first layer: C <= 4, a window of K = KH * KW * C <= 40
 * values, O even) on Cortex-M cores with the DSP extension (SMLAD), with a portable C fallback that computes the
 * same integers everywhere else. TFLite's requantization (two roundings) only; compilers/lowering/dsp_stem.py
 * decides which layers it takes and prepares:
 *   geom[EDGEAI_STEM_GEOM]  the layer's geometry, indices EDGEAI_STEM_* below;
 *   weights                 the int8 weights, 4 to a word, in the order of the widened stream (conv_stem_s8.c):
 *                           per channel pair, per step of two weight pairs, the word (c0 pair j, c0 pair j+1) and the
 *                           word (c1 pair j, c1 pair j+1), each word's bytes (first pair low, second pair low,
 *                           first pair high, second pair high), so SXTB16 and SXTB16 ROR 8 give the two pairs;
 *   channel[4 * O4]         per output channel: the start value (bias - input_zero_point * sum(weights)) * scale,
 *                           the multiplier, e (the right shift) and 2^(e-1) + (zp_out << e) (cortex_m.py's
 *                           _channel_constants, scale = 1 << geom[EDGEAI_STEM_SHIFT]).
 * Batch 1, NHWC. Both entry points return 0; _clamp also clamps to [ACT_MIN, ACT_MAX] beyond int8 saturation.
 */

enum {
    EDGEAI_STEM_H, EDGEAI_STEM_W, EDGEAI_STEM_C, EDGEAI_STEM_OH, EDGEAI_STEM_OW, EDGEAI_STEM_O, EDGEAI_STEM_KH,
    EDGEAI_STEM_KW, EDGEAI_STEM_SH, EDGEAI_STEM_SW, EDGEAI_STEM_PT, EDGEAI_STEM_PL, EDGEAI_STEM_ZP_IN,
    EDGEAI_STEM_ACT_MIN, EDGEAI_STEM_ACT_MAX,
    EDGEAI_STEM_SHIFT, /* log2 of the scale the weights are widened with (2 << left_shift) */
    EDGEAI_STEM_STEPS, /* steps of two weight pairs per output: ceil(ceil(K / 2) / 2), at most EDGEAI_STEM_MAX_STEPS */
    EDGEAI_STEM_GEOM
};

#define EDGEAI_STEM_MAX_STEPS 10
/* Words of the widened weight stream on the stack; layers with more channel pairs take them in batches. */
#define EDGEAI_STEM_STREAM_WORDS 768

int32_t edgeai_conv_stem_s8(const int8_t* input, const int32_t* weights, const int32_t* channel, const int32_t* geom,
                            int8_t* output);
int32_t edgeai_conv_stem_s8_clamp(const int8_t* input, const int32_t* weights, const int32_t* channel,
                                  const int32_t* geom, int8_t* output);

#endif
