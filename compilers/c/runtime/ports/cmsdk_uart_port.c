/* The benchmark application's port on the Arm MPS2/MPS3 boards QEMU emulates: the link is CMSDK UART0.
 *
 * Time comes from SysTick counting without its interrupt, polled while the application waits for bytes:
 * no interrupt ever runs inside a measured inference, so QEMU's instruction counts stay exact. */
#include <stdint.h>

#include "edgeai_bench.h"
#include "edgeai_board.h"

#define UART_REG(off) (*(volatile uint32_t *)(EDGEAI_UART0_BASE + (off)))
#define UART_DATA UART_REG(0x00)
#define UART_STATE UART_REG(0x04)
#define STATE_RX_FULL 0x2u

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_RELOAD 0x00FFFFFFu

static uint32_t last_count;
static uint64_t elapsed_ticks;

static uint64_t poll_ticks(void)
{
    /* The counter runs down; between two polls less than one wrap (0.67 s at 25 MHz) may pass. */
    uint32_t now = SYST_CVR & SYST_RELOAD;
    elapsed_ticks += (uint32_t)(last_count - now) & SYST_RELOAD;
    last_count = now;
    return elapsed_ticks;
}

int edgeai_port_init(void)
{
    edgeai_uart_init();
    SYST_CSR = 0;
    SYST_RVR = SYST_RELOAD;
    SYST_CVR = 0;
    SYST_CSR = 0x5u; /* enable, processor clock, no interrupt */
    last_count = SYST_CVR & SYST_RELOAD;
    return 0;
}

int edgeai_port_read_byte(uint8_t *byte)
{
    if ((UART_STATE & STATE_RX_FULL) == 0u) {
        return 0;
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
    return (uint32_t)(poll_ticks() / (EDGEAI_SYSTICK_HZ / 1000u));
}

uint32_t edgeai_port_cycles(void)
{
    /* SysTick ticks: under QEMU -icount shift=0 one tick is 1e9 / EDGEAI_SYSTICK_HZ instructions. */
    return (uint32_t)poll_ticks();
}
