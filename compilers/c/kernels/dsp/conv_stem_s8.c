/* int8 CONV_2D for inputs of few channels (a CNN's first layer); see conv_stem_s8.h.
 *
 * Why not the general int8-weight kernel (nn_s8.c): with C = 3 a window row is 9 bytes, which it pads to 12 (a
 * quarter of its SMLADs multiply zeros), it widens the weights again for every pixel pair, and with few output
 * channels (VWW: 8) the per-pixel work around its tile dominates. Here:
 *   - each output pixel's window is widened once into int16 pairs with nothing wasted but one pair half at most
 *     (K = 27: 14 pairs): per row its whole words by SXTB16 / SXTB16 ROR 8, the bytes past them (KW * C % 4 per
 *     row) paired across rows;
 *   - the weights are widened once per layer call, already scaled by the layer's 2 << left_shift (no shift per
 *     output), onto the stack, interleaved per channel pair with the start values and requantization constants,
 *     so one pointer walks everything a tile reads (one LDM for both starts, one for all six constants);
 *   - the tile is two output pixels x two channels x two weight pairs: one LDM of four activation pairs, one of
 *     four weight pairs, eight SMLAD (1.25 instructions per SMLAD), unrolled for EDGEAI_STEM_MAX_STEPS steps and
 *     entered at the step that leaves the layer's count (a computed jump: no loop counter, no register for one).
 * The border (SAME padding) gathers the window through a small patch filled with the input zero point (the
 * lowering folds zp_in * sum(weights) into the start values, so padding must read zp_in); interior windows are
 * read in place.
 *
 * Exactness is nn_s8.c's: the accumulator is 2 << left_shift times TFLite's (compile time checks it cannot
 * overflow), SMMLAR with the accumulator's sign in the rounding word gives SaturatingRoundingDoublingHighMul then
 * RoundingDivideByPOT, SSAT the int8 saturation.
 */
#include "conv_stem_s8.h"

#include <string.h>

#define STEM_INLINE static inline __attribute__((always_inline))

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define STEM_DSP 1
#else
#define STEM_DSP 0
#endif

STEM_INLINE uint32_t stem_read32(const int8_t* p)
{
    uint32_t v;
    memcpy(&v, p, 4); /* LDR: Cortex-M3 and later allow unaligned word loads */
    return v;
}

#if STEM_DSP
STEM_INLINE uint32_t stem_sxtb16(uint32_t v) { return (uint32_t)__sxtb16(v); }
STEM_INLINE uint32_t stem_sxtb16_ror8(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}
#else
STEM_INLINE uint32_t stem_sxtb16(uint32_t v)
{
    return (uint32_t)(uint16_t)(int16_t)(int8_t)(uint8_t)(v & 0xFFu) |
           ((uint32_t)(uint16_t)(int16_t)(int8_t)(uint8_t)((v >> 16) & 0xFFu) << 16);
}
STEM_INLINE uint32_t stem_sxtb16_ror8(uint32_t v) { return stem_sxtb16((v >> 8) | (v << 24)); }
#endif

/* The state the tile loop reads from its stack frame (the asm keeps all 14 registers for the tile). */
typedef struct {
    const uint32_t* x;     /* 0: the batch's widened windows, per pixel pair [step][A j, A j+1, B j, B j+1] */
    const uint32_t* w;     /* 4: the widened stream of the batch's channel pairs */
    const uint32_t* w_end; /* 8 */
    int8_t* out;           /* 12: the first pair's pixel A output of the batch's first channel */
    int32_t delta;         /* 16: pixel B's output minus pixel A's (0: an odd last pixel paired with itself) */
    int32_t skip;          /* 20: bytes of unrolled steps to jump over, + 1 (Thumb) */
    uint32_t lo4, hi4;     /* 24, 28: the clamp's bounds in each byte (the _clamp entry) */
    const uint32_t* x_end; /* 32: the end of the batch's widened windows */
    int32_t out_step;      /* 36: from one pair's output to the next's, less the channel pairs' 2 bytes each */
} stem_state;

/* The stream of one channel pair: its start values (c0, c1, c0, c1: one LDM starts both pixels), per step (c0 j,
 * c0 j+1, c1 j, c1 j+1), then (multiplier, e, rounding) of c0 and of c1. */
#define STEM_PAIR_WORDS(steps) (10 + 4 * (steps))
/* Words of widened windows on the stack: the pixel pairs of one batch. */
#define STEM_X_WORDS 640

#if STEM_DSP
#define STEM_STEP_BYTES 40 /* two LDM.W and eight SMLAD, 4 bytes each */
#define STEM_STEP                            \
    "ldmia.w r12!, {r0-r3}\n\t"              \
    "ldmia.w lr!, {r4-r7}\n\t"               \
    "smlad r8, r0, r4, r8\n\t"               \
    "smlad r8, r1, r5, r8\n\t"               \
    "smlad r10, r2, r4, r10\n\t"             \
    "smlad r10, r3, r5, r10\n\t"             \
    "smlad r9, r0, r6, r9\n\t"               \
    "smlad r9, r1, r7, r9\n\t"               \
    "smlad r11, r2, r6, r11\n\t"             \
    "smlad r11, r3, r7, r11\n\t"
/* acc (register A) requantized: SMMLAR with rounding (register R) + the sign, ASR by e (E), SSAT. */
#define STEM_REQ(A, M, E, R)                 \
    "add r6, " R ", " A ", asr #31\n\t"      \
    "smmlar " A ", " A ", " M ", r6\n\t"     \
    "asr " A ", " A ", " E "\n\t"            \
    "ssat " A ", #8, " A "\n\t"
/* Both channels' bytes of each pixel by one BFI, one STRH per pixel. */
#define STEM_STORE                           \
    "bfi r8, r9, #8, #8\n\t"                 \
    "bfi r10, r11, #8, #8\n\t"               \
    "ldrd r6, r7, [sp, #12]\n\t"             \
    "strh r10, [r6, r7]\n\t"                 \
    "strh r8, [r6], #2\n\t"                  \
    "str r6, [sp, #12]\n\t"
/* The four bytes in one word, clamped to [lo, hi] per byte (SSUB8 sets GE where v >= bound, SEL picks). */
#define STEM_STORE_CLAMP                     \
    "bfi r8, r9, #8, #8\n\t"                 \
    "bfi r8, r10, #16, #8\n\t"               \
    "bfi r8, r11, #24, #8\n\t"               \
    "ldrd r0, r1, [sp, #24]\n\t"             \
    "ssub8 r6, r8, r0\n\t"                   \
    "sel r8, r8, r0\n\t"                     \
    "ssub8 r6, r8, r1\n\t"                   \
    "sel r8, r1, r8\n\t"                     \
    "ldrd r6, r7, [sp, #12]\n\t"             \
    "lsr r0, r8, #16\n\t"                    \
    "strh r0, [r6, r7]\n\t"                  \
    "strh r8, [r6], #2\n\t"                  \
    "str r6, [sp, #12]\n\t"
/* All channel pairs of one pixel pair. Registers: r0-r3 activation pairs, r4-r7 weight pairs, r8-r11 the
 * accumulators (A c0, A c1, B c0, B c1), r12 the activations, lr the stream; the state is copied into the frame
 * (sp + 0..31) with the computed entry at sp + 32. */
#define STEM_TILES(NAME, STORE)                                                                                 \
    /* aligned: ADR adds to Align(PC, 4), exact only where the assembler assumed */                            \
    static __attribute__((naked, noinline, aligned(4))) void NAME(const stem_state* st)                        \
    {                                                                                                          \
        (void)st;                                                                                              \
        __asm__("push {r4-r11, lr}\n\t"                                                                        \
                "sub sp, #48\n\t"                                                                              \
                "ldmia r0, {r1-r10}\n\t"                                                                       \
                "stmia sp, {r1-r10}\n\t"                                                                       \
                "adr.w r0, 3f\n\t"                                                                             \
                "add r0, r0, r6\n\t"                                                                           \
                "str r0, [sp, #40]\n\t"                                                                        \
                "mov lr, r2\n\t"                                                                               \
                "2:\n\t"                                                                                       \
                "ldr r12, [sp]\n\t"                                                                            \
                "ldmia lr!, {r8-r11}\n\t"                                                                      \
                "ldr pc, [sp, #40]\n\t"                                                                        \
                "3:\n\t" STEM_STEP STEM_STEP STEM_STEP STEM_STEP STEM_STEP STEM_STEP STEM_STEP STEM_STEP         \
                    STEM_STEP STEM_STEP                                                                        \
                "ldmia lr!, {r0-r5}\n\t" STEM_REQ("r8", "r0", "r1", "r2") STEM_REQ("r10", "r0", "r1", "r2")       \
                    STEM_REQ("r9", "r3", "r4", "r5") STEM_REQ("r11", "r3", "r4", "r5") STORE                   \
                "ldr r6, [sp, #8]\n\t"                                                                         \
                "cmp lr, r6\n\t"                                                                               \
                "bne 2b\n\t"                                                                                   \
                "ldrd r6, r7, [sp, #32]\n\t" /* the next pixel pair */                                         \
                "str r12, [sp]\n\t"                                                                            \
                "ldr r0, [sp, #12]\n\t"                                                                        \
                "add r0, r0, r7\n\t"                                                                           \
                "str r0, [sp, #12]\n\t"                                                                        \
                "ldr lr, [sp, #4]\n\t"                                                                         \
                "cmp r12, r6\n\t"                                                                              \
                "bne 2b\n\t"                                                                                   \
                "add sp, #48\n\t"                                                                              \
                "pop {r4-r11, pc}\n\t");                                                                       \
    }
STEM_TILES(stem_tiles, STEM_STORE)
STEM_TILES(stem_tiles_clamp, STEM_STORE_CLAMP)
#if EDGEAI_STEM_MAX_STEPS != 10
#error "STEM_TILES unrolls EDGEAI_STEM_MAX_STEPS steps"
#endif
#else
STEM_INLINE int32_t lo16(uint32_t v) { return (int32_t)(int16_t)(uint16_t)(v & 0xFFFFu); }
STEM_INLINE int32_t hi16(uint32_t v) { return (int32_t)(int16_t)(uint16_t)(v >> 16); }
STEM_INLINE int32_t smlad(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(lo16(a) * lo16(b)) + (uint32_t)(hi16(a) * hi16(b)));
}
/* SMMLAR: the high word of a * m + (r << 32), rounded */
STEM_INLINE int32_t smmlar(int32_t a, int32_t m, int32_t r)
{
    return (int32_t)(((int64_t)a * m + ((int64_t)r * 4294967296LL) + (INT64_C(1) << 31)) >> 32);
}
STEM_INLINE int32_t requant(int32_t acc, const uint32_t* c)
{
    int32_t v = smmlar(acc, (int32_t)c[0], (int32_t)c[2] + (acc < 0 ? -1 : 0)) >> (int32_t)c[1];
    return v < -128 ? -128 : (v > 127 ? 127 : v);
}
STEM_INLINE int8_t clamp_to(int32_t v, uint32_t lo4, uint32_t hi4)
{
    const int32_t lo = (int8_t)(lo4 & 0xFFu), hi = (int8_t)(hi4 & 0xFFu);
    return (int8_t)(v < lo ? lo : (v > hi ? hi : v));
}
STEM_INLINE void stem_tiles_c(const stem_state* st, int32_t steps)
{
    int8_t* out = st->out;
    for (const uint32_t* x0 = st->x; x0 < st->x_end; x0 += 4 * steps, out += st->out_step) {
        for (const uint32_t* w = st->w; w < st->w_end; out += 2) {
            int32_t a0 = (int32_t)w[0], a1 = (int32_t)w[1], b0 = (int32_t)w[2], b1 = (int32_t)w[3];
            const uint32_t* x = x0;
            w += 4;
            for (int32_t s = 0; s < steps; s++, x += 4, w += 4) {
                a0 = smlad(x[1], w[1], smlad(x[0], w[0], a0));
                b0 = smlad(x[3], w[1], smlad(x[2], w[0], b0));
                a1 = smlad(x[1], w[3], smlad(x[0], w[2], a1));
                b1 = smlad(x[3], w[3], smlad(x[2], w[2], b1));
            }
            const int32_t ra0 = requant(a0, w), rb0 = requant(b0, w), ra1 = requant(a1, w + 3),
                          rb1 = requant(b1, w + 3);
            w += 6;
            out[st->delta] = clamp_to(rb0, st->lo4, st->hi4), out[st->delta + 1] = clamp_to(rb1, st->lo4, st->hi4);
            out[0] = clamp_to(ra0, st->lo4, st->hi4), out[1] = clamp_to(ra1, st->lo4, st->hi4);
        }
    }
}
#endif

/* The stream of n channel pairs from their int8 weights (w8: per pair 2 * steps words) and channel constants
 * (ch: 4 words per channel): each weight pair scaled by 1 << sh; shifting the packed pair spills the low half's
 * sign bits into the high half's low sh bits, which the mask clears (compile time checks |w| << sh fits int16). */
static __attribute__((noinline)) void widen_stream(const int32_t* w8, const int32_t* ch, int32_t n, int32_t steps,
                                                   int32_t sh, uint32_t* dst)
{
    const uint32_t mask = ~((((uint32_t)1 << sh) - 1u) << 16);
    for (int32_t p = 0; p < n; p++, ch += 8) {
        dst[0] = (uint32_t)ch[0], dst[1] = (uint32_t)ch[4], dst[2] = (uint32_t)ch[0], dst[3] = (uint32_t)ch[4];
        dst += 4;
        for (int32_t i = 0; i < 2 * steps; i++, dst += 2) {
            const uint32_t v = (uint32_t)*w8++;
            dst[0] = (stem_sxtb16(v) << sh) & mask, dst[1] = (stem_sxtb16_ror8(v) << sh) & mask;
        }
        dst[0] = (uint32_t)ch[1], dst[1] = (uint32_t)ch[2], dst[2] = (uint32_t)ch[3];
        dst[3] = (uint32_t)ch[5], dst[4] = (uint32_t)ch[6], dst[5] = (uint32_t)ch[7];
        dst += 6;
    }
}

/* The layer's dimensions, loaded once (the output stores may alias geom for the compiler). */
typedef struct {
    int32_t H, W, C, KH, KW, SH, SW, PT, PL, zp_in, nq, tail;
} stem_dims;

/* A 3x3 window of 3 channels (rows of 9 bytes `stride` apart; VWW, IC) widened into every other pair of words of
 * d: per row two whole words, then the three rows' last bytes paired (the last with a zero high half). */
STEM_INLINE void widen_9x3(const int8_t* x, int32_t stride, uint32_t* d)
{
    const int8_t* r1 = x + stride;
    const int8_t* r2 = r1 + stride;
    uint32_t v = stem_read32(x);
    d[0] = stem_sxtb16(v), d[1] = stem_sxtb16_ror8(v);
    v = stem_read32(x + 4);
    d[4] = stem_sxtb16(v), d[5] = stem_sxtb16_ror8(v);
    v = stem_read32(r1);
    d[8] = stem_sxtb16(v), d[9] = stem_sxtb16_ror8(v);
    v = stem_read32(r1 + 4);
    d[12] = stem_sxtb16(v), d[13] = stem_sxtb16_ror8(v);
    v = stem_read32(r2);
    d[16] = stem_sxtb16(v), d[17] = stem_sxtb16_ror8(v);
    v = stem_read32(r2 + 4);
    d[20] = stem_sxtb16(v), d[21] = stem_sxtb16_ror8(v);
    d[24] = ((uint32_t)(int32_t)x[8] & 0xFFFFu) | ((uint32_t)(int32_t)r1[8] << 16);
    d[25] = (uint32_t)(int32_t)r2[8] & 0xFFFFu;
}

/* Any window (KH rows `stride` bytes apart): per row its nq whole words, then the KH * tail bytes past them,
 * paired in row order (an odd last one with a zero high half); widen_9x3 is its KH = 3, nq = 2, tail = 1. */
STEM_INLINE void widen_window(const int8_t* x, int32_t stride, const stem_dims* dm, uint32_t* d)
{
    const int32_t KH = dm->KH, nq = dm->nq, tail = dm->tail;
    const int8_t* row = x;
    for (int32_t r = 0; r < KH; r++, row += stride) {
        for (int32_t q = 0; q < nq; q++, d += 4) {
            const uint32_t v = stem_read32(row + 4 * q);
            d[0] = stem_sxtb16(v), d[1] = stem_sxtb16_ror8(v);
        }
    }
    if (tail) {
        int32_t i = 0;
        row = x + 4 * nq;
        for (int32_t r = 0; r < KH; r++, row += stride) {
            for (int32_t t = 0; t < tail; t++, i++) {
                const uint32_t v = (uint32_t)(int32_t)row[t];
                uint32_t* slot = d + (i >> 2) * 4 + ((i >> 1) & 1);
                *slot = (i & 1) ? ((*slot & 0xFFFFu) | (v << 16)) : (v & 0xFFFFu);
            }
        }
    }
}

/* Output pixel (oy, ox)'s window widened into d: read in place inside the image, else gathered through patch
 * (rows of KW * C bytes; outside the image the input zero point). Not inlined: the batch loop inlines only the
 * 3x3x3 interior. */
static __attribute__((noinline)) void widen_pixel(const int8_t* input, const stem_dims* dm, int32_t oy, int32_t ox,
                                                  int8_t* patch, uint32_t* d)
{
    const int32_t iy0 = oy * dm->SH - dm->PT, ix0 = ox * dm->SW - dm->PL, RB = dm->KW * dm->C;
    if (iy0 >= 0 && ix0 >= 0 && iy0 + dm->KH <= dm->H && ix0 + dm->KW <= dm->W) {
        widen_window(input + (iy0 * dm->W + ix0) * dm->C, dm->W * dm->C, dm, d);
        return;
    }
    const int32_t kx0 = ix0 < 0 ? -ix0 : 0, kx1 = ix0 + dm->KW > dm->W ? dm->W - ix0 : dm->KW;
    for (int32_t ky = 0; ky < dm->KH; ky++) {
        int8_t* dst = patch + ky * RB;
        const int32_t iy = iy0 + ky;
        memset(dst, dm->zp_in, (size_t)RB);
        if (iy >= 0 && iy < dm->H && kx1 > kx0) {
            memcpy(dst + kx0 * dm->C, input + (iy * dm->W + ix0 + kx0) * dm->C, (size_t)((kx1 - kx0) * dm->C));
        }
    }
    widen_window(patch, RB, dm, d);
}

STEM_INLINE uint32_t stem_bytes4(int32_t v) { return ((uint32_t)v & 0xFFu) * 0x01010101u; }

#if STEM_DSP
typedef void (*stem_tiles_fn)(const stem_state*);
#else
typedef int32_t stem_tiles_fn; /* the portable tiles: 1 with the clamp */
#endif

/* Per batch of channel pairs (their stream on the stack), per batch of pixel pairs (their windows widened on the
 * stack): one call of the tile loop. tiles: the entry's asm tile loop (each entry links only its own), or the
 * portable loop's clamp flag. */
static __attribute__((noinline)) void conv_stem(const int8_t* input, const int32_t* weights, const int32_t* channel,
                                                const int32_t* g, int8_t* output, stem_tiles_fn tiles)
{
    const stem_dims dm = {g[EDGEAI_STEM_H], g[EDGEAI_STEM_W], g[EDGEAI_STEM_C], g[EDGEAI_STEM_KH],
                          g[EDGEAI_STEM_KW], g[EDGEAI_STEM_SH], g[EDGEAI_STEM_SW], g[EDGEAI_STEM_PT],
                          g[EDGEAI_STEM_PL], g[EDGEAI_STEM_ZP_IN], (g[EDGEAI_STEM_KW] * g[EDGEAI_STEM_C]) >> 2,
                          (g[EDGEAI_STEM_KW] * g[EDGEAI_STEM_C]) & 3};
    const int32_t OW = g[EDGEAI_STEM_OW], P = g[EDGEAI_STEM_OH] * OW, O = g[EDGEAI_STEM_O];
    const int32_t steps = g[EDGEAI_STEM_STEPS], per = STEM_PAIR_WORDS(steps), xw = 4 * steps;
    const int32_t batch = EDGEAI_STEM_STREAM_WORDS / per, pixels = 2 * (STEM_X_WORDS / xw);
    const int32_t fast = dm.KH == 3 && dm.nq == 2 && dm.tail == 1, WC = dm.W * dm.C;
    uint32_t stream[EDGEAI_STEM_STREAM_WORDS];
    uint32_t wide[STEM_X_WORDS];
    int8_t patch[4 * EDGEAI_STEM_MAX_STEPS];
    memset(wide, 0, sizeof wide); /* the pair past an odd count meets zero weights; keep it defined */
    stem_state st;
    st.lo4 = stem_bytes4(g[EDGEAI_STEM_ACT_MIN]), st.hi4 = stem_bytes4(g[EDGEAI_STEM_ACT_MAX]);
    st.x = wide;
#if STEM_DSP
    st.skip = (EDGEAI_STEM_MAX_STEPS - steps) * STEM_STEP_BYTES + 1;
#else
    st.skip = 0;
    if (!tiles) { /* saturation is the clamp */
        st.lo4 = stem_bytes4(-128), st.hi4 = stem_bytes4(127);
    }
#endif
    for (int32_t p0 = 0; p0 < O / 2; p0 += batch) {
        const int32_t n = O / 2 - p0 < batch ? O / 2 - p0 : batch;
        widen_stream(weights + p0 * 2 * steps, channel + p0 * 8, n, steps, g[EDGEAI_STEM_SHIFT], stream);
        st.w = stream, st.w_end = stream + n * per;
        st.out_step = 2 * O - 2 * n;
        int32_t oy = 0, ox = 0;
        for (int32_t pix0 = 0; pix0 < P; pix0 += pixels) {
            const int32_t count = P - pix0 < pixels ? P - pix0 : pixels;
            for (int32_t i = 0; i < count; i++) {
                uint32_t* const d = wide + (i >> 1) * xw + (i & 1) * 2;
                const int32_t iy0 = oy * dm.SH - dm.PT, ix0 = ox * dm.SW - dm.PL;
                if (fast && iy0 >= 0 && ix0 >= 0 && iy0 + 3 <= dm.H && ix0 + 3 <= dm.W) {
                    widen_9x3(input + iy0 * WC + ix0 * 3, WC, d);
                } else {
                    widen_pixel(input, &dm, oy, ox, patch, d);
                }
                if (++ox == OW) {
                    ox = 0, oy++;
                }
            }
            st.out = output + pix0 * O + 2 * p0;
            st.delta = O;
            st.x_end = wide + (count >> 1) * xw;
            if (count & 1) { /* an odd last pixel: paired with itself (both halves store the same values) */
                uint32_t* const d = wide + (count >> 1) * xw;
                for (int32_t k = 0; k < xw; k += 4) {
                    d[k + 2] = d[k], d[k + 3] = d[k + 1];
                }
                if (count > 1) { /* the pairs before it, then it alone */
#if STEM_DSP
                    tiles(&st);
#else
                    stem_tiles_c(&st, steps);
#endif
                }
                st.x = d, st.x_end = d + xw, st.delta = 0;
                st.out = output + (pix0 + count - 1) * O + 2 * p0;
            }
#if STEM_DSP
            tiles(&st);
#else
            stem_tiles_c(&st, steps);
#endif
            st.x = wide;
        }
    }
}

int32_t edgeai_conv_stem_s8(const int8_t* input, const int32_t* weights, const int32_t* channel, const int32_t* geom,
                            int8_t* output)
{
#if STEM_DSP
    conv_stem(input, weights, channel, geom, output, stem_tiles);
#else
    conv_stem(input, weights, channel, geom, output, 0);
#endif
    return 0;
}

int32_t edgeai_conv_stem_s8_clamp(const int8_t* input, const int32_t* weights, const int32_t* channel,
                                  const int32_t* geom, int8_t* output)
{
#if STEM_DSP
    conv_stem(input, weights, channel, geom, output, stem_tiles_clamp);
#else
    conv_stem(input, weights, channel, geom, output, 1);
#endif
    return 0;
}
