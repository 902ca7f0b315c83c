/* CMSDK APB UART driver, transmit only, polled. */
#include "edgeai_board.h"

#define UART_REG(off) (*(volatile uint32_t *)(EDGEAI_UART0_BASE + (off)))
#define UART_DATA UART_REG(0x00)
#define UART_STATE UART_REG(0x04)
#define UART_CTRL UART_REG(0x08)
#define UART_BAUDDIV UART_REG(0x10)

#define STATE_TX_FULL 0x1u
#define CTRL_TX_EN 0x1u
#define CTRL_RX_EN 0x2u

void edgeai_uart_init(void)
{
    UART_BAUDDIV = 16; /* smallest divider the CMSDK UART accepts */
    UART_CTRL = CTRL_TX_EN | CTRL_RX_EN;
}

void edgeai_uart_putc(char c)
{
    while (UART_STATE & STATE_TX_FULL) {
    }
    UART_DATA = (uint8_t)c;
}

void edgeai_uart_write(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n') {
            edgeai_uart_putc('\r');
        }
        edgeai_uart_putc(buf[i]);
    }
}
