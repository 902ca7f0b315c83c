/* The benchmark application's port on a board's UART: CMSDK UART0 of the Arm MPS2/MPS3 boards (and their QEMU
 * models). This is the link a lab uses, at the UART's baud rate.
 *
 * No interrupt handler ever runs (PRIMASK stays set), so QEMU's instruction counts of an inference stay exact.
 * The UART's receive interrupt is still enabled at the source and in the NVIC: pending, it wakes WFI without
 * being taken. The receive loop sleeps in WFI until a byte arrives or SysTick wraps (cortex_m_clock.h), which
 * keeps the clock read at least once per wrap and, under QEMU, keeps the emulated CPU from spinning on the
 * status register against the thread that delivers the bytes (7.6 KiB/s spinning, 3x that sleeping). */
#include <stdint.h>

#include "cortex_m_clock.h"
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

#define NVIC_ISER(n) (*(volatile uint32_t *)(0xE000E100u + 4u * (n)))
#define NVIC_ICPR(n) (*(volatile uint32_t *)(0xE000E280u + 4u * (n)))
#define RX_IRQ_WORD (EDGEAI_UART0_RX_IRQ / 32u)
#define RX_IRQ_BIT (1u << (EDGEAI_UART0_RX_IRQ % 32u))

int edgeai_port_init(void)
{
    edgeai_clock_init();
    edgeai_uart_init();
    UART_CTRL |= CTRL_RX_INT_EN;
    NVIC_ICPR(RX_IRQ_WORD) = RX_IRQ_BIT;
    NVIC_ISER(RX_IRQ_WORD) = RX_IRQ_BIT;
    return 0;
}

int edgeai_port_read_byte(uint8_t *byte)
{
    if ((UART_STATE & STATE_RX_FULL) == 0u) {
        /* Clear what woke us last, read the clock (after the clear: a wrap from here on pends SysTick and wakes
         * the WFI, so no wrap goes unseen), look once more (a byte may have come in between), then sleep until
         * the next byte or SysTick wrap. */
        UART_INTCLEAR = INT_RX;
        NVIC_ICPR(RX_IRQ_WORD) = RX_IRQ_BIT;
        edgeai_clock_clear_wakeup();
        edgeai_clock_advance();
        if ((UART_STATE & STATE_RX_FULL) == 0u) {
            __asm__ volatile("dsb\n\twfi" ::: "memory");
        }
        edgeai_clock_advance();
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
    return edgeai_clock_millis();
}

uint32_t edgeai_port_cycles(void)
{
    return edgeai_clock_cycles();
}
