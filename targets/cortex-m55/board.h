/* QEMU mps3-an547 (Arm MPS3 FPGA, AN547 Corstone-300 image); core runs in Secure state. */
#ifndef EDGEAI_TARGET_BOARD_H
#define EDGEAI_TARGET_BOARD_H

#define EDGEAI_UART0_BASE 0x59303000u /* CMSDK APB UART0 */
#define EDGEAI_UART0_RX_IRQ 33u /* its receive interrupt (QEMU hw/arm/mps2-tz.c, an547) */
#define EDGEAI_SYSTICK_HZ 32000000u /* QEMU system clock driving SysTick */
#define EDGEAI_NUM_IRQS 96
/* Flash-like memory the MPU makes read-only: {base, limit}, ... */
#define EDGEAI_READONLY_REGIONS \
    {0x00000000u, 0x1007FFFFu} /* up to the end of ITCM (Secure alias) */, \
    {0x38000000u, 0x387FFFFFu} /* QSPI flash */

#endif
