/* SysTick fallback test: the same loop as checksum.c timed with
 * edgeai_ticks() (run under qemu -icount shift=0) and with the region markers. */
#include <stdint.h>
#include <stdio.h>

#include "edgeai_board.h"

#ifndef TICKS_N
#define TICKS_N 20000
#endif

static uint32_t data[TICKS_N];

int main(void)
{
    for (int i = 0; i < TICKS_N; i++) {
        data[i] = (uint32_t)i * 2654435761u;
    }
    edgeai_ticks_start();
    uint64_t start = edgeai_ticks();
    edgeai_mark_begin();
    uint32_t sum = 0x12345678u;
    for (int i = 0; i < TICKS_N; i++) {
        sum = (sum ^ data[i]) * 16777619u + (sum >> 13);
    }
    edgeai_mark_end();
    uint64_t stop = edgeai_ticks();
    printf("sum 0x%08lx ticks %lu hz %lu\n", (unsigned long)sum, (unsigned long)(stop - start),
           (unsigned long)EDGEAI_SYSTICK_HZ);
    return 0;
}
