/* int8 ADD on Helium (MVE); see add_s8_mve.h.
 *
 * Four elements per step: two VLDRB.U32 of the bytes, two gathers (VLDRW.U32 [table, byte, UXTW #2]) of their
 * rescaled values, one VADD, then the output stage on four lanes:
 *   TFLite: the table entries are doubled (the DSP kernel's SMMLAR form), so VRMULH(sum, M) = (2s M + 2^31) >> 32
 *           is SaturatingRoundingDoublingHighMul(s, M); adding the sign of the sum and then 2^(e-1) + (zp << e)
 *           before the arithmetic shift by e rounds halves away from zero (RoundingDivideByPOT, e >= 1), as in
 *           nn_s8.c's add_one;
 *   ONNX:   (sum + 2^(e-1) - 1 + ((sum >> e) & 1)) >> e, halves to even, plus the output zero point.
 */
#include "add_s8_mve.h"

#include "mve_lanes.h"

EDGEAI_INLINE ev4 add_output(ev4 sum, const int32_t* p, int32_t mode)
{
    const int32_t mult = p[1], e = p[2], round = p[3];
    if (mode == 0) {
        return ev_shl_r(ev_add_n(ev_add(ev_rmulh_n(sum, mult), ev_sign(sum)), round), -e);
    }
    const ev4 odd = ev_and_n(ev_shl_r(sum, -e), 1);
    return ev_add_n(ev_shl_r(ev_add_n(ev_add(sum, odd), (1 << (e - 1)) - 1), -e), round);
}

EDGEAI_INLINE void add_s8_mve(const uint8_t* a, const uint8_t* b, const int32_t* tables, const int32_t* p,
                              int8_t* output, int32_t mode)
{
    const int32_t n = p[0];
    const int32_t* t2 = tables + 256;
    const ev4 lo = ev_dup(p[4]), hi = ev_dup(p[5]);
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const ev4 sum = ev_add(ev_lookup(tables, a + i), ev_lookup(t2, b + i));
        ev_store_s8(output + i, ev_clamp(add_output(sum, p, mode), lo, hi));
    }
    for (; i < n; i++) { /* at most three: scalar, so no lane reads past either input */
        const ev4 sum = ev_dup(tables[a[i]] + t2[b[i]]);
        ev_store_s8_n(output + i, ev_clamp(add_output(sum, p, mode), lo, hi), 1);
    }
}

int32_t edgeai_add_s8_mve(const int8_t* input1, const int8_t* input2, const int32_t* tables, const int32_t* p,
                          int8_t* output)
{
    add_s8_mve((const uint8_t*)input1, (const uint8_t*)input2, tables, p, output, 0);
    return 0;
}

int32_t edgeai_add_s8_mve_one_rounding(const int8_t* input1, const int8_t* input2, const int32_t* tables,
                                       const int32_t* p, int8_t* output)
{
    add_s8_mve((const uint8_t*)input1, (const uint8_t*)input2, tables, p, output, 1);
    return 0;
}
