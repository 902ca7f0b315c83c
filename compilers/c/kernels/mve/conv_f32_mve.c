/* float32 CONV_2D / FULLY_CONNECTED with Helium (MVE-F); see conv_f32_mve.h. */
#include "conv_f32_mve.h"

#include "geom_f32_mve.h"

#define EDGEAI_INLINE static inline __attribute__((always_inline))

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#include <arm_mve.h>

/* Lanes of a block of `n` channels from lane `first` on (0 to 4 of this vector's). */
EDGEAI_INLINE mve_pred16_t lanes(int32_t n, int32_t first)
{
    return vctp32q((uint32_t)(n > first ? n - first : 0));
}

/* NP (1 or 2) pixels sharing the taps of `win`, at input offsets base[], x 8 channels from `first` (n of them
 * real); w: the block's weights. */
EDGEAI_INLINE void tile(const float* input, const int32_t* base, const int NP, const edgeai_mvef_window* win,
                        const float* w, const float* channel, const int32_t* g, float* const* out, int32_t first,
                        int32_t n)
{
    const int32_t W = g[EDGEAI_MVEF_G_W], C = g[EDGEAI_MVEF_G_C], KW = g[EDGEAI_MVEF_G_KW];
    float32x4_t a0 = vldrwq_f32(channel + first), a1 = vldrwq_f32(channel + first + 4);
    float32x4_t b0 = a0, b1 = a1;
    for (int32_t kh = win->kh0; kh < win->kh1; kh++) {
        for (int32_t kw = win->kw0; kw < win->kw1; kw++) {
            const int32_t tap = (kh * W + kw) * C;
            const float* x0 = input + base[0] + tap;
            const float* x1 = input + base[NP - 1] + tap;
            const float* wt = w + (size_t)(kh * KW + kw) * C * 8;
            for (int32_t c = 0; c < C; c++, wt += 8) {
                const float32x4_t w0 = vldrwq_f32(wt), w1 = vldrwq_f32(wt + 4);
                const float u = x0[c], v = x1[c];
                a0 = vfmaq_n_f32(a0, w0, u);
                a1 = vfmaq_n_f32(a1, w1, u);
                if (NP == 2) {
                    b0 = vfmaq_n_f32(b0, w0, v);
                    b1 = vfmaq_n_f32(b1, w1, v);
                }
            }
        }
    }
    const int32_t OV = (g[EDGEAI_MVEF_G_O] + 7) / 8 * 8;
    const float32x4_t lo = vdupq_n_f32(channel[OV]), hi = vdupq_n_f32(channel[OV + 1]);
    vstrwq_p_f32(out[0] + first, vminnmq_f32(vmaxnmq_f32(a0, lo), hi), lanes(n, 0));
    vstrwq_p_f32(out[0] + first + 4, vminnmq_f32(vmaxnmq_f32(a1, lo), hi), lanes(n, 4));
    if (NP == 2) {
        vstrwq_p_f32(out[1] + first, vminnmq_f32(vmaxnmq_f32(b0, lo), hi), lanes(n, 0));
        vstrwq_p_f32(out[1] + first + 4, vminnmq_f32(vmaxnmq_f32(b1, lo), hi), lanes(n, 4));
    }
}
#else
EDGEAI_INLINE void tile(const float* input, const int32_t* base, const int NP, const edgeai_mvef_window* win,
                        const float* w, const float* channel, const int32_t* g, float* const* out, int32_t first,
                        int32_t n)
{
    const int32_t W = g[EDGEAI_MVEF_G_W], C = g[EDGEAI_MVEF_G_C], KW = g[EDGEAI_MVEF_G_KW];
    const int32_t OV = (g[EDGEAI_MVEF_G_O] + 7) / 8 * 8;
    for (int p = 0; p < NP; p++) {
        for (int32_t j = 0; j < n; j++) {
            float acc = channel[first + j];
            for (int32_t kh = win->kh0; kh < win->kh1; kh++) {
                for (int32_t kw = win->kw0; kw < win->kw1; kw++) {
                    const float* x = input + base[p] + (kh * W + kw) * C;
                    const float* wt = w + (size_t)(kh * KW + kw) * C * 8 + j;
                    for (int32_t c = 0; c < C; c++) {
                        acc += x[c] * wt[(size_t)c * 8];
                    }
                }
            }
            acc = acc < channel[OV] ? channel[OV] : acc;
            out[p][first + j] = acc > channel[OV + 1] ? channel[OV + 1] : acc;
        }
    }
}
#endif

int32_t edgeai_conv_f32_mve(const float* input, const float* weights, const float* channel, const int32_t* geom,
                            float* output)
{
    const int32_t O = geom[EDGEAI_MVEF_G_O];
    const int32_t n_pix = geom[EDGEAI_MVEF_G_OH] * geom[EDGEAI_MVEF_G_OW];
    const size_t block = (size_t)geom[EDGEAI_MVEF_G_KH] * geom[EDGEAI_MVEF_G_KW] * geom[EDGEAI_MVEF_G_C] * 8;
    for (int32_t pix = 0; pix < n_pix;) {
        const edgeai_mvef_window win = edgeai_mvef_window_of(geom, pix);
        const edgeai_mvef_window next = pix + 1 < n_pix ? edgeai_mvef_window_of(geom, pix + 1) : win;
        const int pair = pix + 1 < n_pix && edgeai_mvef_same_taps(&win, &next);
        const int32_t base[2] = {win.base, next.base};
        float* const out[2] = {output + (size_t)pix * O, output + (size_t)(pix + 1) * O};
        for (int32_t first = 0; first < O; first += 8) {
            const float* w = weights + (size_t)(first / 8) * block;
            const int32_t n = O - first < 8 ? O - first : 8;
            if (pair) {
                tile(input, base, 2, &win, w, channel, geom, out, first, n);
            } else {
                tile(input, base, 1, &win, w, channel, geom, out, first, n);
            }
        }
        pix += pair ? 2 : 1;
    }
    return 0;
}
