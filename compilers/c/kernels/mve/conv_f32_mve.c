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

/* Two pixels' sums over one tap's C input channels (C >= 1) into a0, a1 (pixel x0) and b0, b1 (x1), 8 channels:
 * per input channel two weight vectors (one post-increment), two scalar inputs, four VFMA. In asm: GCC 12 gives
 * the pair of weight loads an address register and an add of their own (11 instructions, here 9). */
EDGEAI_INLINE void pair_taps(const float* x0, const float* x1, const float* wt, int32_t C, float32x4_t* a0,
                             float32x4_t* a1, float32x4_t* b0, float32x4_t* b1)
{
    float32x4_t t0, t1;
    float u, v;
    __asm__("dls lr, %[n]\n\t"
            "1:\n\t"
            "vldrw.32 %q[t0], [%[wt], #16]\n\t"
            "vldrw.32 %q[t1], [%[wt]], #32\n\t"
            "ldr %[u], [%[x0]], #4\n\t"
            "ldr %[v], [%[x1]], #4\n\t"
            "vfma.f32 %q[a1], %q[t0], %[u]\n\t"
            "vfma.f32 %q[b1], %q[t0], %[v]\n\t"
            "vfma.f32 %q[a0], %q[t1], %[u]\n\t"
            "vfma.f32 %q[b0], %q[t1], %[v]\n\t"
            "le lr, 1b"
            : [a0] "+w"(*a0), [a1] "+w"(*a1), [b0] "+w"(*b0), [b1] "+w"(*b1), [t0] "=&w"(t0), [t1] "=&w"(t1),
              [u] "=&r"(u), [v] "=&r"(v), [x0] "+r"(x0), [x1] "+r"(x1), [wt] "+r"(wt)
            : [n] "r"(C)
            : "memory", "lr");
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
            if (NP == 2) {
                pair_taps(x0, x1, wt, C, &a0, &a1, &b0, &b1);
            } else {
                for (int32_t c = 0; c < C; c++, wt += 8) {
                    a0 = vfmaq_n_f32(a0, vldrwq_f32(wt), x0[c]);
                    a1 = vfmaq_n_f32(a1, vldrwq_f32(wt + 4), x0[c]);
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

/* One pixel x 16 channels (two blocks of 8 from `first`, the second at `next` floats from the first's weights, n
 * channels real, more than 8): per input channel one scalar load, four weight vectors, four VFMA (in asm, as
 * pair_taps: 10 instructions per 16 MACs; GCC's 14). */
EDGEAI_INLINE void tile16(const float* input, const int32_t* base, const edgeai_mvef_window* win, const float* w,
                          size_t next, const float* channel, const int32_t* g, float* const* out, int32_t first,
                          int32_t n)
{
    const int32_t W = g[EDGEAI_MVEF_G_W], C = g[EDGEAI_MVEF_G_C], KW = g[EDGEAI_MVEF_G_KW];
    float32x4_t a0 = vldrwq_f32(channel + first), a1 = vldrwq_f32(channel + first + 4);
    float32x4_t a2 = vldrwq_f32(channel + first + 8), a3 = vldrwq_f32(channel + first + 12);
    for (int32_t kh = win->kh0; kh < win->kh1; kh++) {
        for (int32_t kw = win->kw0; kw < win->kw1; kw++) {
            const float* x = input + base[0] + (kh * W + kw) * C;
            const float* wa = w + (size_t)(kh * KW + kw) * C * 8;
            const float* wb = wa + next;
            float u;
            float32x4_t t0, t1;
            __asm__("dls lr, %[n]\n\t"
                    "1:\n\t"
                    "vldrw.32 %q[t0], [%[wa], #16]\n\t"
                    "vldrw.32 %q[t1], [%[wa]], #32\n\t"
                    "ldr %[u], [%[x]], #4\n\t"
                    "vfma.f32 %q[a1], %q[t0], %[u]\n\t"
                    "vfma.f32 %q[a0], %q[t1], %[u]\n\t"
                    "vldrw.32 %q[t0], [%[wb], #16]\n\t"
                    "vldrw.32 %q[t1], [%[wb]], #32\n\t"
                    "vfma.f32 %q[a3], %q[t0], %[u]\n\t"
                    "vfma.f32 %q[a2], %q[t1], %[u]\n\t"
                    "le lr, 1b"
                    : [a0] "+w"(a0), [a1] "+w"(a1), [a2] "+w"(a2), [a3] "+w"(a3), [t0] "=&w"(t0), [t1] "=&w"(t1),
                      [u] "=&r"(u), [x] "+r"(x), [wa] "+r"(wa), [wb] "+r"(wb)
                    : [n] "r"(C)
                    : "memory", "lr");
        }
    }
    const int32_t OV = (g[EDGEAI_MVEF_G_O] + 7) / 8 * 8;
    const float32x4_t lo = vdupq_n_f32(channel[OV]), hi = vdupq_n_f32(channel[OV + 1]);
    vstrwq_f32(out[0] + first, vminnmq_f32(vmaxnmq_f32(a0, lo), hi));
    vstrwq_f32(out[0] + first + 4, vminnmq_f32(vmaxnmq_f32(a1, lo), hi));
    vstrwq_p_f32(out[0] + first + 8, vminnmq_f32(vmaxnmq_f32(a2, lo), hi), lanes(n, 8));
    vstrwq_p_f32(out[0] + first + 12, vminnmq_f32(vmaxnmq_f32(a3, lo), hi), lanes(n, 12));
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

#if !(defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2))
EDGEAI_INLINE void tile16(const float* input, const int32_t* base, const edgeai_mvef_window* win, const float* w,
                          size_t next, const float* channel, const int32_t* g, float* const* out, int32_t first,
                          int32_t n)
{
    tile(input, base, 1, win, w, channel, g, out, first, 8);
    tile(input, base, 1, win, w + next, channel, g, out, first + 8, n - 8);
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
        int32_t first = 0;
        if (!pair) { /* one pixel: 16 channels per step while two blocks are left */
            for (; first + 8 < O; first += 16) {
                const int32_t n = O - first < 16 ? O - first : 16;
                tile16(input, base, &win, weights + (size_t)(first / 8) * block, block, channel, geom, out, first, n);
            }
        }
        for (; first < O; first += 8) {
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
