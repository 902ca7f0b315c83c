/* Reset: enable the FPU, set up the C run-time (.data, .bss, constructors),
 * bring up the UART, run main() and exit QEMU with its status. */
#include <stdlib.h>

#include "edgeai_board.h"
#include "edgeai_startup.h"

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

/* Symbols of targets/common/sections.ld. */
extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];
extern uint32_t __stack_limit[];
extern edgeai_vector_t __init_array_start[], __init_array_end[];

int main(void);
void _init(void);
void _fini(void);

/* Normally from crti.o, which -nostartfiles leaves out; newlib's exit()
 * calls _fini, constructors run from init_c_runtime(). */
void _init(void)
{
}

void _fini(void)
{
}

/* Kept out of line so nothing that may touch FP/MVE registers runs before
 * the FPU is enabled. */
static __attribute__((noinline)) void init_c_runtime(void)
{
    for (uint32_t *src = __data_load, *dst = __data_start; dst < __data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = __bss_start; dst < __bss_end;) {
        *dst++ = 0;
    }
    for (edgeai_vector_t *fn = __init_array_start; fn < __init_array_end; fn++) {
        (*fn)();
    }
}

void Reset_Handler(void)
{
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    SCB_CPACR |= 0xFu << 20; /* CP10 and CP11: full access */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
    /* Armv8-M: a stack overflow faults instead of corrupting .bss. */
    __asm__ volatile("msr msplim, %0" : : "r"(__stack_limit));
#endif
    init_c_runtime();
    edgeai_mpu_protect();
    edgeai_uart_init();
    /* No setvbuf(stdout, ...) here: it linked stdio (and malloc) into every firmware, ~5 KB the benchmark and
     * library firmwares never use. A program that prints still gets unbuffered output: _sbrk has no heap to give
     * (syscalls.c), and newlib's stdio then gives the stream its one-byte unbuffered buffer. */
    exit(main());
}
