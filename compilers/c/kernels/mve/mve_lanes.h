#ifndef EDGEAI_MVE_LANES_H
#define EDGEAI_MVE_LANES_H
#include <stdint.h>

/*
 * Four int32 lanes for the Helium (MVE) kernels of this folder: on a core with MVE (__ARM_FEATURE_MVE, e.g.
 * -mcpu=cortex-m55) each helper is one ACLE intrinsic (arm_mve.h), one instruction; elsewhere a plain C loop
 * computes the same integers, so the kernels build and are tested on the host. Only what the kernels use.
 * `n` in the _n helpers: how many leading lanes are live (predicated load/store; may be <= 0 or > 4).
 */

#define EDGEAI_INLINE static inline __attribute__((always_inline))

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#define EDGEAI_MVE 1
typedef int32x4_t ev4;

EDGEAI_INLINE mve_pred16_t ev_live(int32_t n) { return vctp32q((uint32_t)(n < 0 ? 0 : n)); }
EDGEAI_INLINE ev4 ev_load_s8(const int8_t* p) { return vldrbq_s32(p); }                    /* VLDRB.S32 */
EDGEAI_INLINE ev4 ev_load_s8_n(const int8_t* p, int32_t n) { return vldrbq_z_s32(p, ev_live(n)); }
EDGEAI_INLINE ev4 ev_load_s32(const int32_t* p) { return vldrwq_s32(p); }                   /* VLDRW.32 */
EDGEAI_INLINE ev4 ev_dup(int32_t v) { return vdupq_n_s32(v); }
EDGEAI_INLINE ev4 ev_add(ev4 a, ev4 b) { return vaddq_s32(a, b); }
EDGEAI_INLINE ev4 ev_add_n(ev4 a, int32_t b) { return vaddq_n_s32(a, b); }
EDGEAI_INLINE ev4 ev_mul(ev4 a, ev4 b) { return vmulq_s32(a, b); }
EDGEAI_INLINE ev4 ev_mla_n(ev4 acc, ev4 a, int32_t b) { return vmlaq_n_s32(acc, a, b); } /* acc + a * b */
EDGEAI_INLINE ev4 ev_sign(ev4 a) { return vshrq_n_s32(a, 31); }                            /* -1 or 0 */
EDGEAI_INLINE ev4 ev_and_n(ev4 a, int32_t b) { return vandq_s32(a, vdupq_n_s32(b)); }
/* SaturatingRoundingDoublingHighMul: (2ab + 2^31) >> 32, saturated (VQRDMULH) */
EDGEAI_INLINE ev4 ev_qrdmulh(ev4 a, ev4 b) { return vqrdmulhq_s32(a, b); }
/* (ab + 2^31) >> 32 (VRMULH) and ab >> 32 (VMULH), floor */
EDGEAI_INLINE ev4 ev_rmulh_n(ev4 a, int32_t b) { return vrmulhq_s32(a, vdupq_n_s32(b)); }
EDGEAI_INLINE ev4 ev_mulh(ev4 a, ev4 b) { return vmulhq_s32(a, b); }
/* shift left by s (right when negative): VSHL truncates, VRSHL adds 2^(-s-1) first; per lane or by register */
EDGEAI_INLINE ev4 ev_shl(ev4 a, ev4 s) { return vshlq_s32(a, s); }
EDGEAI_INLINE ev4 ev_shl_r(ev4 a, int32_t s) { return vshlq_r_s32(a, s); }
EDGEAI_INLINE ev4 ev_rshl(ev4 a, ev4 s) { return vrshlq_s32(a, s); }
EDGEAI_INLINE ev4 ev_clamp(ev4 a, ev4 lo, ev4 hi) { return vminq_s32(vmaxq_s32(a, lo), hi); }
/* table[idx[i]] for four unsigned byte indices (VLDRB.U32, then one gather VLDRW.U32 [table, idx, UXTW #2]) */
EDGEAI_INLINE ev4 ev_lookup(const int32_t* table, const uint8_t* idx)
{
    return vldrwq_gather_shifted_offset_s32(table, vldrbq_u32(idx));
}
EDGEAI_INLINE void ev_store_s8(int8_t* p, ev4 v) { vstrbq_s32(p, v); }                     /* VSTRB.32 */
EDGEAI_INLINE void ev_store_s8_n(int8_t* p, ev4 v, int32_t n) { vstrbq_p_s32(p, v, ev_live(n)); }
EDGEAI_INLINE void ev_store_s32(int32_t* p, ev4 v) { vstrwq_s32(p, v); }

#else
#define EDGEAI_MVE 0
typedef struct {
    int32_t v[4];
} ev4;

#define EV_MAP(expr)          \
    ev4 r;                    \
    for (int i = 0; i < 4; i++) \
        r.v[i] = (expr);      \
    return r

EDGEAI_INLINE ev4 ev_load_s8(const int8_t* p) { EV_MAP(p[i]); }
EDGEAI_INLINE ev4 ev_load_s8_n(const int8_t* p, int32_t n) { EV_MAP(i < n ? p[i] : 0); }
EDGEAI_INLINE ev4 ev_load_s32(const int32_t* p) { EV_MAP(p[i]); }
EDGEAI_INLINE ev4 ev_dup(int32_t v) { EV_MAP(v); }
/* wrapping like the instructions (through uint32_t: no signed overflow in C) */
EDGEAI_INLINE ev4 ev_add(ev4 a, ev4 b) { EV_MAP((int32_t)((uint32_t)a.v[i] + (uint32_t)b.v[i])); }
EDGEAI_INLINE ev4 ev_add_n(ev4 a, int32_t b) { EV_MAP((int32_t)((uint32_t)a.v[i] + (uint32_t)b)); }
EDGEAI_INLINE ev4 ev_mul(ev4 a, ev4 b) { EV_MAP((int32_t)((uint32_t)a.v[i] * (uint32_t)b.v[i])); }
EDGEAI_INLINE ev4 ev_mla_n(ev4 acc, ev4 a, int32_t b)
{
    EV_MAP((int32_t)((uint32_t)acc.v[i] + (uint32_t)a.v[i] * (uint32_t)b));
}
EDGEAI_INLINE ev4 ev_sign(ev4 a) { EV_MAP(a.v[i] < 0 ? -1 : 0); }
EDGEAI_INLINE ev4 ev_and_n(ev4 a, int32_t b) { EV_MAP(a.v[i] & b); }
EDGEAI_INLINE int32_t ev_qrdmulh1(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    return (int32_t)(((int64_t)a * b * 2 + (INT64_C(1) << 31)) >> 32);
}
EDGEAI_INLINE ev4 ev_qrdmulh(ev4 a, ev4 b) { EV_MAP(ev_qrdmulh1(a.v[i], b.v[i])); }
EDGEAI_INLINE ev4 ev_rmulh_n(ev4 a, int32_t b) { EV_MAP((int32_t)(((int64_t)a.v[i] * b + (INT64_C(1) << 31)) >> 32)); }
EDGEAI_INLINE ev4 ev_mulh(ev4 a, ev4 b) { EV_MAP((int32_t)(((int64_t)a.v[i] * b.v[i]) >> 32)); }
EDGEAI_INLINE int32_t ev_shl1(int32_t a, int32_t s, int32_t rounding)
{
    if (s >= 0) {
        return (int32_t)((uint32_t)a << s);
    }
    return (int32_t)(((int64_t)a + (rounding ? (INT64_C(1) << (-s - 1)) : 0)) >> -s);
}
EDGEAI_INLINE ev4 ev_shl(ev4 a, ev4 s) { EV_MAP(ev_shl1(a.v[i], s.v[i], 0)); }
EDGEAI_INLINE ev4 ev_shl_r(ev4 a, int32_t s) { EV_MAP(ev_shl1(a.v[i], s, 0)); }
EDGEAI_INLINE ev4 ev_rshl(ev4 a, ev4 s) { EV_MAP(ev_shl1(a.v[i], s.v[i], 1)); }
EDGEAI_INLINE ev4 ev_clamp(ev4 a, ev4 lo, ev4 hi)
{
    EV_MAP(a.v[i] < lo.v[i] ? lo.v[i] : (a.v[i] > hi.v[i] ? hi.v[i] : a.v[i]));
}
EDGEAI_INLINE ev4 ev_lookup(const int32_t* table, const uint8_t* idx) { EV_MAP(table[idx[i]]); }
EDGEAI_INLINE void ev_store_s8(int8_t* p, ev4 v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (int8_t)v.v[i];
}
EDGEAI_INLINE void ev_store_s8_n(int8_t* p, ev4 v, int32_t n)
{
    for (int i = 0; i < 4 && i < n; i++)
        p[i] = (int8_t)v.v[i];
}
EDGEAI_INLINE void ev_store_s32(int32_t* p, ev4 v)
{
    for (int i = 0; i < 4; i++)
        p[i] = v.v[i];
}
#endif

#endif
