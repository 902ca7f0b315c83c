/* cortex-m7 vector table (mps2-an500). Reset, fault reporting and SysTick
 * live in targets/common (reset.c, faults.c, systick.c). */
#include "board.h"
#include "edgeai_startup.h"

__attribute__((section(".vectors"), used)) const edgeai_vector_t edgeai_vectors[16 + EDGEAI_NUM_IRQS] = {
    [0] = (edgeai_vector_t)&__stack_top,
    [1] = Reset_Handler,
    [2] = Fault_Handler,   /* NMI */
    [3] = Fault_Handler,   /* HardFault */
    [4] = Fault_Handler,   /* MemManage */
    [5] = Fault_Handler,   /* BusFault */
    [6] = Fault_Handler,   /* UsageFault */
    [11] = Default_Handler, /* SVCall */
    [12] = Default_Handler, /* DebugMonitor */
    [14] = Default_Handler, /* PendSV */
    [15] = SysTick_Handler,
    [16 ... 16 + EDGEAI_NUM_IRQS - 1] = Default_Handler,
};
