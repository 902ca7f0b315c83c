/* int8 CONV_2D / FULLY_CONNECTED for x86-64; see conv_s8_x86.h.
 *
 * Inner product: per 4 patch bytes (offset by +128 to unsigned: XOR 0x80) broadcast to 8 lanes, VPDPBUSD adds
 * each of 8 channels' 4 products (u8 x s8, exact in int32) to its lane: a tile is 4 pixels x 16 channels (8
 * accumulators), each weight load serving 4 pixels and each broadcast 16 channels. Without VNNI the AVX2 path
 * computes the same sums exactly: the bytes' even and odd halves widened to 16 bits, two VPMADDWD (VPMADDUBSW would
 * saturate). The portable path is the same integers in scalar C. */
#include "conv_s8_x86.h"

#include "im2col_s8_x86.h"
#include "requant_s8_x86.h"

/* The portable path: the same layout and integers, one pixel and one channel at a time. */
static void conv_portable(const int8_t* input, const int8_t* weights, const int32_t* channel, const int32_t* g,
                          int8_t* output, int8_t* patch, int8_t* bordered)
{
    const int32_t O = g[EDGEAI_X86_G_O], OP = g[EDGEAI_X86_G_OP], K16 = g[EDGEAI_X86_G_K16], mode = g[EDGEAI_X86_G_MODE];
    const int32_t n_pix = g[EDGEAI_X86_G_OH] * g[EDGEAI_X86_G_OW];
    const int8_t* image = edgeai_x86_padded_image(bordered, input, g);
    for (int32_t pix = 0; pix < n_pix; pix++) {
        const int8_t* p;
        edgeai_x86_patches(&p, 1, pix, image, patch, g);
        for (int32_t o = 0; o < O; o++) {
            const int8_t* w = weights + (size_t)(o / 8) * 8 * K16 + 4 * (o % 8);
            uint32_t acc = (uint32_t)channel[o]; /* wraps modulo 2^32 as TFLite's int32 accumulator */
            for (int32_t k = 0; k < K16; k++) {
                acc += (uint32_t)(((int32_t)p[k] + 128) * w[(k / 4) * 32 + k % 4]);
            }
            output[(size_t)pix * O + o] = edgeai_x86_clamp1(edgeai_x86_rq1((int32_t)acc, channel, OP, o, mode),
                                                            g[EDGEAI_X86_G_ZP_OUT], g[EDGEAI_X86_G_ACT_MIN],
                                                            g[EDGEAI_X86_G_ACT_MAX]);
        }
    }
}

#if defined(__x86_64__) && !defined(EDGEAI_X86_PORTABLE)

/* AVX2: the even and odd bytes of each 16-bit pair, unsigned inputs and signed weights, as 16-bit values. */
typedef struct {
    __m256i even, odd;
} x86_pairs;

__attribute__((always_inline, target("avx2"))) static inline x86_pairs avx2_split_u8(__m256i v)
{
    x86_pairs r = {_mm256_and_si256(v, _mm256_set1_epi16(0xFF)), _mm256_srli_epi16(v, 8)};
    return r;
}

__attribute__((always_inline, target("avx2"))) static inline x86_pairs avx2_split_s8(__m256i v)
{
    x86_pairs r = {_mm256_srai_epi16(_mm256_slli_epi16(v, 8), 8), _mm256_srai_epi16(v, 8)};
    return r;
}

__attribute__((always_inline, target("avx2"))) static inline __m256i avx2_mac(__m256i acc, x86_pairs x, x86_pairs w)
{
    return _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(x.even, w.even), _mm256_madd_epi16(x.odd, w.odd)));
}

#define X86_TARGET "avx2"
#define X86_NAME(f) f##_avx2
#define X86_WT x86_pairs
#define X86_XT x86_pairs
#define X86_PREP_W(v) avx2_split_s8(v)
#define X86_PREP_X(v) avx2_split_u8(v)
#define X86_MAC(acc, x, w) avx2_mac(acc, x, w)
#include "conv_tile_s8_x86.h"
#undef X86_TARGET
#undef X86_NAME
#undef X86_WT
#undef X86_XT
#undef X86_PREP_W
#undef X86_PREP_X
#undef X86_MAC

#if !defined(EDGEAI_X86_NO_VNNI)
#define X86_WT __m256i
#define X86_XT __m256i
#define X86_PREP_W(v) (v)
#define X86_PREP_X(v) (v)

#define X86_TARGET "avx2,avxvnni"
#define X86_NAME(f) f##_avxvnni
#define X86_MAC(acc, x, w) _mm256_dpbusd_avx_epi32(acc, x, w)
#include "conv_tile_s8_x86.h"
#undef X86_TARGET
#undef X86_NAME
#undef X86_MAC

#define X86_TARGET "avx2,avx512vnni,avx512vl"
#define X86_NAME(f) f##_avx512vnni
#define X86_MAC(acc, x, w) _mm256_dpbusd_epi32(acc, x, w)
#include "conv_tile_s8_x86.h"
#undef X86_TARGET
#undef X86_NAME
#undef X86_MAC
#endif
#endif

int32_t edgeai_conv_s8_x86(const int8_t* input, const int8_t* weights, const int32_t* channel, const int32_t* geom,
                           int8_t* output)
{
    int8_t patch[4 * EDGEAI_X86_PATCH_STRIDE(EDGEAI_X86_MAX_K16)];
    int8_t bordered[EDGEAI_X86_MAX_IMAGE + 16];
    if (!geom[EDGEAI_X86_G_DIRECT]) { /* the bytes past K no row spills into meet zero weights: give them a value */
        memset(patch, 0, (size_t)4 * (size_t)EDGEAI_X86_PATCH_STRIDE(geom[EDGEAI_X86_G_K16]));
    }
#if defined(__x86_64__) && !defined(EDGEAI_X86_PORTABLE)
#if !defined(EDGEAI_X86_NO_VNNI)
    if (__builtin_cpu_supports("avxvnni")) {
        conv_layer_avxvnni(input, weights, channel, geom, output, patch, bordered);
        return 0;
    }
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl")) {
        conv_layer_avx512vnni(input, weights, channel, geom, output, patch, bordered);
        return 0;
    }
#endif
    if (__builtin_cpu_supports("avx2")) {
        conv_layer_avx2(input, weights, channel, geom, output, patch, bordered);
        return 0;
    }
#endif
    conv_portable(input, weights, channel, geom, output, patch, bordered);
    return 0;
}
