#ifndef EDGEAI_GEOM_F32_MVE_H
#define EDGEAI_GEOM_F32_MVE_H
#include <stddef.h>
#include <stdint.h>

/* The Helium float kernels' geometry (compilers/lowering/mve_float.py: _geometry). Padding is not copied into a
 * bordered image (a Cortex-M stack has no room for one): each output pixel sums the taps of its window that fall
 * inside the input, which is the zero padding's sum without its zero terms. */
enum {
    EDGEAI_MVEF_G_H, EDGEAI_MVEF_G_W, EDGEAI_MVEF_G_C, EDGEAI_MVEF_G_OH, EDGEAI_MVEF_G_OW, EDGEAI_MVEF_G_O,
    EDGEAI_MVEF_G_KH, EDGEAI_MVEF_G_KW, EDGEAI_MVEF_G_SH, EDGEAI_MVEF_G_SW, EDGEAI_MVEF_G_PT, EDGEAI_MVEF_G_PL,
    EDGEAI_MVEF_GEOM
};

/* The taps of one output pixel inside the input: rows kh0..kh1-1, columns kw0..kw1-1 of the kernel, and the
 * offset (in floats) of its window's top-left input, tap (0, 0), which may lie outside the input. */
typedef struct {
    int32_t kh0, kh1, kw0, kw1, base;
} edgeai_mvef_window;

static inline edgeai_mvef_window edgeai_mvef_window_of(const int32_t* g, int32_t pix)
{
    const int32_t H = g[EDGEAI_MVEF_G_H], W = g[EDGEAI_MVEF_G_W], OW = g[EDGEAI_MVEF_G_OW];
    const int32_t iy = (pix / OW) * g[EDGEAI_MVEF_G_SH] - g[EDGEAI_MVEF_G_PT];
    const int32_t ix = (pix % OW) * g[EDGEAI_MVEF_G_SW] - g[EDGEAI_MVEF_G_PL];
    const int32_t KH = g[EDGEAI_MVEF_G_KH], KW = g[EDGEAI_MVEF_G_KW];
    edgeai_mvef_window win = {iy < 0 ? -iy : 0, H - iy < KH ? H - iy : KH, ix < 0 ? -ix : 0, W - ix < KW ? W - ix : KW,
                              (iy * W + ix) * g[EDGEAI_MVEF_G_C]};
    return win;
}

/* Whether two pixels' windows keep the same taps (then one tile serves both). */
static inline int edgeai_mvef_same_taps(const edgeai_mvef_window* a, const edgeai_mvef_window* b)
{
    return a->kh0 == b->kh0 && a->kh1 == b->kh1 && a->kw0 == b->kw0 && a->kw1 == b->kw1;
}

#endif
