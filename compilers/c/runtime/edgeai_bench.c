#include "edgeai_bench.h"

#include <string.h>

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

void edgeai_bench_init(edgeai_bench_t *bench)
{
    bench->input_cursor = 0;
    bench->last_chunk_offset = 0;
    bench->runs = 0;
    bench->last_status = 0;
    bench->last_cycles = 0;
    bench->last_byte_ms = 0;
    edgeai_parser_reset(&bench->parser);
}

/* A response: the status byte, then the body, framed straight into out (no copy of the body on the stack). */
static size_t reply(uint8_t command, uint8_t sequence, uint8_t status, const uint8_t *body, uint16_t length,
                    uint8_t *out, size_t capacity)
{
    if (length > EDGEAI_PROTO_MAX_PAYLOAD - 1u) {
        length = EDGEAI_PROTO_MAX_PAYLOAD - 1u;
    }
    size_t size = EDGEAI_PROTO_HEADER + 1u + (size_t)length + 2u;
    if (size > capacity) {
        return 0;
    }
    uint16_t payload = (uint16_t)(length + 1u);
    out[0] = EDGEAI_PROTO_SYNC0;
    out[1] = EDGEAI_PROTO_SYNC1;
    out[2] = EDGEAI_PROTO_VERSION;
    out[3] = command;
    out[4] = sequence;
    put_u16(out + 5, payload);
    out[EDGEAI_PROTO_HEADER] = status;
    if (length != 0) {
        memmove(out + EDGEAI_PROTO_HEADER + 1u, body, length); /* a PING echo's body lives in the parser, not out */
    }
    put_u16(out + size - 2u, edgeai_crc16(out + 2, EDGEAI_PROTO_HEADER - 2u + payload, 0xFFFFu));
    return size;
}

/* A length-prefixed name, cut to what fits. */
static size_t put_name(uint8_t *p, const char *name, size_t room)
{
    size_t n = name != NULL ? strlen(name) : 0u;
    if (n > room - 1u) {
        n = room - 1u;
    }
    if (n > 255u) {
        n = 255u;
    }
    p[0] = (uint8_t)n;
    if (n != 0) {
        memcpy(p + 1, name, n);
    }
    return 1u + n;
}

static size_t handle_info(edgeai_bench_t *b, const edgeai_frame_t *f, uint8_t *out, size_t cap)
{
    uint8_t body[27u + 2u * 48u];
    body[0] = EDGEAI_PROTO_VERSION;
    put_u16(body + 1, EDGEAI_PROTO_MAX_PAYLOAD);
    put_u32(body + 3, b->arena_size);
    put_u32(body + 7, b->input_size);
    put_u32(body + 11, b->output_size);
    put_u32(body + 15, b->clock_hz);
    memcpy(body + 19, b->model_id, EDGEAI_PROTO_MODEL_ID);
    size_t n = 19u + EDGEAI_PROTO_MODEL_ID;
    n += put_name(body + n, b->target, 48u);
    n += put_name(body + n, b->name, 48u);
    return reply(f->command | EDGEAI_CMD_RESPONSE, f->sequence, EDGEAI_PROTO_OK, body, (uint16_t)n, out, cap);
}

static size_t handle_write(edgeai_bench_t *b, const edgeai_frame_t *f, uint8_t *out, size_t cap)
{
    uint8_t cmd = f->command | EDGEAI_CMD_RESPONSE;
    if (f->length < 4u) {
        return reply(cmd, f->sequence, EDGEAI_PROTO_BAD_PAYLOAD, NULL, 0, out, cap);
    }
    uint32_t offset = get_u32(f->payload);
    uint32_t count = (uint32_t)f->length - 4u;
    /* Chunks arrive in order; offset 0 restarts an upload, and the previous chunk may come again when the
     * host retries after a lost answer. Anything else means a chunk was lost. */
    if (offset != 0u && offset != b->input_cursor && offset != b->last_chunk_offset) {
        return reply(cmd, f->sequence, EDGEAI_PROTO_OUT_OF_RANGE, NULL, 0, out, cap);
    }
    if (offset > b->input_size || count > b->input_size - offset) {
        return reply(cmd, f->sequence, EDGEAI_PROTO_OUT_OF_RANGE, NULL, 0, out, cap);
    }
    memcpy(b->input + offset, f->payload + 4, count);
    b->last_chunk_offset = offset;
    b->input_cursor = offset + count;
    return reply(cmd, f->sequence, EDGEAI_PROTO_OK, NULL, 0, out, cap);
}

static size_t handle_run(edgeai_bench_t *b, const edgeai_frame_t *f, uint8_t *out, size_t cap)
{
    uint8_t cmd = f->command | EDGEAI_CMD_RESPONSE;
    if (f->length != 2u) {
        return reply(cmd, f->sequence, EDGEAI_PROTO_BAD_PAYLOAD, NULL, 0, out, cap);
    }
    if (b->input_cursor != b->input_size) {
        return reply(cmd, f->sequence, EDGEAI_PROTO_INCOMPLETE_INPUT, NULL, 0, out, cap);
    }
    uint16_t count = (uint16_t)(f->payload[0] | ((uint16_t)f->payload[1] << 8));
    if (count == 0u) {
        count = 1u;
    }
    int32_t status = 0;
    uint32_t cycles = 0;
    for (uint16_t i = 0; i < count && status == 0; i++) {
        uint32_t start = edgeai_port_cycles();
        edgeai_mark_begin();
        status = b->run(b->input, b->output, b->arena);
        edgeai_mark_end();
        cycles = edgeai_port_cycles() - start;
        b->runs++;
    }
    b->last_status = status;
    b->last_cycles = cycles;
    uint8_t body[8];
    put_u32(body, (uint32_t)status);
    put_u32(body + 4, cycles);
    return reply(cmd, f->sequence, status == 0 ? EDGEAI_PROTO_OK : EDGEAI_PROTO_RUN_FAILED, body, 8, out, cap);
}

static size_t handle_read(edgeai_bench_t *b, const edgeai_frame_t *f, uint8_t *out, size_t cap)
{
    uint8_t cmd = f->command | EDGEAI_CMD_RESPONSE;
    if (f->length != 6u) {
        return reply(cmd, f->sequence, EDGEAI_PROTO_BAD_PAYLOAD, NULL, 0, out, cap);
    }
    uint32_t offset = get_u32(f->payload);
    uint32_t count = (uint32_t)(f->payload[4] | ((uint32_t)f->payload[5] << 8));
    if (count > EDGEAI_PROTO_MAX_PAYLOAD - 1u || offset > b->output_size || count > b->output_size - offset) {
        return reply(cmd, f->sequence, EDGEAI_PROTO_OUT_OF_RANGE, NULL, 0, out, cap);
    }
    return reply(cmd, f->sequence, EDGEAI_PROTO_OK, b->output + offset, (uint16_t)count, out, cap);
}

static size_t handle_stats(edgeai_bench_t *b, const edgeai_frame_t *f, uint8_t *out, size_t cap)
{
    uint8_t body[12];
    put_u32(body, b->runs);
    put_u32(body + 4, (uint32_t)b->last_status);
    put_u32(body + 8, b->last_cycles);
    return reply(f->command | EDGEAI_CMD_RESPONSE, f->sequence, EDGEAI_PROTO_OK, body, 12, out, cap);
}

size_t edgeai_bench_handle(edgeai_bench_t *bench, const edgeai_frame_t *frame, uint8_t *out, size_t capacity)
{
    if (frame->version != EDGEAI_PROTO_VERSION) {
        return reply(frame->command | EDGEAI_CMD_RESPONSE, frame->sequence, EDGEAI_PROTO_BAD_VERSION, NULL, 0, out,
                     capacity);
    }
    switch (frame->command) {
    case EDGEAI_CMD_INFO:
        return handle_info(bench, frame, out, capacity);
    case EDGEAI_CMD_WRITE_INPUT:
        return handle_write(bench, frame, out, capacity);
    case EDGEAI_CMD_RUN:
        return handle_run(bench, frame, out, capacity);
    case EDGEAI_CMD_READ_OUTPUT:
        return handle_read(bench, frame, out, capacity);
    case EDGEAI_CMD_STATS:
        return handle_stats(bench, frame, out, capacity);
    case EDGEAI_CMD_PING:
        return reply(frame->command | EDGEAI_CMD_RESPONSE, frame->sequence, EDGEAI_PROTO_OK, frame->payload,
                     frame->length, out, capacity);
    default:
        return reply(frame->command | EDGEAI_CMD_RESPONSE, frame->sequence, EDGEAI_PROTO_UNKNOWN_COMMAND, NULL, 0,
                     out, capacity);
    }
}

void edgeai_bench_idle(edgeai_bench_t *bench, uint32_t now_ms)
{
    /* Unsigned difference: right across the 32-bit millisecond wrap. */
    if (edgeai_parser_busy(&bench->parser) && now_ms - bench->last_byte_ms > EDGEAI_PROTO_TIMEOUT_MS) {
        edgeai_parser_reset(&bench->parser); /* the rest of that frame is not coming */
    }
}

size_t edgeai_bench_boot(uint8_t *out, size_t capacity)
{
    return reply(EDGEAI_CMD_BOOT, 0, EDGEAI_PROTO_OK, NULL, 0, out, capacity);
}

size_t edgeai_bench_feed(edgeai_bench_t *bench, uint8_t byte, uint32_t now_ms, uint8_t *out, size_t capacity)
{
    size_t size = 0;
    edgeai_bench_idle(bench, now_ms);
    bench->last_byte_ms = now_ms;
    edgeai_frame_t frame;
    edgeai_proto_status_t error = EDGEAI_PROTO_OK;
    switch (edgeai_parser_feed(&bench->parser, byte, &frame, &error)) {
    case EDGEAI_FEED_FRAME:
        size = edgeai_bench_handle(bench, &frame, out, capacity);
        break;
    case EDGEAI_FEED_ERROR:
        size = reply(EDGEAI_CMD_NACK, 0, (uint8_t)error, NULL, 0, out, capacity);
        break;
    default:
        break;
    }
    return size;
}

void edgeai_bench_serve(edgeai_bench_t *bench)
{
    static uint8_t response[EDGEAI_PROTO_MAX_FRAME];
    edgeai_port_write(response, edgeai_bench_boot(response, sizeof response));
    for (;;) {
        uint8_t byte;
        int got = edgeai_port_read_byte(&byte);
        /* The clock is read on every pass, byte or not: a port extends a short hardware counter in software
         * (SysTick: 24 bits, 0.67 s at 25 MHz) and must see every wrap, or a pause after half a frame would
         * be measured modulo the wrap and the half frame would swallow the host's next request. */
        uint32_t now = edgeai_port_millis();
        if (!got) {
            edgeai_bench_idle(bench, now);
            continue;
        }
        size_t size = edgeai_bench_feed(bench, byte, now, response, sizeof response);
        if (size != 0) {
            edgeai_port_write(response, size);
        }
    }
}
