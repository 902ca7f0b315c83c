/* The benchmark application's port for emulation only: the protocol's bytes go through Arm semihosting's console
 * (SYS_READ/SYS_WRITE on ":tt"), which QEMU connects to its own stdin and stdout.
 *
 * Why: QEMU's CMSDK UART model holds one received byte, so every byte of an upload costs a round of thread
 * hand-offs between QEMU's I/O thread and the emulated CPU (about 20 us on an idle machine, far more on a loaded
 * one). SYS_READ returns as many bytes as are waiting, so an upload moves in blocks. The protocol, its framing
 * and the handler are the same as on the UART; only the byte transport differs, and a board keeps
 * cmsdk_uart_port.c (which CI also runs, on QEMU's -serial pty).
 *
 * SYS_READ blocks until at least one byte is there, so the serve loop does not spin. Time comes from the host's
 * clock (SYS_ELAPSED, 64 bits: no wrap), read as each block arrives, so a frame torn by a pause is still dropped
 * when the next block comes. Cycles come from SysTick as on the UART port. */
#include <stdint.h>

#include "cortex_m_clock.h"
#include "edgeai_bench.h"

#define SYS_OPEN 0x01
#define SYS_WRITE 0x05
#define SYS_READ 0x06
#define SYS_ELAPSED 0x30
#define SYS_TICKFREQ 0x31
#define MODE_READ 0u
#define MODE_WRITE 4u

static int32_t console_in = -1, console_out = -1;
static uint8_t block[4096];
static uint32_t block_fill, block_next;
static uint32_t ticks_per_ms = 1u;
static uint32_t arrival_ms;

static int32_t semihost(uint32_t op, volatile uint32_t *args)
{
    register uint32_t r0 __asm__("r0") = op;
    register volatile uint32_t *r1 __asm__("r1") = args;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return (int32_t)r0;
}

static int32_t open_console(uint32_t mode)
{
    static const char name[] = ":tt";
    volatile uint32_t args[3] = {(uint32_t)(uintptr_t)name, mode, sizeof name - 1u};
    return semihost(SYS_OPEN, args);
}

static uint32_t host_millis(void)
{
    volatile uint32_t now[2] = {0, 0}; /* SYS_ELAPSED writes the 64-bit tick count here, low word first */
    if (semihost(SYS_ELAPSED, now) != 0) {
        return arrival_ms;
    }
    uint64_t ticks = ((uint64_t)now[1] << 32) | now[0];
    return (uint32_t)(ticks / ticks_per_ms);
}

int edgeai_port_init(void)
{
    edgeai_clock_init();
    console_in = open_console(MODE_READ);
    console_out = open_console(MODE_WRITE);
    int32_t freq = semihost(SYS_TICKFREQ, 0);
    ticks_per_ms = freq >= 1000 ? (uint32_t)freq / 1000u : 1u;
    return (console_in < 0 || console_out < 0) ? 1 : 0;
}

int edgeai_port_read_byte(uint8_t *byte)
{
    if (block_next == block_fill) {
        volatile uint32_t args[3] = {(uint32_t)console_in, (uint32_t)(uintptr_t)block, sizeof block};
        int32_t missing = semihost(SYS_READ, args); /* the number of bytes NOT read */
        arrival_ms = host_millis();
        block_next = 0;
        block_fill = (missing >= 0 && (uint32_t)missing <= sizeof block) ? sizeof block - (uint32_t)missing : 0u;
        if (block_fill == 0) {
            return 0;
        }
    }
    *byte = block[block_next++];
    return 1;
}

void edgeai_port_write(const uint8_t *data, size_t length)
{
    volatile uint32_t args[3] = {(uint32_t)console_out, (uint32_t)(uintptr_t)data, (uint32_t)length};
    (void)semihost(SYS_WRITE, args);
}

uint32_t edgeai_port_millis(void)
{
    return arrival_ms;
}

uint32_t edgeai_port_cycles(void)
{
    return edgeai_clock_cycles();
}
