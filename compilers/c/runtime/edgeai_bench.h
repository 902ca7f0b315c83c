/* The benchmark application's protocol handler. Hardware-agnostic: the board supplies the port functions,
 * and the host build links it against a model (or a fuzzer) to test it. No allocation. */
#ifndef EDGEAI_BENCH_H
#define EDGEAI_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "edgeai_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int32_t (*edgeai_model_run_fn)(const void *input, void *output, void *arena);

typedef struct {
    /* What the application binds: the model and the buffers it owns. */
    const char *name;
    edgeai_model_run_fn run;
    uint8_t *input;
    uint32_t input_size;
    uint8_t *output;
    uint32_t output_size;
    void *arena;
    uint32_t arena_size;
    uint32_t clock_hz;
    const char *target;                          /* the target the firmware was built for */
    uint8_t model_id[EDGEAI_PROTO_MODEL_ID];     /* the library's hash: the host checks it names its model */
    /* State. */
    uint32_t input_cursor;   /* bytes of the input blob received in order since the last RUN or restart */
    uint32_t last_chunk_offset;
    uint32_t runs;
    int32_t last_status;
    uint32_t last_cycles;    /* cycle counter delta of the last inference (0 where the core has none) */
    uint32_t last_byte_ms;
    edgeai_parser_t parser;
} edgeai_bench_t;

/* Board port, defined by the target's board code. */
/* 1 and a byte if one is waiting, else 0. It may wait for a byte (sleep), but returns at least once per wrap of
 * the counter edgeai_port_millis extends, so the serve loop reads the clock often enough. */
int edgeai_port_read_byte(uint8_t *byte);
void edgeai_port_write(const uint8_t *data, size_t length);
uint32_t edgeai_port_millis(void);
uint32_t edgeai_port_cycles(void);
/* Markers around each inference; QEMU's instruction-counting plugin watches their addresses. */
void edgeai_mark_begin(void);
void edgeai_mark_end(void);

void edgeai_bench_init(edgeai_bench_t *bench);
/* Feeds one received byte at time now_ms; returns the size of a response written to out, or 0. */
size_t edgeai_bench_feed(edgeai_bench_t *bench, uint8_t byte, uint32_t now_ms, uint8_t *out, size_t capacity);
/* Time passes without a byte: drops a frame left half-received for EDGEAI_PROTO_TIMEOUT_MS. */
void edgeai_bench_idle(edgeai_bench_t *bench, uint32_t now_ms);
/* The BOOT frame announcing a (re)start, into out; returns its size. */
size_t edgeai_bench_boot(uint8_t *out, size_t capacity);
/* Answers one parsed frame into out; returns the response size. */
size_t edgeai_bench_handle(edgeai_bench_t *bench, const edgeai_frame_t *frame, uint8_t *out, size_t capacity);
/* Serves the protocol forever through the port functions. */
void edgeai_bench_serve(edgeai_bench_t *bench);

#ifdef __cplusplus
}
#endif

#endif /* EDGEAI_BENCH_H */
