/* Fuzz harness for the benchmark firmware's protocol handler (edgeai_bench_feed and the frame parser below it),
 * built for the host with -fsanitize=address,undefined.
 *
 * A tiny fake model is bound to the handler. Its input, output and arena buffers sit in one heap block each,
 * between guard canaries, so a write outside a buffer is caught by the canary check even where AddressSanitizer
 * sees valid memory, and a stray access past the block by AddressSanitizer. The bench state itself is guarded
 * the same way. Every response must fit the output capacity and be one valid frame; invariants of the handler
 * are checked after every byte.
 *
 * Input: the bytes to feed, in order. The clock (starting 4 s before its 32-bit wrap) advances 1 ms per byte;
 * two 0xFE bytes in a row stand for a pause of 1 s (longer than EDGEAI_PROTO_TIMEOUT_MS), so the fuzzer reaches
 * the timeout paths too.
 *
 * Standalone: proto_fuzz INPUT_SIZE OUTPUT_SIZE ARENA_SIZE FILE... (one run per file; exit 0 = no finding).
 * With -DEDGEAI_LIBFUZZER it is a libFuzzer target instead (clang -fsanitize=fuzzer,address,undefined). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgeai_bench.h"

#define GUARD 64u
#define CANARY 0xA5u

static void fail(const char *what, size_t at)
{
    fprintf(stderr, "proto_fuzz: %s (at input byte %zu)\n", what, at);
    abort();
}

/* A buffer of `size` bytes between two guard zones inside one allocation. */
typedef struct {
    uint8_t *block;
    uint8_t *data;
    size_t size;
} guarded_t;

static guarded_t guarded_new(size_t size, size_t align)
{
    guarded_t g;
    size_t lead = GUARD + align;
    g.block = malloc(lead + size + GUARD);
    if (g.block == NULL) {
        fail("out of memory", 0);
    }
    memset(g.block, CANARY, lead + size + GUARD);
    g.data = g.block + lead - ((uintptr_t)(g.block + lead) % align);
    g.size = size;
    return g;
}

static int guarded_intact(const guarded_t *g)
{
    for (const uint8_t *p = g->block; p < g->data; p++) {
        if (*p != CANARY) {
            return 0;
        }
    }
    for (size_t i = 0; i < GUARD; i++) {
        if (g->data[g->size + i] != CANARY) {
            return 0;
        }
    }
    return 1;
}

/* -- the fake model and the board port ------------------------------------------------------------------ */
static guarded_t in_buf, out_buf, arena_buf;
static uint32_t runs_seen;

static int32_t fake_run(const void *input, void *output, void *arena)
{
    if (input != in_buf.data || output != out_buf.data || arena != arena_buf.data) {
        fail("model called with foreign buffers", 0);
    }
    const uint8_t *x = input;
    uint8_t *y = output, *a = arena;
    uint32_t sum = 0;
    for (size_t i = 0; i < in_buf.size; i++) {
        sum = sum * 31u + x[i];
    }
    for (size_t i = 0; i < arena_buf.size; i++) {
        a[i] = (uint8_t)(sum >> (i % 4 * 8));
    }
    for (size_t i = 0; i < out_buf.size; i++) {
        y[i] = (uint8_t)(sum + i);
    }
    runs_seen++;
    /* A non-zero status now and then exercises the RUN_FAILED path. */
    return (in_buf.size != 0 && x[0] == 0xEE) ? 7 : 0;
}

int edgeai_port_read_byte(uint8_t *byte)
{
    (void)byte;
    return 0;
}
void edgeai_port_write(const uint8_t *data, size_t length)
{
    (void)data;
    (void)length;
}
uint32_t edgeai_port_millis(void)
{
    return 0;
}
uint32_t edgeai_port_cycles(void)
{
    return runs_seen * 1000u;
}
void edgeai_mark_begin(void)
{
}
void edgeai_mark_end(void)
{
}

/* -- one run ------------------------------------------------------------------------------------------- */
static void check_response(const uint8_t *out, size_t size, size_t capacity, size_t at)
{
    if (size > capacity) {
        fail("response larger than the buffer", at);
    }
    /* It must parse back as exactly one valid frame. */
    edgeai_parser_t parser;
    edgeai_parser_reset(&parser);
    edgeai_frame_t frame;
    edgeai_proto_status_t error = EDGEAI_PROTO_OK;
    for (size_t i = 0; i < size; i++) {
        edgeai_feed_t r = edgeai_parser_feed(&parser, out[i], &frame, &error);
        if (r == EDGEAI_FEED_ERROR || (r == EDGEAI_FEED_FRAME && i + 1 != size)) {
            fail("response is not one valid frame", at);
        }
        if (r == EDGEAI_FEED_FRAME && (frame.length < 1u || frame.payload[0] >= EDGEAI_PROTO_STATUS_COUNT)) {
            fail("response without a valid status byte", at);
        }
        if (i + 1 == size && r != EDGEAI_FEED_FRAME) {
            fail("response is a partial frame", at);
        }
    }
}

static void run_one(const uint8_t *data, size_t size, uint32_t input_size, uint32_t output_size,
                    uint32_t arena_size)
{
    in_buf = guarded_new(input_size, 8);
    out_buf = guarded_new(output_size, 8);
    arena_buf = guarded_new(arena_size, 16);
    guarded_t state = guarded_new(sizeof(edgeai_bench_t), 8);
    guarded_t response = guarded_new(EDGEAI_PROTO_MAX_FRAME, 4);
    edgeai_bench_t *bench = (edgeai_bench_t *)(void *)state.data;

    memset(bench, 0, sizeof *bench);
    bench->name = "fuzz-model-with-a-name-longer-than-the-info-frame-allows-for-sure";
    bench->run = fake_run;
    bench->input = in_buf.data;
    bench->input_size = input_size;
    bench->output = out_buf.data;
    bench->output_size = output_size;
    bench->arena = arena_buf.data;
    bench->arena_size = arena_size;
    bench->clock_hz = 25000000u;
    bench->target = "a-target-name-longer-than-the-info-frame-allows-for-it-too";
    memset(bench->model_id, 0x5A, sizeof bench->model_id);
    edgeai_bench_init(bench);

    uint32_t now = 0xFFFFF000u; /* the millisecond clock wraps a few seconds in: timeouts must work across it */
    for (size_t i = 0; i < size; i++) {
        now += (i > 0 && data[i] == 0xFEu && data[i - 1] == 0xFEu) ? 1000u : 1u;
        size_t n = edgeai_bench_feed(bench, data[i], now, response.data, response.size);
        if (n != 0) {
            check_response(response.data, n, response.size, i);
        }
        if (!guarded_intact(&in_buf) || !guarded_intact(&out_buf) || !guarded_intact(&arena_buf) ||
            !guarded_intact(&state) || !guarded_intact(&response)) {
            fail("write outside a buffer", i);
        }
        if (bench->input_cursor > bench->input_size || bench->parser.fill > sizeof bench->parser.buf ||
            bench->parser.need > sizeof bench->parser.buf) {
            fail("handler state out of range", i);
        }
    }
    free(in_buf.block);
    free(out_buf.block);
    free(arena_buf.block);
    free(state.block);
    free(response.block);
}

#ifdef EDGEAI_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The first byte picks the model's buffer sizes, so one corpus covers several shapes. */
    static const uint32_t sizes[4][3] = {{37, 13, 16}, {1000, 600, 64}, {0, 0, 0}, {511, 511, 8}};
    if (size == 0) {
        return 0;
    }
    const uint32_t *s = sizes[data[0] % 4];
    run_one(data + 1, size - 1, s[0], s[1], s[2]);
    return 0;
}
#else
int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: proto_fuzz INPUT_SIZE OUTPUT_SIZE ARENA_SIZE FILE...\n");
        return 2;
    }
    uint32_t sizes[3];
    for (int i = 0; i < 3; i++) {
        sizes[i] = (uint32_t)strtoul(argv[1 + i], NULL, 0);
    }
    for (int f = 4; f < argc; f++) {
        FILE *fp = fopen(argv[f], "rb");
        if (fp == NULL) {
            perror(argv[f]);
            return 2;
        }
        static uint8_t data[1u << 22];
        size_t size = fread(data, 1, sizeof data, fp);
        fclose(fp);
        run_one(data, size, sizes[0], sizes[1], sizes[2]);
    }
    return 0;
}
#endif
