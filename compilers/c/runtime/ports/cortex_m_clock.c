#include "cortex_m_clock.h"

#include "edgeai_board.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_RELOAD 0x00FFFFFFu
#define SYST_ENABLE_TICKINT_CPU 0x7u
#define SCB_ICSR (*(volatile uint32_t *)0xE000ED04u)
#define ICSR_PENDSTCLR (1u << 25)

#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DEMCR_TRCENA (1u << 24)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define DWT_NOCYCCNT (1u << 25)
#define DWT_CYCCNTENA 0x1u

#define TICKS_PER_MS (EDGEAI_SYSTICK_HZ / 1000u)

static uint32_t last_count; /* SysTick value at the last read */
static uint32_t tick_rest;  /* ticks not yet a whole millisecond */
static uint32_t millis;     /* milliseconds since init (wraps after 49 days, as the protocol expects) */
static uint32_t ticks;      /* ticks since init, modulo 2^32 */
static int have_dwt;

static int dwt_counts(void)
{
    DEMCR |= DEMCR_TRCENA;
    if (DWT_CTRL & DWT_NOCYCCNT) {
        return 0;
    }
    DWT_CYCCNT = 0;
    DWT_CTRL |= DWT_CYCCNTENA;
    uint32_t first = DWT_CYCCNT;
    for (volatile int i = 0; i < 64; i++) {
    }
    return DWT_CYCCNT != first; /* QEMU implements no DWT: it reads as zero */
}

void edgeai_clock_init(void)
{
    __asm__ volatile("cpsid i" ::: "memory"); /* pending interrupts only wake WFI; no handler runs */
    SYST_CSR = 0;
    SYST_RVR = SYST_RELOAD;
    SYST_CVR = 0;
    SYST_CSR = SYST_ENABLE_TICKINT_CPU;
    last_count = SYST_CVR & SYST_RELOAD;
    have_dwt = dwt_counts();
}

void edgeai_clock_advance(void)
{
    uint32_t now = SYST_CVR & SYST_RELOAD;
    uint32_t delta = (last_count - now) & SYST_RELOAD; /* the counter runs down */
    last_count = now;
    ticks += delta;
    tick_rest += delta;
    millis += tick_rest / TICKS_PER_MS;
    tick_rest %= TICKS_PER_MS;
}

void edgeai_clock_clear_wakeup(void)
{
    SCB_ICSR = ICSR_PENDSTCLR;
}

uint32_t edgeai_clock_millis(void)
{
    edgeai_clock_advance();
    return millis;
}

uint32_t edgeai_clock_cycles(void)
{
    if (have_dwt) {
        return DWT_CYCCNT;
    }
    /* SysTick ticks: under QEMU -icount shift=0 one tick is 1e9 / EDGEAI_SYSTICK_HZ instructions. Exact for an
     * inference shorter than one wrap; longer ones need the DWT (under QEMU the plugin counts instructions). */
    edgeai_clock_advance();
    return ticks;
}
