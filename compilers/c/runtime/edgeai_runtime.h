/* edgeai runtime shim: what generated model code links against. C99, no allocation, no global mutable state. */
#ifndef EDGEAI_RUNTIME_H
#define EDGEAI_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes returned by every generated <prefix>_run(); 0 is success. */
typedef enum {
    EDGEAI_OK = 0,
    EDGEAI_ERR_NULL_POINTER = 1,    /* input, output or arena is NULL */
    EDGEAI_ERR_MISALIGNED_ARENA = 2, /* arena not aligned to <PREFIX>_ARENA_ALIGN */
    EDGEAI_ERR_KERNEL = 3,          /* a kernel reported failure */
    EDGEAI_ERR_WORKSPACE = 4,       /* a kernel asked for dynamic workspace: never granted */
    EDGEAI_STATUS_COUNT
} edgeai_status_t;

/* A fixed message for each status; never NULL. */
const char *edgeai_status_string(int32_t status);

/* Profiling hooks, called around each layer when the library is built with -DEDGEAI_PROFILE.
 * The target's board code defines them (cycle counter, QEMU markers); the defaults do nothing. */
void edgeai_layer_begin(int32_t layer);
void edgeai_layer_end(int32_t layer);

#ifdef __cplusplus
}
#endif

#endif /* EDGEAI_RUNTIME_H */
