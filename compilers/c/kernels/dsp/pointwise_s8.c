/* int8 1x1 stride-1 CONV_2D with C = 8 or 16 input channels; see pointwise_s8.h.
 *
 * Why a kernel of its own: with so few input channels each output has only 4 (C = 8) or 8 (C = 16) SMLADs, so the
 * general kernels' per-output overhead (window bookkeeping, starts, the accumulator shift, the sign-dependent
 * rounding, the per-channel right shift, byte packing) costs more than the MACs. Here each pixel's activations
 * are widened once into registers (C = 8: 4 int16 pairs, C = 16: 8) and every output channel then costs one
 * record of int16 weights and constants, read by LDM straight from flash:
 *   C = 8:  LDM, 4 SMLAD, SMMLA, SSAT (with its ASR), STRB: 8 instructions per output (+2 per 4 for the loop);
 *   C = 16: 4 loads, 8 SMLAD, SMMLA, SSAT, STRB: 15.
 *
 * Exactness (TFLite's two roundings, M > 0, e >= 1 the right shift, a = acc << left):
 *   r = SaturatingRoundingDoublingHighMul(a, M) = floor((2aM + 2^31) / 2^32)
 *   out = zp + RoundingDivideByPOT(r, e) = floor((r + c - sign) / 2^e),  c = 2^(e-1) + (zp << e), sign = r < 0
 *       = floor((2aM + 2^31 + (c - sign) 2^32) / 2^(32+e))               (floor(floor(x / m) / n) = floor(x / mn))
 *       = floor((A M + K 2^32) / 2^(32+E))   with E = e + d (d >= 1), A = 2^(d+1) a, K = 2^(d-1) + (c - sign) 2^d
 *       = SMMLA(A, M, K) >> E.
 * So the channel's scale 2^s (s = 1 + left + d) goes into its weights and start, K is a constant, and E is one
 * immediate (EDGEAI_PW_SHIFT) for all channels: d = E - e per channel. The lowering checks A and the weights fit.
 * The sign: sign = 1 only when acc < 0 (r < 0 needs acc < 0, and r = 0 rounds the same either way), and then
 * zp + RoundingDivideByPOT(r, e) <= zp whether or not the sign is counted; so when the activation clamps
 * everything below the zero point (lo >= zp, ReLU / ReLU6) the plain entries drop it. The _signed entries
 * subtract q = 2^d from K when acc < 0 (AND with the sign, SUB: 2 instructions and one record word more).
 * A pruned channel (M = 0) gives K >> E: K is its constant output << E.
 */
#include "pointwise_s8.h"

#include <string.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define EDGEAI_PW_DSP 1
#else
#define EDGEAI_PW_DSP 0
#endif

/* What the core loops read besides their arguments: where the input ends, where the records end, and how far the
 * output pointer steps back after each pixel (O4 - O: the padding channels' bytes, overwritten by the next pixel). */
typedef struct {
    const int8_t* in_end;
    const int32_t* rec_end;
    int32_t back;
} pw_state;

#if EDGEAI_PW_DSP
/* The core loops, in assembly: they need all 14 registers, in fixed places (LDM fills ascending registers), which
 * GCC's allocator does not give an asm statement. (in r0, records r1, out r2, state r3); at least one pixel.
 * Frame: [sp] in, [sp, #4] in_end, [sp, #8] records, [sp, #12] rec_end, [sp, #16] back; the output pointer is lr.
 * C = 8: pixel pairs in r8..r11, records via r12, r0 the accumulator, r1..r4 the weights, r5 M, r6 K, r7 q
 * (signed) or the records' end. C = 16: pixel pairs in r4..r11, r0 the accumulator, r1..r3 weights and constants. */
#define PW_STR(x) #x
#define PW_XSTR(x) PW_STR(x)
#define PW_SSAT "ssat r0, #8, r0, asr #" PW_XSTR(EDGEAI_PW_SHIFT) "\n\t" "strb r0, [lr], #1\n\t"
#define PW_CH8                               \
    "ldmia r12!, {r0-r6}\n\t"                \
    "smlad r0, r8, r1, r0\n\t"               \
    "smlad r0, r9, r2, r0\n\t"               \
    "smlad r0, r10, r3, r0\n\t"              \
    "smlad r0, r11, r4, r0\n\t"              \
    "smmla r0, r0, r5, r6\n\t" PW_SSAT
#define PW_CH8_SIGNED                        \
    "ldmia r12!, {r0-r7}\n\t"                \
    "smlad r0, r8, r1, r0\n\t"               \
    "smlad r0, r9, r2, r0\n\t"               \
    "smlad r0, r10, r3, r0\n\t"              \
    "smlad r0, r11, r4, r0\n\t"              \
    "and r1, r7, r0, asr #31\n\t"            \
    "sub r6, r6, r1\n\t"                     \
    "smmla r0, r0, r5, r6\n\t" PW_SSAT
#define PW_CH16_DOT                          \
    "ldmia r12!, {r0-r3}\n\t"                \
    "smlad r0, r4, r1, r0\n\t"               \
    "smlad r0, r5, r2, r0\n\t"               \
    "smlad r0, r6, r3, r0\n\t"               \
    "ldmia r12!, {r1-r3}\n\t"                \
    "smlad r0, r7, r1, r0\n\t"               \
    "smlad r0, r8, r2, r0\n\t"               \
    "smlad r0, r9, r3, r0\n\t"               \
    "ldmia r12!, {r1-r3}\n\t"                \
    "smlad r0, r10, r1, r0\n\t"              \
    "smlad r0, r11, r2, r0\n\t"
#define PW_CH16 PW_CH16_DOT "ldr r1, [r12], #4\n\t" "smmla r0, r0, r3, r1\n\t" PW_SSAT
#define PW_CH16_SIGNED                       \
    PW_CH16_DOT                              \
    "ldmia r12!, {r1, r2}\n\t"               \
    "and r2, r2, r0, asr #31\n\t"            \
    "sub r1, r1, r2\n\t"                     \
    "smmla r0, r0, r3, r1\n\t" PW_SSAT
#define PW_QUAD(CH) CH CH CH CH
/* Prologue: the frame; r7 (C = 8, plain) keeps the records' end. */
#define PW_ENTER(NAME)                                          \
    ".pushsection .text." #NAME ",\"ax\",%progbits\n\t"        \
    ".balign 4\n\t"                                             \
    ".type " #NAME ", %function\n\t"                            \
    ".thumb_func\n"                                             \
    #NAME ":\n\t"                                               \
    "push {r4-r11, lr}\n\t"                                     \
    "sub sp, sp, #20\n\t"                                       \
    "ldr r4, [r3, #0]\n\t"                                      \
    "ldr r7, [r3, #4]\n\t"                                      \
    "ldr r5, [r3, #8]\n\t"                                      \
    "str r0, [sp, #0]\n\t"                                      \
    "str r4, [sp, #4]\n\t"                                      \
    "str r1, [sp, #8]\n\t"                                      \
    "str r7, [sp, #12]\n\t"                                     \
    "str r5, [sp, #16]\n\t"                                     \
    "mov lr, r2\n"
#define PW_LEAVE(NAME)                                          \
    "ldr r1, [sp, #16]\n\t"                                     \
    "sub lr, lr, r1\n\t"                                        \
    "ldr r0, [sp, #0]\n\t"                                      \
    "ldr r1, [sp, #4]\n\t"                                      \
    "cmp r0, r1\n\t"                                            \
    "bne 1b\n\t"                                                \
    "add sp, sp, #20\n\t"                                       \
    "pop {r4-r11, pc}\n\t"                                      \
    ".size " #NAME ", .-" #NAME "\n\t"                          \
    ".popsection\n"
#define PW_PIXEL8                                               \
    "1:\n\t"                                                    \
    "ldr r0, [sp, #0]\n\t"                                      \
    "ldrd r1, r2, [r0], #8\n\t"                                 \
    "str r0, [sp, #0]\n\t"                                      \
    "sxtb16 r8, r1\n\t"                                         \
    "sxtb16 r9, r1, ror #8\n\t"                                 \
    "sxtb16 r10, r2\n\t"                                        \
    "sxtb16 r11, r2, ror #8\n\t"                                \
    "ldr r12, [sp, #8]\n"                                       \
    "2:\n\t"
#define PW_PIXEL16                                              \
    "1:\n\t"                                                    \
    "ldr r0, [sp, #0]\n\t"                                      \
    "ldmia r0!, {r1, r2, r3, r12}\n\t"                          \
    "str r0, [sp, #0]\n\t"                                      \
    "sxtb16 r4, r1\n\t"                                         \
    "sxtb16 r5, r1, ror #8\n\t"                                 \
    "sxtb16 r6, r2\n\t"                                         \
    "sxtb16 r7, r2, ror #8\n\t"                                 \
    "sxtb16 r8, r3\n\t"                                         \
    "sxtb16 r9, r3, ror #8\n\t"                                 \
    "sxtb16 r10, r12\n\t"                                       \
    "sxtb16 r11, r12, ror #8\n\t"                               \
    "ldr r12, [sp, #8]\n"                                       \
    "2:\n\t"
#define PW_NEXT_QUAD_STACK "ldr r1, [sp, #12]\n\t" "cmp r12, r1\n\t" "bne 2b\n\t"

void edgeai_pw_core_c8(const int8_t* in, const int32_t* rec, int8_t* out, const pw_state* st);
void edgeai_pw_core_c8_signed(const int8_t* in, const int32_t* rec, int8_t* out, const pw_state* st);
void edgeai_pw_core_c16(const int8_t* in, const int32_t* rec, int8_t* out, const pw_state* st);
void edgeai_pw_core_c16_signed(const int8_t* in, const int32_t* rec, int8_t* out, const pw_state* st);
__asm__(PW_ENTER(edgeai_pw_core_c8) PW_PIXEL8 PW_QUAD(PW_CH8) "cmp r12, r7\n\t" "bne 2b\n\t"
            PW_LEAVE(edgeai_pw_core_c8));
__asm__(PW_ENTER(edgeai_pw_core_c8_signed) PW_PIXEL8 PW_QUAD(PW_CH8_SIGNED) PW_NEXT_QUAD_STACK
            PW_LEAVE(edgeai_pw_core_c8_signed));
__asm__(PW_ENTER(edgeai_pw_core_c16) PW_PIXEL16 PW_QUAD(PW_CH16) PW_NEXT_QUAD_STACK PW_LEAVE(edgeai_pw_core_c16));
__asm__(PW_ENTER(edgeai_pw_core_c16_signed) PW_PIXEL16 PW_QUAD(PW_CH16_SIGNED) PW_NEXT_QUAD_STACK
            PW_LEAVE(edgeai_pw_core_c16_signed));
#else
static inline int32_t pw_lo16(uint32_t v) { return (int32_t)(int16_t)(uint16_t)(v & 0xFFFFu); }
static inline int32_t pw_hi16(uint32_t v) { return (int32_t)(int16_t)(uint16_t)(v >> 16); }
/* SXTB16 (bytes 0 and 2 to int16 halves) */
static inline uint32_t pw_sxtb16(uint32_t v)
{
    return (uint32_t)(uint16_t)(int16_t)(int8_t)(uint8_t)v | (uint32_t)(uint16_t)(int16_t)(int8_t)(uint8_t)(v >> 16)
                                                                 << 16;
}

/* The same integers as the assembly: SMLAD wraps modulo 2^32, SMMLA is floor(acc * M / 2^32) + K. */
static inline void pw_core(const int8_t* in, const int32_t* rec, int8_t* out, const pw_state* st, int32_t C,
                           int32_t sgn)
{
    const int32_t R = 3 + C / 2 + sgn;
    for (; in < st->in_end; in += C, out -= st->back) {
        uint32_t x[8];
        for (int32_t i = 0; i < C / 4; i++) {
            uint32_t v;
            memcpy(&v, in + 4 * i, 4);
            x[2 * i] = pw_sxtb16(v), x[2 * i + 1] = pw_sxtb16(v >> 8);
        }
        for (const int32_t* p = rec; p < st->rec_end; p += R) {
            uint32_t acc = (uint32_t)p[0];
            for (int32_t j = 0; j < C / 2; j++) {
                const uint32_t w = (uint32_t)p[1 + j];
                acc += (uint32_t)(pw_lo16(x[j]) * pw_lo16(w)) + (uint32_t)(pw_hi16(x[j]) * pw_hi16(w));
            }
            uint32_t k = (uint32_t)p[2 + C / 2];
            if (sgn && (int32_t)acc < 0) {
                k -= (uint32_t)p[3 + C / 2];
            }
            const int32_t v = (int32_t)((uint32_t)(int32_t)(((int64_t)(int32_t)acc * p[1 + C / 2]) >> 32) + k);
            const int32_t y = v >> EDGEAI_PW_SHIFT;
            *out++ = (int8_t)(y < -128 ? -128 : y > 127 ? 127 : y);
        }
    }
}
static void edgeai_pw_core_c8(const int8_t* in, const int32_t* rec, int8_t* out, const pw_state* st)
{
    pw_core(in, rec, out, st, 8, 0);
}
static void edgeai_pw_core_c8_signed(const int8_t* in, const int32_t* rec, int8_t* out, const pw_state* st)
{
    pw_core(in, rec, out, st, 8, 1);
}
static void edgeai_pw_core_c16(const int8_t* in, const int32_t* rec, int8_t* out, const pw_state* st)
{
    pw_core(in, rec, out, st, 16, 0);
}
static void edgeai_pw_core_c16_signed(const int8_t* in, const int32_t* rec, int8_t* out, const pw_state* st)
{
    pw_core(in, rec, out, st, 16, 1);
}
#endif

/* An activation narrower than [-128, 127] (ReLU6 whose range the output scale does not end at, ReLU with the zero
 * point above -128): one pass over the n output bytes, 4 at a time (SSUB8 sets GE per byte, SEL picks). */
static __attribute__((noinline)) void pw_clamp(int8_t* out, int32_t n, int32_t lo, int32_t hi)
{
    int32_t i = 0;
#if EDGEAI_PW_DSP
    const uint32_t lo4 = ((uint32_t)lo & 0xFFu) * 0x01010101u, hi4 = ((uint32_t)hi & 0xFFu) * 0x01010101u;
    for (; i + 4 <= n; i += 4) {
        uint32_t v;
        memcpy(&v, out + i, 4);
        (void)__ssub8(v, lo4); /* GE[i] = v[i] >= lo[i] */
        v = __sel(v, lo4);
        (void)__ssub8(v, hi4); /* GE[i] = v[i] >= hi[i] */
        v = __sel(hi4, v);
        memcpy(out + i, &v, 4);
    }
#endif
    for (; i < n; i++) {
        out[i] = (int8_t)(out[i] < lo ? lo : out[i] > hi ? hi : out[i]);
    }
}

typedef void (*pw_core_fn)(const int8_t* in, const int32_t* rec, int8_t* out, const pw_state* st);
typedef void (*pw_clamp_fn)(int8_t* out, int32_t n, int32_t lo, int32_t hi);

/* All pixels but an O % 4 != 0 layer's last (its padding channels would write past the output), that one through
 * a buffer on the stack; then the clamp (the _clamp entries: a firmware without such layers does not link it).
 * One copy for all entries (R: words per record). */
static __attribute__((noinline)) int32_t pointwise(const int8_t* input, const int32_t* records, const int32_t* g,
                                                   int8_t* output, int32_t C, int32_t R, pw_core_fn core,
                                                   pw_clamp_fn clamp)
{
    const int32_t P = g[EDGEAI_PW_P], O = g[EDGEAI_PW_O], O4 = g[EDGEAI_PW_O4];
    const int32_t full = O4 != O ? P - 1 : P;
    pw_state st = {input + full * C, records + O4 * R, O4 - O};
    if (full > 0) {
        core(input, records, output, &st);
    }
    if (full < P) {
        int8_t last[EDGEAI_PW_MAX_O4];
        st.in_end = input + P * C;
        core(input + full * C, records, last, &st);
        memcpy(output + full * O, last, (size_t)O);
    }
    if (clamp) {
        clamp(output, P * O, g[EDGEAI_PW_LO], g[EDGEAI_PW_HI]);
    }
    return 0;
}

#define PW_ENTRY(NAME, C, R, CORE, CLAMP)                                                                      \
    int32_t NAME(const int8_t* input, const int32_t* records, const int32_t* geom, int8_t* output)          \
    {                                                                                                         \
        return pointwise(input, records, geom, output, (C), (R), CORE, CLAMP);                                \
    }
PW_ENTRY(edgeai_pointwise_s8_c8, 8, 7, edgeai_pw_core_c8, 0)
PW_ENTRY(edgeai_pointwise_s8_c8_signed, 8, 8, edgeai_pw_core_c8_signed, 0)
PW_ENTRY(edgeai_pointwise_s8_c16, 16, 11, edgeai_pw_core_c16, 0)
PW_ENTRY(edgeai_pointwise_s8_c16_signed, 16, 12, edgeai_pw_core_c16_signed, 0)
PW_ENTRY(edgeai_pointwise_s8_c8_clamp, 8, 7, edgeai_pw_core_c8, pw_clamp)
PW_ENTRY(edgeai_pointwise_s8_c8_signed_clamp, 8, 8, edgeai_pw_core_c8_signed, pw_clamp)
PW_ENTRY(edgeai_pointwise_s8_c16_clamp, 16, 11, edgeai_pw_core_c16, pw_clamp)
PW_ENTRY(edgeai_pointwise_s8_c16_signed_clamp, 16, 12, edgeai_pw_core_c16_signed, pw_clamp)
