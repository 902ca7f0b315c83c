/* The benchmark application's port on the Arm MPS2/MPS3 boards QEMU emulates: the link is CMSDK UART0.
 *
 * No interrupt handler ever runs (PRIMASK stays set), so QEMU's instruction counts of an inference stay exact.
 * Interrupts are still enabled at their sources and in the NVIC: with PRIMASK set, a pending interrupt wakes WFI
 * without being taken. The receive loop sleeps in WFI until a byte arrives (UART0 RX) or SysTick wraps, which
 * keeps the emulated CPU from spinning on the UART's status register (under QEMU that spinning competes with the
 * thread delivering the bytes and held the link to 7.6 KiB/s) and guarantees the tick counter is read at least
 * once per SysTick wrap.
 *
 * Time: SysTick's 24-bit down-counter wraps every 0.67 s at 25 MHz (0.14 s at 120 MHz), so it is extended in
 * software at every read; a read happens at least once per wrap because SysTick's own wrap wakes the loop.
 * Cycles: the DWT cycle counter (32 bits at the core clock) where the core has one that counts; QEMU's DWT
 * reads as zero, so there SysTick ticks stand in. */
#include <stdint.h>

#include "edgeai_bench.h"
#include "edgeai_board.h"

#define UART_REG(off) (*(volatile uint32_t *)(EDGEAI_UART0_BASE + (off)))
#define UART_DATA UART_REG(0x00)
#define UART_STATE UART_REG(0x04)
#define UART_CTRL UART_REG(0x08)
#define UART_INTCLEAR UART_REG(0x0C)
#define STATE_RX_FULL 0x2u
#define CTRL_RX_INT_EN 0x8u
#define INT_RX 0x2u

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_RELOAD 0x00FFFFFFu
#define SYST_ENABLE_TICKINT_CPU 0x7u
#define SCB_ICSR (*(volatile uint32_t *)0xE000ED04u)
#define ICSR_PENDSTCLR (1u << 25)
#define NVIC_ISER(n) (*(volatile uint32_t *)(0xE000E100u + 4u * (n)))
#define NVIC_ICPR(n) (*(volatile uint32_t *)(0xE000E280u + 4u * (n)))

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

/* Everything that elapsed since the last read: must run at least once per SysTick wrap. */
static void advance_ticks(void)
{
    uint32_t now = SYST_CVR & SYST_RELOAD;
    uint32_t delta = (last_count - now) & SYST_RELOAD; /* the counter runs down */
    last_count = now;
    ticks += delta;
    tick_rest += delta;
    millis += tick_rest / TICKS_PER_MS;
    tick_rest %= TICKS_PER_MS;
}

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
    return DWT_CYCCNT != first; /* QEMU implements no DWT: reads as zero */
}

int edgeai_port_init(void)
{
    __asm__ volatile("cpsid i" ::: "memory"); /* pending interrupts only wake WFI; no handler runs */
    edgeai_uart_init();
    UART_CTRL |= CTRL_RX_INT_EN;
    NVIC_ICPR(EDGEAI_UART0_RX_IRQ / 32u) = 1u << (EDGEAI_UART0_RX_IRQ % 32u);
    NVIC_ISER(EDGEAI_UART0_RX_IRQ / 32u) = 1u << (EDGEAI_UART0_RX_IRQ % 32u);
    SYST_CSR = 0;
    SYST_RVR = SYST_RELOAD;
    SYST_CVR = 0;
    SYST_CSR = SYST_ENABLE_TICKINT_CPU;
    last_count = SYST_CVR & SYST_RELOAD;
    have_dwt = dwt_counts();
    return 0;
}

int edgeai_port_read_byte(uint8_t *byte)
{
    if ((UART_STATE & STATE_RX_FULL) == 0u) {
        /* Clear what woke us last, look once more (a byte may have come in between), then sleep until the next
         * byte or SysTick wrap. */
        UART_INTCLEAR = INT_RX;
        NVIC_ICPR(EDGEAI_UART0_RX_IRQ / 32u) = 1u << (EDGEAI_UART0_RX_IRQ % 32u);
        SCB_ICSR = ICSR_PENDSTCLR;
        if ((UART_STATE & STATE_RX_FULL) == 0u) {
            __asm__ volatile("dsb\n\twfi" ::: "memory");
        }
        advance_ticks();
        if ((UART_STATE & STATE_RX_FULL) == 0u) {
            return 0;
        }
    }
    *byte = (uint8_t)UART_DATA;
    return 1;
}

void edgeai_port_write(const uint8_t *data, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        edgeai_uart_putc((char)data[i]); /* raw bytes: no newline translation on the protocol link */
    }
}

uint32_t edgeai_port_millis(void)
{
    advance_ticks();
    return millis;
}

uint32_t edgeai_port_cycles(void)
{
    if (have_dwt) {
        return DWT_CYCCNT;
    }
    /* SysTick ticks: under QEMU -icount shift=0 one tick is 1e9 / EDGEAI_SYSTICK_HZ instructions. Exact for an
     * inference shorter than one wrap; longer ones need the DWT (the host has QEMU's instruction count). */
    advance_ticks();
    return ticks;
}
