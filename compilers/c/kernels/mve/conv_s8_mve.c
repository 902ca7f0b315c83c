/* int8 CONV_2D / FULLY_CONNECTED with Helium (MVE); see conv_s8_mve.h.
 *
 * The inner loop: two output pixels x four output channels. Per 16 input bytes: two input loads (one per
 * pixel), four weight loads (one per channel), eight VMLADAVA.S8 (16 int8 products summed into a scalar
 * accumulator) and the loop's SUBS/BPL: 16 instructions per 128 MACs. The weights stay int8 (VMLADAVA multiplies
 * int8 lanes directly). A row whose length is not a multiple of 16 ends with a predicated load (VCTP): the lanes
 * past the row read nothing and count zero.
 *
 * Requantization, four channels at once (the accumulators moved into one vector), TFLite's arithmetic exactly:
 *   acc << left (VSHL), SaturatingRoundingDoublingHighMul(acc, M) = VQRDMULH (same rounding, same saturation),
 *   RoundingDivideByPOT(r, e) = VRSHL(r + (r < 0 && e > 0 ? -1 : 0), -e): VRSHL rounds halves up, TFLite away
 *   from zero, so a negative value is moved down by one first ((r & -e) >> 31 is -1 exactly then).
 * The single rounding (LiteRT FC, ONNX numerics) needs a 64-bit product: scalar SMLAL per output, with the DSP
 * kernels' constants (compilers/lowering/cortex_m.py, _channel_constants).
 */
#include "conv_s8_mve.h"

#include <string.h>

#define EDGEAI_INLINE static inline __attribute__((always_inline))

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#define EDGEAI_HELIUM 1
#else
#define EDGEAI_HELIUM 0
#endif

/* n bytes from src to dst, and n bytes of value v to dst (window gathering; n small, so no library call). */
EDGEAI_INLINE void copy_bytes(int8_t* dst, const int8_t* src, int32_t n)
{
#if EDGEAI_HELIUM
    for (; n > 0; n -= 16, dst += 16, src += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)n);
        vstrbq_p_s8(dst, vldrbq_z_s8(src, p), p);
    }
#else
    memcpy(dst, src, (size_t)(n > 0 ? n : 0));
#endif
}

EDGEAI_INLINE void fill_bytes(int8_t* dst, int32_t v, int32_t n)
{
#if EDGEAI_HELIUM
    const int8x16_t x = vdupq_n_s8((int8_t)v);
    for (; n > 0; n -= 16, dst += 16) {
        vstrbq_p_s8(dst, x, vctp8q((uint32_t)n));
    }
#else
    memset(dst, v, (size_t)(n > 0 ? n : 0));
#endif
}

/* Eight accumulators: pixel 0 channels 0-3, pixel 1 channels 0-3. */
typedef struct {
    int32_t a[8];
} acc8;

#if EDGEAI_HELIUM
/* One 16-byte chunk of two pixels x four channels (asm text; OP: vmladav to start the sums, vmladava to add). */
#define EDGEAI_CHUNK_2X4(OP)                                 \
    "vldrb.8 %q[u], [%[x0]], #16\n\t"                      \
    "vldrb.8 %q[v], [%[x1]], #16\n\t"                      \
    "vldrb.8 %q[k], [%[w]], #16\n\t"                       \
    OP " %[a0], %q[u], %q[k]\n\t"                          \
    OP " %[b0], %q[v], %q[k]\n\t"                          \
    "vldrb.8 %q[k], [%[w]], #16\n\t"                       \
    OP " %[a1], %q[u], %q[k]\n\t"                          \
    OP " %[b1], %q[v], %q[k]\n\t"                          \
    "vldrb.8 %q[k], [%[w]], #16\n\t"                       \
    OP " %[a2], %q[u], %q[k]\n\t"                          \
    OP " %[b2], %q[v], %q[k]\n\t"                          \
    "vldrb.8 %q[k], [%[w]], #16\n\t"                       \
    OP " %[a3], %q[u], %q[k]\n\t"                          \
    OP " %[b3], %q[v], %q[k]\n\t"
#endif

#if !EDGEAI_HELIUM
/* The portable path of row_2x4 (below): two pixels (x0, x1) x four channels over n input bytes; w: [n / 16
 * rounded up][4 channels][16]. first: the sums start here (else they are added to). */
EDGEAI_INLINE void dot_2x4(const int8_t* x0, const int8_t* x1, const int8_t* w, int32_t n, acc8* acc, int32_t first)
{
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
    if (!first) {
        a0 = acc->a[0], a1 = acc->a[1], a2 = acc->a[2], a3 = acc->a[3];
        b0 = acc->a[4], b1 = acc->a[5], b2 = acc->a[6], b3 = acc->a[7];
    }
    for (int32_t i = 0; i < n; i++) {
        const int8_t* k = w + (i / 16) * 64 + i % 16;
        a0 += x0[i] * k[0], a1 += x0[i] * k[16], a2 += x0[i] * k[32], a3 += x0[i] * k[48];
        b0 += x1[i] * k[0], b1 += x1[i] * k[16], b2 += x1[i] * k[32], b3 += x1[i] * k[48];
    }
    acc->a[0] = a0, acc->a[1] = a1, acc->a[2] = a2, acc->a[3] = a3;
    acc->a[4] = b0, acc->a[5] = b1, acc->a[6] = b2, acc->a[7] = b3;
}
#endif

#if EDGEAI_HELIUM
/* One window row (n bytes) of two pixels x four channels, start to finish in one asm block: the full chunks (the
 * first starts the sums with VMLADAV), then the last n % 16 bytes under a VCTP predicate (the lanes past the row
 * read nothing; the weights are zero-padded), then the sums moved into two vectors (pixel 0, pixel 1; lane =
 * channel; VMOV of two lanes takes lane idx-2's register first), so GCC keeps no scalar sum alive outside the
 * block. In asm because VMLADAV's accumulator must be an even register ("Te"): the eight sums take r0, r2, ...,
 * lr, GCC's C version spilled one, and the loop counts down with SUBS/BPL (LE would need lr). "p0" is VPR. */
EDGEAI_INLINE void row_2x4(const int8_t* x0, const int8_t* x1, const int8_t* w, int32_t n, int32x4_t* p0,
                           int32x4_t* p1)
{
    int32_t a0, a1, a2, a3, b0, b1, b2, b3;
    int8x16_t u, v, k;
    int32x4_t p, q;
    __asm__("subs %[n], %[n], #16\n\t"
            "bpl 5f\n\t"
            "movs %[a0], #0\n\t"
            "movs %[a1], #0\n\t"
            "movs %[a2], #0\n\t"
            "movs %[a3], #0\n\t"
            "movs %[b0], #0\n\t"
            "movs %[b1], #0\n\t"
            "movs %[b2], #0\n\t"
            "movs %[b3], #0\n\t"
            "b 2f\n\t"
            "5:\n\t" EDGEAI_CHUNK_2X4("vmladav.s8") "subs %[n], %[n], #16\n\t"
            "bmi 2f\n\t"
            "1:\n\t" EDGEAI_CHUNK_2X4("vmladava.s8") "subs %[n], %[n], #16\n\t"
            "bpl 1b\n\t"
            "2:\n\t"
            "adds %[n], %[n], #16\n\t" /* the bytes left, 0..15 */
            "beq 3f\n\t"
            "vctp.8 %[n]\n\t"
            "vpstt\n\t"
            "vldrbt.8 %q[u], [%[x0]]\n\t"
            "vldrbt.8 %q[v], [%[x1]]\n\t"
            "vldrb.8 %q[k], [%[w]], #16\n\t"
            "vmladava.s8 %[a0], %q[u], %q[k]\n\t"
            "vmladava.s8 %[b0], %q[v], %q[k]\n\t"
            "vldrb.8 %q[k], [%[w]], #16\n\t"
            "vmladava.s8 %[a1], %q[u], %q[k]\n\t"
            "vmladava.s8 %[b1], %q[v], %q[k]\n\t"
            "vldrb.8 %q[k], [%[w]], #16\n\t"
            "vmladava.s8 %[a2], %q[u], %q[k]\n\t"
            "vmladava.s8 %[b2], %q[v], %q[k]\n\t"
            "vldrb.8 %q[k], [%[w]], #16\n\t"
            "vmladava.s8 %[a3], %q[u], %q[k]\n\t"
            "vmladava.s8 %[b3], %q[v], %q[k]\n\t"
            "3:\n\t"
            "vmov %q[p][2], %q[p][0], %[a0], %[a2]\n\t"
            "vmov %q[p][3], %q[p][1], %[a1], %[a3]\n\t"
            "vmov %q[q][2], %q[q][0], %[b0], %[b2]\n\t"
            "vmov %q[q][3], %q[q][1], %[b1], %[b3]\n\t"
            : [a0] "=&Te"(a0), [a1] "=&Te"(a1), [a2] "=&Te"(a2), [a3] "=&Te"(a3), [b0] "=&Te"(b0),
              [b1] "=&Te"(b1), [b2] "=&Te"(b2), [b3] "=&Te"(b3), [x0] "+r"(x0), [x1] "+r"(x1), [w] "+r"(w),
              [n] "+r"(n), [u] "=&w"(u), [v] "=&w"(v), [k] "=&w"(k), [p] "=&w"(p), [q] "=&w"(q)
            :
            : "memory", "cc", "p0");
    *p0 = p, *p1 = q;
}
#endif

/* One pixel x four channels (the odd last pixel; fully connected with one row). */
EDGEAI_INLINE void dot_1x4(const int8_t* x0, const int8_t* w, int32_t n, acc8* acc)
{
    int32_t a0 = acc->a[0], a1 = acc->a[1], a2 = acc->a[2], a3 = acc->a[3];
#if EDGEAI_HELIUM
    for (; n >= 16; n -= 16, x0 += 16, w += 64) {
        const int8x16_t u = vldrbq_s8(x0);
        a0 = vmladavaq_s8(a0, u, vldrbq_s8(w));
        a1 = vmladavaq_s8(a1, u, vldrbq_s8(w + 16));
        a2 = vmladavaq_s8(a2, u, vldrbq_s8(w + 32));
        a3 = vmladavaq_s8(a3, u, vldrbq_s8(w + 48));
    }
    if (n > 0) {
        const int8x16_t u = vldrbq_z_s8(x0, vctp8q((uint32_t)n));
        a0 = vmladavaq_s8(a0, u, vldrbq_s8(w));
        a1 = vmladavaq_s8(a1, u, vldrbq_s8(w + 16));
        a2 = vmladavaq_s8(a2, u, vldrbq_s8(w + 32));
        a3 = vmladavaq_s8(a3, u, vldrbq_s8(w + 48));
    }
#else
    for (int32_t i = 0; i < n; i++) {
        const int8_t* k = w + (i / 16) * 64 + i % 16;
        a0 += x0[i] * k[0], a1 += x0[i] * k[16], a2 += x0[i] * k[32], a3 += x0[i] * k[48];
    }
#endif
    acc->a[0] = a0, acc->a[1] = a1, acc->a[2] = a2, acc->a[3] = a3;
}

/* The window of output pixel p: a pointer to its first row, rows `*stride` bytes apart. Inside the image (and
 * not FLAT) the window is read in place; otherwise it is gathered into `patch`, outside the image reading the
 * input zero point. */
EDGEAI_INLINE const int8_t* window(const int8_t* input, const int32_t* g, int32_t p, int8_t* patch, int32_t* stride)
{
    const int32_t H = g[EDGEAI_MVE_H], W = g[EDGEAI_MVE_W], C = g[EDGEAI_MVE_C], OW = g[EDGEAI_MVE_OW];
    const int32_t KH = g[EDGEAI_MVE_KH], KW = g[EDGEAI_MVE_KW], zp = g[EDGEAI_MVE_ZP_IN];
    const int32_t oy = p / OW, ox = p - oy * OW;
    const int32_t iy0 = oy * g[EDGEAI_MVE_SH] - g[EDGEAI_MVE_PT], ix0 = ox * g[EDGEAI_MVE_SW] - g[EDGEAI_MVE_PL];
    const int32_t flat = g[EDGEAI_MVE_FLAT];
    if (!flat && iy0 >= 0 && ix0 >= 0 && iy0 + KH <= H && ix0 + KW <= W) {
        *stride = W * C;
        return input + (iy0 * W + ix0) * C;
    }
    const int32_t row = KW * C, pitch = flat ? row : g[EDGEAI_MVE_SEG];
    const int32_t kx0 = ix0 < 0 ? -ix0 : 0, kx1 = ix0 + KW > W ? W - ix0 : KW;
    for (int32_t ky = 0; ky < KH; ky++) {
        int8_t* dst = patch + ky * pitch;
        const int32_t iy = iy0 + ky;
        if (iy < 0 || iy >= H || kx1 <= kx0) {
            fill_bytes(dst, zp, row);
            continue;
        }
        fill_bytes(dst, zp, kx0 * C);
        copy_bytes(dst + kx0 * C, input + (iy * W + ix0 + kx0) * C, (kx1 - kx0) * C);
        fill_bytes(dst + kx1 * C, zp, (KW - kx1) * C);
    }
    *stride = pitch;
    return patch;
}

EDGEAI_INLINE int32_t clamp_to(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* The single rounding of the DSP kernels, c: [start2, multiplier, rounding, shift] (4 lanes each), lane k. */
EDGEAI_INLINE int32_t one_rounding(int32_t acc, const int32_t* c, int32_t k, int32_t lo, int32_t hi)
{
    const int32_t acc2 = (int32_t)((uint32_t)acc * 2u + (uint32_t)c[k]);
    const int64_t p = (int64_t)acc2 * c[4 + k] + (int64_t)((uint64_t)(uint32_t)c[8 + k] << 32);
    return clamp_to((int32_t)(p >> 32) >> c[12 + k], lo, hi);
}

#if EDGEAI_HELIUM
/* TFLite's requantization of four channels (see the top), c: [start, left, multiplier, -right, offset][4].
 * right: every channel shifts right by at least 1, so the sign of the sum before the multiplication can move
 * negative values down (it differs from the product's only when the product is 0, where both round to 0). */
EDGEAI_INLINE int32x4_t requantize4(int32x4_t x, const int32_t* c, int32_t left, int32_t right, int32x4_t lo,
                                    int32x4_t hi)
{
    x = vaddq_s32(x, vldrwq_s32(c));
    const int32x4_t neg_right = vldrwq_s32(c + 12);
    int32x4_t fix;
    if (right) {
        fix = vshrq_n_s32(x, 31);
    }
    if (left) {
        x = vshlq_s32(x, vldrwq_s32(c + 4));
    }
    x = vqrdmulhq_s32(x, vldrwq_s32(c + 8));
    if (!right) {
        fix = vshrq_n_s32(vandq_s32(x, neg_right), 31);
    }
    x = vqaddq_s32(x, fix);
    x = vaddq_s32(vrshlq_s32(x, neg_right), vldrwq_s32(c + 16));
    return vminq_s32(vmaxq_s32(x, lo), hi);
}

/* Requantize pixel 0 (x0) and, when two, pixel 1 (x1), four channels each; store the first n (1..4) of each. */
EDGEAI_INLINE void store_vectors(int32x4_t x0, int32x4_t x1, const int32_t* c, int8_t* out0, int8_t* out1,
                                 int32_t two, int32_t n, int32_t left, int32_t right, int32_t lo, int32_t hi)
{
    const int32x4_t vlo = vdupq_n_s32(lo), vhi = vdupq_n_s32(hi);
    x0 = requantize4(x0, c, left, right, vlo, vhi);
    x1 = requantize4(x1, c, left, right, vlo, vhi);
    if (n == 4) {
        vstrbq_s32(out0, x0);
        if (two) {
            vstrbq_s32(out1, x1);
        }
    } else {
        const mve_pred16_t p = vctp32q((uint32_t)n);
        vstrbq_p_s32(out0, x0, p);
        if (two) {
            vstrbq_p_s32(out1, x1, p);
        }
    }
}
#else
EDGEAI_INLINE int32_t sat_rounding_doubling_high_mul(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    return (int32_t)(((int64_t)a * b + (INT64_C(1) << 30)) >> 31); /* floor form: VQRDMULH */
}

EDGEAI_INLINE int32_t requantize1(int32_t acc, const int32_t* c, int32_t k, int32_t lo, int32_t hi)
{
    int32_t x = (int32_t)((uint32_t)acc + (uint32_t)c[k]);
    x = (int32_t)((uint32_t)x << c[4 + k]);
    x = sat_rounding_doubling_high_mul(x, c[8 + k]);
    const int32_t e = -c[12 + k];
    if (e > 0) {
        x = (int32_t)(((int64_t)x - (x < 0) + (INT64_C(1) << (e - 1))) >> e);
    }
    return clamp_to(x + c[16 + k], lo, hi);
}
#endif

/* Requantize the four channels of pixel 0 (acc a[0..3]) and, when two, of pixel 1 (a[4..7]); store the first n
 * (1..4) of each at out0, out1. */
EDGEAI_INLINE void store_pixels(const acc8* acc, const int32_t* c, int8_t* out0, int8_t* out1, int32_t two,
                                int32_t n, int32_t mode, int32_t left, int32_t right, int32_t lo, int32_t hi)
{
    const int32_t* a = acc->a;
    if (mode == 1) {
        int8_t v[8];
        for (int32_t k = 0; k < 4; k++) {
            v[k] = (int8_t)one_rounding(a[k], c, k, lo, hi);
            v[4 + k] = (int8_t)one_rounding(a[4 + k], c, k, lo, hi);
        }
        memcpy(out0, v, (size_t)n);
        if (two) {
            memcpy(out1, v + 4, (size_t)n);
        }
        return;
    }
#if EDGEAI_HELIUM
    store_vectors(vldrwq_s32(a), vldrwq_s32(a + 4), c, out0, out1, two, n, left, right, lo, hi);
#else
    (void)left, (void)right;
    for (int32_t k = 0; k < n; k++) {
        out0[k] = (int8_t)requantize1(a[k], c, k, lo, hi);
        if (two) {
            out1[k] = (int8_t)requantize1(a[4 + k], c, k, lo, hi);
        }
    }
#endif
}

#if EDGEAI_HELIUM
/* Two roundings, two pixels, one window row (1x1 or a gathered window): every group of 4 channels of the pair.
 * skip: a literal in the specialisations below (each its own function: with the asm holding 12 registers, a flag
 * tested per group is a reload from the stack). Windows of several rows stay in conv_layer: GCC finds no
 * registers for the asm inside a row loop here. */
EDGEAI_INLINE void pair_groups(const int8_t* x0, const int8_t* x1, const int8_t* w, const int32_t* c, int8_t* out,
                               const int32_t* g, int32_t skip)
{
    const int32_t O = g[EDGEAI_MVE_O], row_bytes = g[EDGEAI_MVE_ROW_BYTES], group_bytes = g[EDGEAI_MVE_SEG] * 4;
    const int32_t lo = g[EDGEAI_MVE_ACT_MIN], hi = g[EDGEAI_MVE_ACT_MAX];
    int8_t* const end = out + O;
    for (; out < end; out += 4, w += group_bytes, c += 20) {
        int32x4_t v0, v1;
        if (skip && (c[8] | c[9] | c[10] | c[11]) == 0) { /* pruned: the output does not depend on the sums */
            v0 = v1 = vdupq_n_s32(0);
        } else {
            row_2x4(x0, x1, w, row_bytes, &v0, &v1);
        }
        v0 = requantize4(v0, c, 0, 1, vdupq_n_s32(lo), vdupq_n_s32(hi));
        v1 = requantize4(v1, c, 0, 1, vdupq_n_s32(lo), vdupq_n_s32(hi));
        if (end - out >= 4) {
            vstrbq_s32(out, v0);
            vstrbq_s32(out + O, v1);
        } else {
            const mve_pred16_t p = vctp32q((uint32_t)(end - out));
            vstrbq_p_s32(out, v0, p);
            vstrbq_p_s32(out + O, v1, p);
        }
    }
}

/* no left shift, every right shift >= 1 (geom LEFT 0, RIGHT 1) */
static __attribute__((noinline)) void pair_row(const int8_t* x0, const int8_t* x1, const int8_t* w, const int32_t* c,
                                               int8_t* out, const int32_t* g)
{
    pair_groups(x0, x1, w, c, out, g, 0);
}
static __attribute__((noinline)) void pair_row_skip(const int8_t* x0, const int8_t* x1, const int8_t* w,
                                                    const int32_t* c, int8_t* out, const int32_t* g)
{
    pair_groups(x0, x1, w, c, out, g, 1);
}
#endif

/* The layer. mode 0: two roundings (channel: 20 words per group), 1: one rounding (16 words per group). */
EDGEAI_INLINE void conv_layer(const int8_t* input, const int8_t* weights, const int32_t* channel, const int32_t* g,
                              int8_t* output, int32_t mode)
{
    const int32_t P = g[EDGEAI_MVE_OH] * g[EDGEAI_MVE_OW], O = g[EDGEAI_MVE_O];
    const int32_t rows = g[EDGEAI_MVE_ROWS], row_bytes = g[EDGEAI_MVE_ROW_BYTES], seg = g[EDGEAI_MVE_SEG];
    const int32_t skip = g[EDGEAI_MVE_SKIP], left = g[EDGEAI_MVE_LEFT], right = g[EDGEAI_MVE_RIGHT];
    const int32_t lo = g[EDGEAI_MVE_ACT_MIN], hi = g[EDGEAI_MVE_ACT_MAX];
    const int32_t group_words = mode == 0 ? 20 : 16, group_bytes = rows * seg * 4;
    int8_t patch0[EDGEAI_MVE_MAX_PATCH], patch1[EDGEAI_MVE_MAX_PATCH];

    for (int32_t p = 0; p < P; p += 2) {
        const int32_t two = P - p >= 2;
        int32_t s0, s1 = 0;
        const int8_t* x0 = window(input, g, p, patch0, &s0);
        const int8_t* x1 = two ? window(input, g, p + 1, patch1, &s1) : x0;
        int8_t* out = output + p * O;
#if EDGEAI_HELIUM
        if (mode == 0 && two && rows == 1 && !left && right) {
            (skip ? pair_row_skip : pair_row)(x0, x1, weights, channel, out, g);
            continue;
        }
#endif
        const int8_t* w = weights;
        const int32_t* c = channel;
        for (int32_t oc = 0; oc < O; oc += 4, w += group_bytes, c += group_words) {
            acc8 acc;
            /* pruned groups (multipliers 0): the output does not depend on the sums */
            const int32_t* m = c + (mode == 0 ? 8 : 4);
            const int32_t n = O - oc < 4 ? O - oc : 4;
            if (skip && (m[0] | m[1] | m[2] | m[3]) == 0) {
                memset(&acc, 0, sizeof acc);
            } else if (two) {
#if EDGEAI_HELIUM
                int32x4_t v0, v1;
                row_2x4(x0, x1, w, row_bytes, &v0, &v1);
                if (rows > 1) { /* a branch of its own: GCC allocates the one-row case better without the loop */
                    for (int32_t r = 1; r < rows; r++) { /* the other rows' sums added as vectors */
                        int32x4_t r0, r1;
                        row_2x4(x0 + r * s0, x1 + r * s1, w + r * seg * 4, row_bytes, &r0, &r1);
                        v0 = vaddq_s32(v0, r0), v1 = vaddq_s32(v1, r1);
                    }
                }
                if (mode == 0) {
                    store_vectors(v0, v1, c, out + oc, out + O + oc, 1, n, left, right, lo, hi);
                    continue;
                }
                vst1q_s32(acc.a, v0), vst1q_s32(acc.a + 4, v1);
#else
                dot_2x4(x0, x1, w, row_bytes, &acc, 1);
                for (int32_t r = 1; r < rows; r++) {
                    dot_2x4(x0 + r * s0, x1 + r * s1, w + r * seg * 4, row_bytes, &acc, 0);
                }
#endif
            } else {
                memset(&acc, 0, sizeof acc);
                for (int32_t r = 0; r < rows; r++) {
                    dot_1x4(x0 + r * s0, w + r * seg * 4, row_bytes, &acc);
                }
            }
            store_pixels(&acc, c, out + oc, out + O + oc, two, n, mode, left, right, lo, hi);
        }
    }
}

int32_t edgeai_conv_s8_mve(const int8_t* input, const int8_t* weights, const int32_t* channel, const int32_t* geom,
                           int8_t* output)
{
    conv_layer(input, weights, channel, geom, output, 0);
    return 0;
}

int32_t edgeai_conv_s8_mve_one_rounding(const int8_t* input, const int8_t* weights, const int32_t* channel,
                                        const int32_t* geom, int8_t* output)
{
    conv_layer(input, weights, channel, geom, output, 1);
    return 0;
}
