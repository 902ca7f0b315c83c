/* A user's firmware, as a newcomer writes it: its own main() calling the emitted library's kws_run, with
 * the arena in the .edgeai_arena section of our Cortex-M linker script. The build systems under test
 * (CMakeLists.txt: find_package or add_subdirectory; Makefile: the kws.mk fragment) only bring in the
 * library. user_input.h, written by the test, holds the input as the firmware's own constant data. */
#include <stdint.h>
#include <stdio.h>

#include "kws_model.h"
#include "user_input.h"

static uint8_t arena[KWS_ARENA_SIZE] __attribute__((aligned(KWS_ARENA_ALIGN), section(".edgeai_arena")));
static int8_t output[KWS_OUTPUT_SIZE];

int main(void)
{
    int32_t status = kws_run(user_input, output, arena);
    printf("status %ld\n", (long)status);
    printf("output");
    for (unsigned i = 0; i < KWS_OUTPUT0_BYTES; i++) {
        printf(" %d", output[KWS_OUTPUT0_OFFSET + i]);
    }
    printf("\n");
    return status == 0 ? 0 : 1;
}
