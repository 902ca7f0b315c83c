/* Fault reporting: print the fault registers and the faulting PC on UART0
 * (without stdio, which may be what broke) and exit QEMU with
 * EDGEAI_EXIT_FAULT, so a crash fails fast instead of hanging. */
#include "edgeai_board.h"
#include "edgeai_startup.h"

#define SCB_REG(addr) (*(volatile uint32_t *)(addr))
#define SCB_CFSR SCB_REG(0xE000ED28u)
#define SCB_HFSR SCB_REG(0xE000ED2Cu)
#define SCB_MMFAR SCB_REG(0xE000ED34u)
#define SCB_BFAR SCB_REG(0xE000ED38u)

void edgeai_fault_report(const uint32_t *frame, uint32_t exc_return) __attribute__((noreturn, used));

static void put_str(const char *s)
{
    while (*s) {
        edgeai_uart_putc(*s++);
    }
}

static void put_hex(const char *label, uint32_t value)
{
    static const char digits[] = "0123456789abcdef";
    put_str(label);
    put_str("=0x");
    for (int shift = 28; shift >= 0; shift -= 4) {
        edgeai_uart_putc(digits[(value >> shift) & 0xFu]);
    }
    put_str(" ");
}

void edgeai_fault_report(const uint32_t *frame, uint32_t exc_return)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    static const char *const names[] = {"?",         "Reset",      "NMI",         "HardFault",
                                        "MemManage", "BusFault",   "UsageFault",  "SecureFault"};
    uint32_t number = ipsr & 0x1FFu;
    put_str("\r\n*** edgeai: ");
    put_str(number < 8 ? names[number] : "unexpected exception");
    put_str(" ");
    put_hex("exception", number);
    put_hex("PC", frame[6]);
    put_hex("LR", frame[5]);
    put_hex("CFSR", SCB_CFSR);
    put_hex("HFSR", SCB_HFSR);
    put_hex("MMFAR", SCB_MMFAR);
    put_hex("BFAR", SCB_BFAR);
    put_hex("EXC_RETURN", exc_return);
    put_str("\r\n");
    edgeai_exit(EDGEAI_EXIT_FAULT);
}

/* Find the stacked exception frame (MSP or PSP per EXC_RETURN bit 2) and
 * hand it to the C reporter. */
__attribute__((naked)) void Fault_Handler(void)
{
    __asm__ volatile("tst lr, #4\n\t"
                     "ite eq\n\t"
                     "mrseq r0, msp\n\t"
                     "mrsne r0, psp\n\t"
                     "mov r1, lr\n\t"
                     "b edgeai_fault_report\n\t");
}

void Default_Handler(void) __attribute__((alias("Fault_Handler")));
