#ifndef EDGEAI_NN_S8_H
#define EDGEAI_NN_S8_H
#include <stdint.h>

/*
 * Hand-written int8 convolution kernels for Cortex-M cores with the DSP extension (SMLAD, SXTB16),
 * with a portable C fallback that computes the same integers everywhere else.
 *
 * Everything layer-specific is prepared at compile time by compilers/lowering/cortex_m.py:
 *   geom[EDGEAI_NN_GEOM]   the layer's geometry and quantization, indices EDGEAI_G_* below;
 *   weights                int16 weights in pairs, one pair per 32-bit word (low half first), pre-packed
 *                          in the order the inner loop reads them, each weight already multiplied by
 *                          its channel's 2 << left_shift; or (the _w8 entry points) the int8 weights
 *                          themselves, 4 to a word, widened in the kernel, the scale applied to the
 *                          accumulator (geom[EDGEAI_G_ACC_SHIFT]);
 *   channel[4 * O4]        per output channel (O rounded up to 4): the accumulator's start value
 *                          ((bias - input_zero_point * sum(weights)) * (2 << left_shift)), then the
 *                          requantization constants of geom[EDGEAI_G_MODE].
 * The input zero point is folded into the start value, so padded input points read the zero point.
 * Batch 1, NHWC. All functions return 0.
 */

enum {
    EDGEAI_G_H, EDGEAI_G_W, EDGEAI_G_C, EDGEAI_G_OH, EDGEAI_G_OW, EDGEAI_G_O, EDGEAI_G_KH, EDGEAI_G_KW,
    EDGEAI_G_SH, EDGEAI_G_SW, EDGEAI_G_PT, EDGEAI_G_PL, EDGEAI_G_ZP_IN, EDGEAI_G_ZP_OUT, EDGEAI_G_ACT_MIN,
    EDGEAI_G_ACT_MAX,
    EDGEAI_G_MODE, /* 0: TFLite's two roundings; 1: one rounding (LiteRT FC; ONNX numerics where no half is
                    * reachable): the constants' layout; the _one_rounding entry points compute mode 1 */
    EDGEAI_G_SEG4, /* conv: KW * C rounded up to a multiple of 4 (the packed weights' row length) */
    EDGEAI_G_DIRECT, /* conv: 1 when KW * C is a multiple of 4, so interior pixels read the input in place */
    EDGEAI_G_SKIP, /* conv: 1 when some group of 4 channels has multipliers 0 (pruned): skip their sums */
    EDGEAI_G_PAIRS, /* depthwise 3x3 stride 1: word offset of the two-row weight layout in weights (0: none) */
    EDGEAI_G_ACC_SHIFT, /* the _w8 entry points (int8 weights): the accumulator's left shift before requantization,
                         * log2 of the 2 << left_shift that int16 weights carry */
    EDGEAI_NN_GEOM,
    /* the tiled conv kernels only (their geom is two longer): the dilation, rows and columns */
    EDGEAI_G_DH = EDGEAI_NN_GEOM, EDGEAI_G_DW, EDGEAI_NN_GEOM_TILED
};

/* Largest im2col patch (KH * SEG4 bytes, on the stack) and depthwise window (KH * KW taps). */
#define EDGEAI_NN_MAX_PATCH 1152
#define EDGEAI_NN_MAX_TAPS 64
#define EDGEAI_NN_MAX_DW_CHANNELS 1024

/* CONV_2D and FULLY_CONNECTED (as a 1x1 convolution over [rows, 1, in_features]), one entry point per kernel
 * variant (compilers/lowering/cortex_m.py's conv_call picks the one a layer runs, so a firmware links only those):
 * _pw_*: 1x1, stride 1, no padding, C % 8 == 0, O % 4 == 0 (clamped: both levels; skip: no clamp, pruned groups;
 * lower: the lower level only; unclamped); the others the general window loop (clamped; gather: rows not a
 * multiple of 4; skip; lower); _one_rounding: geom[EDGEAI_G_MODE] 1.
 * weights: [O4 / 4][KH][SEG4 / 4][4 channels][(w0, w2), (w1, w3)]. */
#define EDGEAI_CONV_ARGS \
    (const int8_t* input, const int32_t* weights, const int32_t* channel, const int32_t* geom, int8_t* output)
int32_t edgeai_conv_s8_pw_clamped EDGEAI_CONV_ARGS;
int32_t edgeai_conv_s8_pw_skip EDGEAI_CONV_ARGS;
int32_t edgeai_conv_s8_pw_lower EDGEAI_CONV_ARGS;
int32_t edgeai_conv_s8_pw_unclamped EDGEAI_CONV_ARGS;
int32_t edgeai_conv_s8_pw_one_rounding EDGEAI_CONV_ARGS;
int32_t edgeai_conv_s8_clamped EDGEAI_CONV_ARGS;
int32_t edgeai_conv_s8_gather EDGEAI_CONV_ARGS;
int32_t edgeai_conv_s8_skip EDGEAI_CONV_ARGS;
int32_t edgeai_conv_s8_lower EDGEAI_CONV_ARGS;
int32_t edgeai_conv_s8_window_one_rounding EDGEAI_CONV_ARGS;
int32_t edgeai_conv_s8_gather_one_rounding EDGEAI_CONV_ARGS;
/* The same with int8 weights, 4 to a word, the accumulator shifted by geom[EDGEAI_G_ACC_SHIFT] before
 * requantization: _2x2 for layers of several output pixels whose window (KH * SEG4 bytes) is at most 576 bytes (two
 * pixels at a time, the activations widened on the stack): [O4 / 2][KH][SEG4 / 4][2 channels][w0, w1, w2, w3
 * (bytes)]; _1x4 (one output pixel): [O4 / 4][KH][SEG4 / 4][4 channels][w0, w1, w2, w3]. */
int32_t edgeai_conv_s8_w8_2x2 EDGEAI_CONV_ARGS;
/* _2x2 with the weights widened on the stack per block of channel pairs (TFLite's requantization, no clamp beyond
 * saturation, O even; the same weights) */
int32_t edgeai_conv_s8_w8_2x2_widened EDGEAI_CONV_ARGS;
int32_t edgeai_conv_s8_w8_1x4 EDGEAI_CONV_ARGS;
int32_t edgeai_conv_s8_w8_2x2_one_rounding EDGEAI_CONV_ARGS;
int32_t edgeai_conv_s8_w8_1x4_one_rounding EDGEAI_CONV_ARGS;
/* Windows longer than EDGEAI_NN_MAX_PATCH (KH * SEG4 bytes) and dilated windows, taken tile by tile: int16 weights
 * (_tiled) or int8 (_w8_tiled: one output pixel) in the order of _1x4 ([O4 / 4][KH][SEG4 / 4][4 channels]); both
 * clamp levels; _one_rounding: geom[EDGEAI_G_MODE] 1. */
int32_t edgeai_conv_s8_tiled EDGEAI_CONV_ARGS;
int32_t edgeai_conv_s8_tiled_one_rounding EDGEAI_CONV_ARGS;
int32_t edgeai_conv_s8_w8_tiled EDGEAI_CONV_ARGS;
int32_t edgeai_conv_s8_w8_tiled_one_rounding EDGEAI_CONV_ARGS;
/* Several output pixels, int8 weights, windows longer than _2x2's (KH * SEG4 > 576 bytes) or dilated: _2x2's tile
 * over the window in pieces, in _2x2's weight order ([O4 / 2][KH][SEG4 / 4][2 channels]); both clamp levels. */
int32_t edgeai_conv_s8_w8_2x2_tiled EDGEAI_CONV_ARGS;
int32_t edgeai_conv_s8_w8_2x2_tiled_one_rounding EDGEAI_CONV_ARGS;

/* DEPTHWISE_CONV_2D with depth multiplier 1 and C a multiple of 4.
 * weights: [C / 4][KH * KW][(w_c0, w_c2), (w_c1, w_c3)], then for 3x3 stride 1 with W * C at most
 * EDGEAI_NN_MAX_DW_CHANNELS (geom[EDGEAI_G_PAIRS] != 0: its word offset) the two-row stream of the two-rows-at-
 * a-time kernel, 48 words per 4 channels (weights, start values, requantization and border constants; see
 * nn_s8.c, EDGEAI_DW_PASS_WORDS, and cortex_m.py, _two_row_stream). */
int32_t edgeai_dwconv_s8(const int8_t* input, const int32_t* weights, const int32_t* channel, const int32_t* geom,
                         int8_t* output);
int32_t edgeai_dwconv_s8_one_rounding(const int8_t* input, const int32_t* weights, const int32_t* channel,
                                      const int32_t* geom, int8_t* output);
/* The same with int8 weights: [C / 4][KH * KW] words, bytes (w_c0, w_c1, w_c2, w_c3); no two-row stream in flash
 * (3x3: each group of 4 channels is widened into the int16 form, stream included, on the stack at run time). */
int32_t edgeai_dwconv_s8_w8(const int8_t* input, const int32_t* weights, const int32_t* channel, const int32_t* geom,
                            int8_t* output);
int32_t edgeai_dwconv_s8_w8_one_rounding(const int8_t* input, const int32_t* weights, const int32_t* channel,
                                         const int32_t* geom, int8_t* output);
/* The same layers, each entry point with only the paths one kind of layer takes (cortex_m.py: dwconv_variant), so
 * a firmware links only those: the four above take any window tap by tap; _3x3: 3x3, one pixel at a time; _3x3s1:
 * 3x3 stride 1, two rows at a time where the window allows. Without _clamp the activation range must be
 * [-128, 127] (otherwise they return -1). Names: edgeai_dwconv_s8[_w8]{_3x3,_3x3s1}[_clamp][_one_rounding]. */
#define EDGEAI_DW_DECLARE(NAME)                                                                                  \
    int32_t NAME(const int8_t* input, const int32_t* weights, const int32_t* channel, const int32_t* geom,        \
                 int8_t* output);
#define EDGEAI_DW_DECLARE_KIND(BASE)                                                                             \
    EDGEAI_DW_DECLARE(BASE) EDGEAI_DW_DECLARE(BASE##_clamp) EDGEAI_DW_DECLARE(BASE##_one_rounding)               \
    EDGEAI_DW_DECLARE(BASE##_clamp_one_rounding)
EDGEAI_DW_DECLARE_KIND(edgeai_dwconv_s8_3x3)
EDGEAI_DW_DECLARE_KIND(edgeai_dwconv_s8_3x3s1)
EDGEAI_DW_DECLARE_KIND(edgeai_dwconv_s8_w8_3x3)
EDGEAI_DW_DECLARE_KIND(edgeai_dwconv_s8_w8_3x3s1)
#undef EDGEAI_DW_DECLARE_KIND
#undef EDGEAI_DW_DECLARE

/* ADD of two same-shape int8 tensors; tables: each input's rescaling per byte value, p: [n, multiplier, e,
 * rounding, lo, hi] (TFLite's arithmetic; _one_rounding: ONNX numerics; compilers/lowering/cortex_m.py:
 * add_call). */
int32_t edgeai_add_s8(const int8_t* input1, const int8_t* input2, const int32_t* tables, const int32_t* p,
                      int8_t* output);
int32_t edgeai_add_s8_one_rounding(const int8_t* input1, const int8_t* input2, const int32_t* tables, const int32_t* p,
                                   int8_t* output);
/* ADD whose output is the high halfword of the sum of two table entries (either numerics: the tables are solved at
 * compile time against every pair of input bytes, cortex_m.py: add_sum_tables); tables: [input 1: 256][input 2:
 * 256] int32, p: [n, lo, hi - lo]. The output may alias an input. */
int32_t edgeai_add_s8_sum16(const int8_t* input1, const int8_t* input2, const int32_t* tables, const int32_t* p,
                            int8_t* output);

#endif
