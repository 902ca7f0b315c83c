/* Services every edgeai Cortex-M board port provides (the .c files of targets/common). */
#ifndef EDGEAI_BOARD_H
#define EDGEAI_BOARD_H

#include <stddef.h>
#include <stdint.h>

/* board.h of the target (found on the include path) gives:
 *   EDGEAI_UART0_BASE  CMSDK APB UART0 base address
 *   EDGEAI_UART0_RX_IRQ  its receive interrupt number
 *   EDGEAI_SYSTICK_HZ  SysTick clock (QEMU's system clock for the board)  */
#include "board.h"

/* UART0 (CMSDK APB UART): blocking byte output. */
void edgeai_uart_init(void);
void edgeai_uart_putc(char c);
void edgeai_uart_write(const char *buf, size_t len);

/* Make the flash-like regions of board.h read-only (mpu_guard.c). */
void edgeai_mpu_protect(void);

/* Leave QEMU through Arm semihosting with this exit status. */
void edgeai_exit(int status) __attribute__((noreturn));

/* Region markers for the instruction-counting QEMU plugin. */
#include "edgeai_marks.h"

/* SysTick tick counter (systick.c): 24-bit hardware counter extended in
 * software by the SysTick interrupt. Under `qemu -icount shift=0` one
 * instruction is 1 ns of virtual time, so one tick is
 * 1e9 / EDGEAI_SYSTICK_HZ instructions (40 at 25 MHz). */
void edgeai_ticks_start(void);
uint64_t edgeai_ticks(void);

#endif
