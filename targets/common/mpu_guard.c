/* Write-protect the flash-like regions with the MPU, as real flash is: a
 * store through a NULL (or wild) pointer then faults instead of silently
 * rewriting the vector table or code, which QEMU keeps in RAM.
 * board.h lists the regions: EDGEAI_READONLY_REGIONS {base, limit}, ...
 * Everything else keeps the default memory map (PRIVDEFENA). */
#include "edgeai_board.h"

#define MPU_REG(addr) (*(volatile uint32_t *)(addr))
#define MPU_CTRL MPU_REG(0xE000ED94u)
#define MPU_RNR MPU_REG(0xE000ED98u)
#define MPU_RBAR MPU_REG(0xE000ED9Cu)
#define MPU_RASR MPU_REG(0xE000EDA0u) /* Armv7-M; RLAR on Armv8-M */
#define MPU_MAIR0 MPU_REG(0xE000EDC0u)

#define CTRL_ENABLE 0x1u
#define CTRL_PRIVDEFENA 0x4u

static const struct {
    uint32_t base, limit;
} readonly[] = {EDGEAI_READONLY_REGIONS};

void edgeai_mpu_protect(void)
{
    MPU_CTRL = 0;
    for (uint32_t i = 0; i < sizeof readonly / sizeof readonly[0]; i++) {
        MPU_RNR = i;
#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
        /* PMSAv8: 32-byte granules; AP=0b11 read-only at any privilege. */
        MPU_RBAR = (readonly[i].base & ~0x1Fu) | (0x3u << 1);
        MPU_RASR = (readonly[i].limit & ~0x1Fu) | (0u << 1) | 0x1u; /* RLAR: AttrIndx 0, enable */
#else
        /* PMSAv7: power-of-two size, base aligned to it; AP=0b110 read-only. */
        uint32_t size_log2 = 32u - (uint32_t)__builtin_clz(readonly[i].limit - readonly[i].base);
        MPU_RBAR = readonly[i].base;
        MPU_RASR = (0x6u << 24) | (1u << 17) | ((size_log2 - 1u) << 1) | 0x1u; /* AP, C, SIZE, enable */
#endif
    }
#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
    MPU_MAIR0 = 0x44u; /* attribute 0: normal memory, non-cacheable */
#endif
    MPU_CTRL = CTRL_ENABLE | CTRL_PRIVDEFENA;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}
