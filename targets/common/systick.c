/* SysTick as a free-running tick counter: the 24-bit down-counter runs from
 * the processor clock and its interrupt counts wraps. */
#include "edgeai_board.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

#define CSR_ENABLE 0x1u
#define CSR_TICKINT 0x2u
#define CSR_CLKSOURCE_CPU 0x4u
#define RELOAD 0x00FFFFFFu

static volatile uint32_t wraps;

void SysTick_Handler(void);

void SysTick_Handler(void)
{
    wraps++;
}

void edgeai_ticks_start(void)
{
    SYST_CSR = 0;
    SYST_RVR = RELOAD;
    SYST_CVR = 0;
    wraps = 0;
    SYST_CSR = CSR_ENABLE | CSR_TICKINT | CSR_CLKSOURCE_CPU;
}

uint64_t edgeai_ticks(void)
{
    uint32_t high, low;
    do { /* retry if a wrap interrupt came between the two reads */
        high = wraps;
        /* Ticks since the last wrap: the counter starts at 0, reloads to
         * RELOAD on the first tick and wraps (interrupt) on reaching 0 again. */
        low = (RELOAD - SYST_CVR + 1u) & RELOAD;
    } while (high != wraps);
    return ((uint64_t)high << 24) + low;
}
