/* Exception handlers shared by every Cortex-M board (reset.c, faults.c,
 * systick.c). Each target's startup.c places them in its vector table. */
#ifndef EDGEAI_STARTUP_H
#define EDGEAI_STARTUP_H

#include <stdint.h>

typedef void (*edgeai_vector_t)(void);

/* Exit status a firmware reports after a fault (HardFault, BusFault, ...). */
#define EDGEAI_EXIT_FAULT 3

extern uint32_t __stack_top; /* linker.ld: initial main stack pointer */

void Reset_Handler(void) __attribute__((noreturn));
void Fault_Handler(void);   /* HardFault, MemManage, BusFault, UsageFault, SecureFault, NMI */
void Default_Handler(void); /* any other exception or interrupt: reported as a fault */
void SysTick_Handler(void);

#endif
