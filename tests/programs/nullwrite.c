/* Fault test: a store through a NULL pointer must fault (the MPU keeps the
 * vector table read-only) instead of corrupting it. */
#include <stdint.h>
#include <stdio.h>

int main(void)
{
    volatile uint32_t *volatile null = 0;
    printf("before the fault\n");
    null[3] = 0x2001a;
    printf("after the fault\n");
    return 0;
}
