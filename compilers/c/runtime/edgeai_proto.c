#include "edgeai_proto.h"

#include <string.h>

uint16_t edgeai_crc16(const uint8_t *data, size_t length, uint16_t crc)
{
    /* Bitwise, no table: 256 bytes of flash matter more than speed on a 115200-baud link. */
    for (size_t i = 0; i < length; i++) {
        crc ^= (uint16_t)((uint16_t)data[i] << 8);
        for (int bit = 0; bit < 8; bit++) {
            crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

void edgeai_parser_reset(edgeai_parser_t *parser)
{
    parser->fill = 0;
    parser->need = 0;
}

int edgeai_parser_busy(const edgeai_parser_t *parser)
{
    return parser->fill != 0;
}

/* After a bad frame the parser hunts for the next sync pair; the host retries what was lost. */
static void resync(edgeai_parser_t *parser)
{
    parser->fill = 0;
    parser->need = 0;
}

edgeai_feed_t edgeai_parser_feed(edgeai_parser_t *parser, uint8_t byte, edgeai_frame_t *frame,
                                 edgeai_proto_status_t *error)
{
    if (parser->fill == 0 && byte != EDGEAI_PROTO_SYNC0) {
        return EDGEAI_FEED_MORE; /* hunting for sync */
    }
    if (parser->fill == 1 && byte != EDGEAI_PROTO_SYNC1) {
        parser->fill = (byte == EDGEAI_PROTO_SYNC0) ? 1u : 0u;
        return EDGEAI_FEED_MORE;
    }
    parser->buf[parser->fill++] = byte;
    if (parser->fill == EDGEAI_PROTO_HEADER) {
        uint16_t length = (uint16_t)(parser->buf[5] | ((uint16_t)parser->buf[6] << 8));
        if (length > EDGEAI_PROTO_MAX_PAYLOAD) {
            *error = EDGEAI_PROTO_BAD_LENGTH;
            resync(parser);
            return EDGEAI_FEED_ERROR;
        }
        parser->need = EDGEAI_PROTO_HEADER + length + 2u;
    }
    if (parser->need == 0 || parser->fill < parser->need) {
        return EDGEAI_FEED_MORE;
    }
    size_t body = parser->need - 2u;
    uint16_t got = (uint16_t)(parser->buf[body] | ((uint16_t)parser->buf[body + 1] << 8));
    if (edgeai_crc16(parser->buf + 2, body - 2u, 0xFFFFu) != got) {
        *error = EDGEAI_PROTO_BAD_CRC;
        resync(parser);
        return EDGEAI_FEED_ERROR;
    }
    frame->version = parser->buf[2];
    frame->command = parser->buf[3];
    frame->sequence = parser->buf[4];
    frame->length = (uint16_t)(body - EDGEAI_PROTO_HEADER);
    frame->payload = parser->buf + EDGEAI_PROTO_HEADER;
    parser->fill = 0;
    parser->need = 0;
    return EDGEAI_FEED_FRAME;
}

size_t edgeai_frame_encode(uint8_t command, uint8_t sequence, const uint8_t *payload, uint16_t length,
                           uint8_t *out, size_t capacity)
{
    size_t size = EDGEAI_PROTO_HEADER + (size_t)length + 2u;
    if (length > EDGEAI_PROTO_MAX_PAYLOAD || size > capacity) {
        return 0;
    }
    out[0] = EDGEAI_PROTO_SYNC0;
    out[1] = EDGEAI_PROTO_SYNC1;
    out[2] = EDGEAI_PROTO_VERSION;
    out[3] = command;
    out[4] = sequence;
    out[5] = (uint8_t)(length & 0xFFu);
    out[6] = (uint8_t)(length >> 8);
    if (length != 0) {
        memcpy(out + EDGEAI_PROTO_HEADER, payload, length);
    }
    uint16_t crc = edgeai_crc16(out + 2, EDGEAI_PROTO_HEADER - 2u + length, 0xFFFFu);
    out[size - 2] = (uint8_t)(crc & 0xFFu);
    out[size - 1] = (uint8_t)(crc >> 8);
    return size;
}
