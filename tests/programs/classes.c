/* Test program for the plugin's class mode: a loop whose instruction classes are known by construction.
 * CLASSES_N iterations, each: one LDM of 4 registers, three single loads (the second pipelined behind the
 * first, the third addressed by the second's result, so not pipelined), one SMLAD (mac), one SMULL (mul), one
 * UDIV, one VMLA.F32 (fp_mac), on MVE cores one VLDRW (mve_load_store) and one VADD.I32 (mve), one SUBS (alu)
 * and one BNE (branch), taken on all but the last iteration. */
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
#endif
                     "subs %[n], %[n], #1\n"
                     "bne 1b\n"
                     : [acc] "+r"(acc), [n] "+r"(n)
                     : [p] "r"(p)
                     : "r4", "r5", "r6", "r7", "s0", "d1", "d2", "d3", "d4", "d5", "cc", "memory");
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
