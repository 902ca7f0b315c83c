/* The benchmark firmware's entry point: binds the model named in edgeai_bench_model.h (generated per build)
 * to the protocol handler and serves the link forever. All buffers are static: nothing is allocated. */
#include <stdint.h>
#include <string.h>

#include "edgeai_bench.h"
#include "edgeai_bench_model.h"

#if defined(__GNUC__)
#define BENCH_ALIGNED __attribute__((aligned(BENCH_ARENA_ALIGN)))
#else
#define BENCH_ALIGNED
#endif

static uint8_t arena[BENCH_ARENA_SIZE > 0 ? BENCH_ARENA_SIZE : 1] BENCH_ALIGNED;
static uint8_t input_blob[BENCH_INPUT_SIZE > 0 ? BENCH_INPUT_SIZE : 1] BENCH_ALIGNED;
static uint8_t output_blob[BENCH_OUTPUT_SIZE > 0 ? BENCH_OUTPUT_SIZE : 1] BENCH_ALIGNED;
static edgeai_bench_t bench;
static const uint8_t model_id[EDGEAI_PROTO_MODEL_ID] = BENCH_MODEL_ID;

/* The board's own set-up (UART, tick counter); the host port opens its listening socket. */
int edgeai_port_init(void);

int main(void)
{
    if (edgeai_port_init() != 0) {
        return 1;
    }
    bench.name = BENCH_NAME;
    bench.run = BENCH_RUN;
    bench.input = input_blob;
    bench.input_size = BENCH_INPUT_SIZE;
    bench.output = output_blob;
    bench.output_size = BENCH_OUTPUT_SIZE;
    bench.arena = arena;
    bench.arena_size = BENCH_ARENA_SIZE;
    bench.clock_hz = BENCH_CLOCK_HZ;
    bench.target = BENCH_TARGET;
    memcpy(bench.model_id, model_id, sizeof model_id);
    edgeai_bench_init(&bench);
    edgeai_bench_serve(&bench);
    return 0;
}
