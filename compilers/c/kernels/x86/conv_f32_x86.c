/* float32 CONV_2D / FULLY_CONNECTED for x86-64; see conv_f32_x86.h. */
#include "conv_f32_x86.h"

#include "image_f32_x86.h"

/* The top-left input of output pixel `pix` in the (bordered or in-place) image. */
static inline const float* pixel_base(const float* image, const int32_t* g, int32_t pix)
{
    const int32_t OW = g[EDGEAI_X86F_G_OW];
    const int32_t oy = pix / OW, ox = pix % OW;
    return image + ((size_t)oy * g[EDGEAI_X86F_G_SH] * g[EDGEAI_X86F_G_WP] + (size_t)ox * g[EDGEAI_X86F_G_SW]) *
                       g[EDGEAI_X86F_G_C];
}

static void conv_portable(const float* image, const float* weights, const float* channel, const int32_t* g,
                          float* output)
{
    const int32_t C = g[EDGEAI_X86F_G_C], O = g[EDGEAI_X86F_G_O], OV = g[EDGEAI_X86F_G_OV];
    const int32_t KH = g[EDGEAI_X86F_G_KH], KW = g[EDGEAI_X86F_G_KW], WP = g[EDGEAI_X86F_G_WP];
    const int32_t n_pix = g[EDGEAI_X86F_G_OH] * g[EDGEAI_X86F_G_OW];
    const size_t K = (size_t)KH * KW * C;
    for (int32_t pix = 0; pix < n_pix; pix++) {
        const float* p = pixel_base(image, g, pix);
        for (int32_t o = 0; o < O; o++) {
            const float* w = weights + (size_t)(o / 16) * K * 16 + o % 16;
            float acc = channel[o];
            for (int32_t kh = 0; kh < KH; kh++) {
                for (int32_t kw = 0; kw < KW; kw++) {
                    const float* x = p + ((size_t)kh * WP + kw) * C;
                    for (int32_t c = 0; c < C; c++, w += 16) {
                        acc += x[c] * *w;
                    }
                }
            }
            output[(size_t)pix * O + o] = edgeai_x86f_clamp(acc, channel[OV], channel[OV + 1]);
        }
    }
}

#if defined(__x86_64__) && !defined(EDGEAI_X86_PORTABLE)
#include <immintrin.h>

/* NP pixels x NB blocks of 16 channels from block b on: NP * NB * 2 accumulators (at most 8), the inputs
 * broadcast once per (kh, kw, c) and each weight vector loaded once for all NP pixels. */
__attribute__((always_inline, target("avx2,fma"))) static inline void
tile_avx2(const float* const* px, const int NP, const float* weights, int32_t b, const int NB, const float* channel,
          const int32_t* g, float* out)
{
    const int32_t C = g[EDGEAI_X86F_G_C], O = g[EDGEAI_X86F_G_O], OV = g[EDGEAI_X86F_G_OV];
    const int32_t KH = g[EDGEAI_X86F_G_KH], KW = g[EDGEAI_X86F_G_KW], WP = g[EDGEAI_X86F_G_WP];
    const size_t K = (size_t)KH * KW * C;
    __m256 acc[4][4][2];
#pragma GCC unroll 4
    for (int i = 0; i < NP; i++) {
#pragma GCC unroll 4
        for (int j = 0; j < NB; j++) {
            acc[i][j][0] = _mm256_loadu_ps(channel + (b + j) * 16);
            acc[i][j][1] = _mm256_loadu_ps(channel + (b + j) * 16 + 8);
        }
    }
    const float* w = weights + (size_t)b * K * 16;
    for (int32_t kh = 0; kh < KH; kh++) {
        for (int32_t kw = 0; kw < KW; kw++) {
            const size_t off = ((size_t)kh * WP + kw) * C;
            for (int32_t c = 0; c < C; c++, w += 16) {
                __m256 x[4];
#pragma GCC unroll 4
                for (int i = 0; i < NP; i++) {
                    x[i] = _mm256_broadcast_ss(px[i] + off + c);
                }
#pragma GCC unroll 4
                for (int j = 0; j < NB; j++) {
                    const __m256 w0 = _mm256_loadu_ps(w + (size_t)j * K * 16);
                    const __m256 w1 = _mm256_loadu_ps(w + (size_t)j * K * 16 + 8);
#pragma GCC unroll 4
                    for (int i = 0; i < NP; i++) {
                        acc[i][j][0] = _mm256_fmadd_ps(x[i], w0, acc[i][j][0]);
                        acc[i][j][1] = _mm256_fmadd_ps(x[i], w1, acc[i][j][1]);
                    }
                }
            }
        }
    }
    const __m256 lo = _mm256_broadcast_ss(channel + OV), hi = _mm256_broadcast_ss(channel + OV + 1);
#pragma GCC unroll 4
    for (int i = 0; i < NP; i++) {
#pragma GCC unroll 4
        for (int j = 0; j < NB; j++) {
            float tmp[16];
            _mm256_storeu_ps(tmp, _mm256_min_ps(_mm256_max_ps(acc[i][j][0], lo), hi));
            _mm256_storeu_ps(tmp + 8, _mm256_min_ps(_mm256_max_ps(acc[i][j][1], lo), hi));
            const int32_t first = (b + j) * 16, n = O - first < 16 ? O - first : 16;
            memcpy(out + (size_t)i * O + first, tmp, sizeof(float) * (size_t)n);
        }
    }
}

__attribute__((target("avx2,fma"))) static void conv_avx2(const float* image, const float* weights,
                                                          const float* channel, const int32_t* g, float* output)
{
    const int32_t O = g[EDGEAI_X86F_G_O], blocks = g[EDGEAI_X86F_G_OV] / 16;
    const int32_t n_pix = g[EDGEAI_X86F_G_OH] * g[EDGEAI_X86F_G_OW];
    int32_t pix = 0;
    for (; pix + 4 <= n_pix; pix += 4) {
        const float* px[4] = {pixel_base(image, g, pix), pixel_base(image, g, pix + 1), pixel_base(image, g, pix + 2),
                              pixel_base(image, g, pix + 3)};
        for (int32_t b = 0; b < blocks; b++) {
            tile_avx2(px, 4, weights, b, 1, channel, g, output + (size_t)pix * O);
        }
    }
    for (; pix < n_pix; pix++) {
        const float* px[1] = {pixel_base(image, g, pix)};
        float* out = output + (size_t)pix * O;
        int32_t b = 0;
        for (; b + 4 <= blocks; b += 4) {
            tile_avx2(px, 1, weights, b, 4, channel, g, out);
        }
        switch (blocks - b) {
        case 3: tile_avx2(px, 1, weights, b, 3, channel, g, out); break;
        case 2: tile_avx2(px, 1, weights, b, 2, channel, g, out); break;
        case 1: tile_avx2(px, 1, weights, b, 1, channel, g, out); break;
        default: break;
        }
    }
}
#endif

int32_t edgeai_conv_f32_x86(const float* input, const float* weights, const float* channel, const int32_t* geom,
                            float* output)
{
    float bordered[EDGEAI_X86F_MAX_IMAGE];
    const float* image = edgeai_x86f_image(bordered, input, geom);
#if defined(__x86_64__) && !defined(EDGEAI_X86_PORTABLE)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        conv_avx2(image, weights, channel, geom, output);
        return 0;
    }
#endif
    conv_portable(image, weights, channel, geom, output);
    return 0;
}
