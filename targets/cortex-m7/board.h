/* QEMU mps2-an500 (Arm MPS2+ FPGA, AN500 Cortex-M7 image). */
#ifndef EDGEAI_TARGET_BOARD_H
#define EDGEAI_TARGET_BOARD_H

#define EDGEAI_UART0_BASE 0x40004000u /* CMSDK APB UART0 */
#define EDGEAI_UART0_RX_IRQ 0u /* its receive interrupt (QEMU hw/arm/mps2.c) */
#define EDGEAI_SYSTICK_HZ 25000000u /* QEMU system clock driving SysTick */
#define EDGEAI_NUM_IRQS 32
/* Flash-like memory the MPU makes read-only: {base, limit}, ... */
#define EDGEAI_READONLY_REGIONS \
    {0x00000000u, 0x003FFFFFu} /* SSRAM1: code and constants */

#endif
