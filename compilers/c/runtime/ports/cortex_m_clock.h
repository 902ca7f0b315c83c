/* Time and cycles for the benchmark firmware's Cortex-M ports, without any interrupt handler.
 *
 * Time: SysTick's 24-bit down-counter wraps every 0.67 s at 25 MHz (0.14 s at 120 MHz), so it is extended in
 * software at every read; the port must read it at least once per wrap. With SysTick's interrupt enabled at the
 * source but PRIMASK set, each wrap pends SysTick, which wakes a WFI without a handler running.
 * Cycles: the DWT cycle counter (32 bits at the core clock) where the core has one that counts; QEMU's DWT
 * reads as zero, so there SysTick ticks stand in. */
#ifndef EDGEAI_CORTEX_M_CLOCK_H
#define EDGEAI_CORTEX_M_CLOCK_H

#include <stdint.h>

void edgeai_clock_init(void);
/* Everything elapsed since the last read; call at least once per SysTick wrap. */
void edgeai_clock_advance(void);
/* Clear a pending SysTick wrap before sleeping in WFI. */
void edgeai_clock_clear_wakeup(void);
uint32_t edgeai_clock_millis(void);
uint32_t edgeai_clock_cycles(void);

#endif
