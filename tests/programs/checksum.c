/* Test program for the targets layer: a checksum over an array, computed
 * between the region markers, printed with printf. CHECKSUM_N sets the loop
 * length (the instruction count must scale with it). */
#include <stdint.h>
#include <stdio.h>

#include "edgeai_marks.h"

#ifndef CHECKSUM_N
#define CHECKSUM_N 1000
#endif

static uint32_t data[CHECKSUM_N];

static uint32_t checksum(const uint32_t *values, int n)
{
    uint32_t sum = 0x12345678u;
    for (int i = 0; i < n; i++) {
        sum = (sum ^ values[i]) * 16777619u + (sum >> 13);
    }
    return sum;
}

int main(void)
{
    for (int i = 0; i < CHECKSUM_N; i++) {
        data[i] = (uint32_t)i * 2654435761u;
    }
    edgeai_mark_begin();
    uint32_t sum = checksum(data, CHECKSUM_N);
    edgeai_mark_end();
    printf("checksum n=%d 0x%08lx\n", CHECKSUM_N, (unsigned long)sum);
    return 0;
}
