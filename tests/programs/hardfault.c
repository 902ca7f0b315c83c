/* Fault test: a store to an address with nothing behind it must end the
 * run with a fault report and a non-zero exit status, not a hang. */
#include <stdint.h>
#include <stdio.h>

int main(void)
{
    printf("before the fault\n");
    *(volatile uint32_t *)0xF0000000u = 0xDEADBEEFu;
    printf("after the fault\n");
    return 0;
}
