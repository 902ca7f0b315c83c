/* float32 DEPTHWISE_CONV_2D for x86-64; see dwconv_f32_x86.h. */
#include "dwconv_f32_x86.h"

#include "image_f32_x86.h"

static inline const float* window(const float* image, const int32_t* g, int32_t oy, int32_t ox)
{
    return image + ((size_t)oy * g[EDGEAI_X86F_G_SH] * g[EDGEAI_X86F_G_WP] + (size_t)ox * g[EDGEAI_X86F_G_SW]) *
                       g[EDGEAI_X86F_G_C];
}

static void dwconv_portable(const float* image, const float* weights, const float* channel, const int32_t* g,
                            float* output)
{
    const int32_t C = g[EDGEAI_X86F_G_C], OV = g[EDGEAI_X86F_G_OV], WP = g[EDGEAI_X86F_G_WP];
    const int32_t KH = g[EDGEAI_X86F_G_KH], KW = g[EDGEAI_X86F_G_KW];
    for (int32_t oy = 0; oy < g[EDGEAI_X86F_G_OH]; oy++) {
        for (int32_t ox = 0; ox < g[EDGEAI_X86F_G_OW]; ox++) {
            const float* p = window(image, g, oy, ox);
            float* out = output + ((size_t)oy * g[EDGEAI_X86F_G_OW] + ox) * C;
            for (int32_t c = 0; c < C; c++) {
                float acc = channel[c];
                for (int32_t kh = 0; kh < KH; kh++) {
                    for (int32_t kw = 0; kw < KW; kw++) {
                        acc += p[((size_t)kh * WP + kw) * C + c] * weights[((size_t)kh * KW + kw) * OV + c];
                    }
                }
                out[c] = edgeai_x86f_clamp(acc, channel[OV], channel[OV + 1]);
            }
        }
    }
}

#if defined(__x86_64__) && !defined(EDGEAI_X86_PORTABLE)
#include <immintrin.h>

__attribute__((target("avx2,fma"))) static void dwconv_avx2(const float* image, const float* weights,
                                                            const float* channel, const int32_t* g, float* output)
{
    const int32_t C = g[EDGEAI_X86F_G_C], OV = g[EDGEAI_X86F_G_OV], WP = g[EDGEAI_X86F_G_WP];
    const int32_t KH = g[EDGEAI_X86F_G_KH], KW = g[EDGEAI_X86F_G_KW];
    const int32_t full = C / 8 * 8;
    /* the last partial vector's lanes: -1 (all bits set) for the channels that exist */
    int32_t lanes[8];
    for (int i = 0; i < 8; i++) {
        lanes[i] = full + i < C ? -1 : 0;
    }
    const __m256i mask = _mm256_loadu_si256((const __m256i*)(const void*)lanes);
    const __m256 lo = _mm256_broadcast_ss(channel + OV), hi = _mm256_broadcast_ss(channel + OV + 1);
    for (int32_t oy = 0; oy < g[EDGEAI_X86F_G_OH]; oy++) {
        for (int32_t ox = 0; ox < g[EDGEAI_X86F_G_OW]; ox++) {
            const float* p = window(image, g, oy, ox);
            float* out = output + ((size_t)oy * g[EDGEAI_X86F_G_OW] + ox) * C;
            int32_t c = 0;
            for (; c < full; c += 8) {
                __m256 acc = _mm256_loadu_ps(channel + c);
                for (int32_t kh = 0; kh < KH; kh++) {
                    const float* x = p + (size_t)kh * WP * C + c;
                    const float* w = weights + (size_t)kh * KW * OV + c;
                    for (int32_t kw = 0; kw < KW; kw++) {
                        acc = _mm256_fmadd_ps(_mm256_loadu_ps(x + (size_t)kw * C), _mm256_loadu_ps(w + (size_t)kw * OV),
                                              acc);
                    }
                }
                _mm256_storeu_ps(out + c, _mm256_min_ps(_mm256_max_ps(acc, lo), hi));
            }
            if (c < C) {
                __m256 acc = _mm256_loadu_ps(channel + c);
                for (int32_t kh = 0; kh < KH; kh++) {
                    const float* x = p + (size_t)kh * WP * C + c;
                    const float* w = weights + (size_t)kh * KW * OV + c;
                    for (int32_t kw = 0; kw < KW; kw++) {
                        acc = _mm256_fmadd_ps(_mm256_maskload_ps(x + (size_t)kw * C, mask),
                                              _mm256_loadu_ps(w + (size_t)kw * OV), acc);
                    }
                }
                _mm256_maskstore_ps(out + c, mask, _mm256_min_ps(_mm256_max_ps(acc, lo), hi));
            }
        }
    }
}
#endif

int32_t edgeai_dwconv_f32_x86(const float* input, const float* weights, const float* channel, const int32_t* geom,
                              float* output)
{
    float bordered[EDGEAI_X86F_MAX_IMAGE];
    const float* image = edgeai_x86f_image(bordered, input, geom);
#if defined(__x86_64__) && !defined(EDGEAI_X86_PORTABLE)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        dwconv_avx2(image, weights, channel, geom, output);
        return 0;
    }
#endif
    dwconv_portable(image, weights, channel, geom, output);
    return 0;
}
