/* Test program for the plugin's class mode: a loop whose instruction classes are known by construction.
 * CLASSES_N iterations, each: one LDM of 4 registers, three single loads (the second pipelined behind the
 * first, the third addressed by the second's result, so not pipelined), one SMLAD (mac), one SMULL (mul), one
 * UDIV, one VMLA.F32 (fp_mac), on MVE cores the nine MVE instructions below, one SUBS (alu) and one BNE (branch),
 * taken on all but the last iteration.
 *
 * The MVE run, scheduled by hand with the Cortex-M55 beat model (targets/qemu/mve_beats.h): issue cycle ->
 * first free cycle after it, per instruction; each holds its unit 2 cycles (the VMOV immediate 1).
 *   VLDRW  q1        load   0 -> 2
 *   VADD   q2,q1,q1  int    1 -> 3   another unit, q1 ready at 1: overlaps
 *   VMUL   q3,q2,q2  mul    2 -> 4   q3 ready at 4, for a store at 3
 *   VSTRW  q3        store  3 -> 5   a store of a multiply result waits one cycle only
 *   VADD   q4,q3,q3  int    4 -> 6
 *   VMUL   q5,q4,q4  mul    5 -> 7   q5 ready at 7
 *   VADD   q6,q5,q5  int    7 -> 9   waits for the multiply's latency (2): no overlap
 *   VMOV   q7,#0     move   8 -> 9   the multiply unit is free first (7)
 *   VFMA   q1,q2,q2  fp     9 -> 11  the multiply unit again (VMOV holds it until 9)
 * 17 cycles one after another, 11 scheduled: mve_overlap 6 per iteration; beats 8 x 4 + 2 = 34. */
#include <stdint.h>
#include <stdio.h>

#include "edgeai_marks.h"

#ifndef CLASSES_N
#define CLASSES_N 1000
#endif

static uint32_t block[8] __attribute__((aligned(16))) = {1, 3, 4, 5, 6, 7, 8, 9};

static __attribute__((noinline)) uint32_t kernel(const uint32_t *p, uint32_t n)
{
    uint32_t acc = 0;
    __asm__ volatile("1:\n"
                     "ldm %[p], {r4, r5, r6, r7}\n"
                     "ldr r4, [%[p], #4]\n"
                     "ldr r5, [%[p], #8]\n"
                     "ldr r6, [%[p], r5]\n"
                     "smlad %[acc], r4, r5, %[acc]\n"
                     "smull r6, r7, r4, r5\n"
                     "udiv r6, r4, r5\n"
                     "vmla.f32 s0, s1, s2\n"
#ifdef __ARM_FEATURE_MVE
                     "vldrw.u32 q1, [%[p]]\n"
                     "vadd.i32 q2, q1, q1\n"
                     "vmul.i32 q3, q2, q2\n"
                     "vstrw.32 q3, [%[p], #16]\n"
                     "vadd.i32 q4, q3, q3\n"
                     "vmul.i32 q5, q4, q4\n"
                     "vadd.i32 q6, q5, q5\n"
                     "vmov.i32 q7, #0\n"
                     "vfma.f32 q1, q2, q2\n"
#endif
                     "subs %[n], %[n], #1\n"
                     "bne 1b\n"
                     : [acc] "+r"(acc), [n] "+r"(n)
                     : [p] "r"(p)
                     : "r4", "r5", "r6", "r7", "s0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11",
                       "d12", "d13", "d14", "d15", "cc", "memory");
    return acc;
}

int main(void)
{
    edgeai_mark_begin();
    uint32_t acc = kernel(block, CLASSES_N);
    edgeai_mark_end();
    printf("classes n=%d acc=%lu\n", CLASSES_N, (unsigned long)acc);
    return 0;
}
