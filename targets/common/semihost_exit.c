/* Exit QEMU with a status through Arm semihosting (needs
 * `-semihosting-config enable=on,target=native`). */
#include "edgeai_board.h"

#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

void edgeai_exit(int status)
{
    /* SYS_EXIT_EXTENDED takes a two-word block: reason, exit status. */
    volatile uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
    register uint32_t op __asm__("r0") = SYS_EXIT_EXTENDED;
    register volatile uint32_t *arg __asm__("r1") = block;
    __asm__ volatile("bkpt 0xab" : : "r"(op), "r"(arg) : "memory");
    for (;;) { /* without a debugger/semihosting: stop here */
        __asm__ volatile("wfi");
    }
}
