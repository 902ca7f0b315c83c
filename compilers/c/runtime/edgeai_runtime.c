#include "edgeai_runtime.h"

/* Designated initializers keep each message next to its code, so the two cannot drift apart. */
static const char *const status_strings[EDGEAI_STATUS_COUNT] = {
    [EDGEAI_OK] = "ok",
    [EDGEAI_ERR_NULL_POINTER] = "input, output or arena pointer is NULL",
    [EDGEAI_ERR_MISALIGNED_ARENA] = "arena is not aligned to the model's ARENA_ALIGN",
    [EDGEAI_ERR_KERNEL] = "a kernel reported failure",
    [EDGEAI_ERR_WORKSPACE] = "a kernel asked for dynamic workspace, which the runtime never allocates",
};

const char *edgeai_status_string(int32_t status)
{
    if (status < 0 || status >= EDGEAI_STATUS_COUNT || status_strings[status] == NULL) {
        return "unknown status";
    }
    return status_strings[status];
}

#if defined(__GNUC__)
#define EDGEAI_WEAK __attribute__((weak))
#else
#define EDGEAI_WEAK
#endif

EDGEAI_WEAK void edgeai_layer_begin(int32_t layer) { (void)layer; }
EDGEAI_WEAK void edgeai_layer_end(int32_t layer) { (void)layer; }
