/* float32 DEPTHWISE_CONV_2D with Helium (MVE-F); see dwconv_f32_mve.h. */
#include "dwconv_f32_mve.h"

#include "geom_f32_mve.h"

#define EDGEAI_INLINE static inline __attribute__((always_inline))

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#include <arm_mve.h>

/* 8 channels from c of one pixel; `tail`: fewer than 8 are left (n), loaded and stored under predicates. */
EDGEAI_INLINE void block8(const float* x, const float* w, const float* channel, const edgeai_mvef_window* win,
                           const int32_t* g, int32_t cv, int32_t c, int32_t n, const int tail, float* out)
{
    const int32_t W = g[EDGEAI_MVEF_G_W], C = g[EDGEAI_MVEF_G_C], KW = g[EDGEAI_MVEF_G_KW];
    mve_pred16_t p[2];
#pragma GCC unroll 2
    for (int i = 0; i < 2; i++) {
        p[i] = vctp32q((uint32_t)(n > 4 * i ? n - 4 * i : 0));
    }
    float32x4_t acc[2];
#pragma GCC unroll 2
    for (int i = 0; i < 2; i++) {
        acc[i] = vldrwq_f32(channel + c + 4 * i);
    }
    for (int32_t kh = win->kh0; kh < win->kh1; kh++) {
        for (int32_t kw = win->kw0; kw < win->kw1; kw++) {
            const float* xt = x + (kh * W + kw) * C + c;
            const float* wt = w + (size_t)(kh * KW + kw) * cv + c;
        #pragma GCC unroll 2
    for (int i = 0; i < 2; i++) {
                const float32x4_t xv = tail ? vldrwq_z_f32(xt + 4 * i, p[i]) : vldrwq_f32(xt + 4 * i);
                acc[i] = vfmaq_f32(acc[i], xv, vldrwq_f32(wt + 4 * i));
            }
        }
    }
    const float32x4_t lo = vdupq_n_f32(channel[cv]), hi = vdupq_n_f32(channel[cv + 1]);
#pragma GCC unroll 2
    for (int i = 0; i < 2; i++) {
        const float32x4_t y = vminnmq_f32(vmaxnmq_f32(acc[i], lo), hi);
        if (tail) {
            vstrwq_p_f32(out + c + 4 * i, y, p[i]);
        } else {
            vstrwq_f32(out + c + 4 * i, y);
        }
    }
}
#else
EDGEAI_INLINE void block8(const float* x, const float* w, const float* channel, const edgeai_mvef_window* win,
                           const int32_t* g, int32_t cv, int32_t c, int32_t n, const int tail, float* out)
{
    (void)tail;
    const int32_t W = g[EDGEAI_MVEF_G_W], C = g[EDGEAI_MVEF_G_C], KW = g[EDGEAI_MVEF_G_KW];
    for (int32_t j = c; j < c + (n < 8 ? n : 8); j++) {
        float acc = channel[j];
        for (int32_t kh = win->kh0; kh < win->kh1; kh++) {
            for (int32_t kw = win->kw0; kw < win->kw1; kw++) {
                acc += x[(kh * W + kw) * C + j] * w[(size_t)(kh * KW + kw) * cv + j];
            }
        }
        acc = acc < channel[cv] ? channel[cv] : acc;
        out[j] = acc > channel[cv + 1] ? channel[cv + 1] : acc;
    }
}
#endif

int32_t edgeai_dwconv_f32_mve(const float* input, const float* weights, const float* channel, const int32_t* geom,
                              float* output)
{
    const int32_t C = geom[EDGEAI_MVEF_G_C], cv = (C + 7) / 8 * 8;
    const int32_t n_pix = geom[EDGEAI_MVEF_G_OH] * geom[EDGEAI_MVEF_G_OW];
    for (int32_t pix = 0; pix < n_pix; pix++) {
        const edgeai_mvef_window win = edgeai_mvef_window_of(geom, pix);
        const float* x = input + win.base; /* only the window's taps inside the input are read */
        float* out = output + (size_t)pix * C;
        int32_t c = 0;
        for (; c + 8 <= C; c += 8) {
            block8(x, weights, channel, &win, geom, cv, c, 8, 0, out);
        }
        if (c < C) {
            block8(x, weights, channel, &win, geom, cv, c, C - c, 1, out);
        }
    }
    return 0;
}
