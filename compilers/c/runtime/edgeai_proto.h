/* The framed serial protocol between a host and the benchmark firmware. Version 2.
 *
 * Frame: 0xED 0xA1 | version u8 | command u8 | sequence u8 | length u16 LE | payload[length] | crc u16 LE
 * The CRC is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over version..payload. A response carries the
 * request's command with bit 7 set and the same sequence number; its payload starts with a status byte.
 * A frame that cannot be parsed is answered by EDGEAI_CMD_NACK with the reason, and the parser resynchronises
 * on the next sync pair. A frame left half-received for EDGEAI_PROTO_TIMEOUT_MS is dropped.
 * On start-up the device sends one unsolicited EDGEAI_CMD_BOOT frame (sequence 0, status byte only), so a host
 * waiting on an answer learns at once that a reset lost the device's state (the uploaded input, a pending run).
 *
 * Version 2 (version 1 had 512-byte frames and no BOOT): the largest payload is a build option the device
 * reports in INFO, and INFO names the target and the model's library hash, so the host refuses a board whose
 * firmware was built for another model instead of returning its outputs.
 */
#ifndef EDGEAI_PROTO_H
#define EDGEAI_PROTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EDGEAI_PROTO_VERSION 2u
#define EDGEAI_PROTO_SYNC0 0xEDu
#define EDGEAI_PROTO_SYNC1 0xA1u
#define EDGEAI_PROTO_HEADER 7u   /* sync0 sync1 version command sequence length(2) */
/* Larger frames mean fewer round trips; each costs its size twice in RAM (the receive and reply buffers). */
#ifndef EDGEAI_PROTO_MAX_PAYLOAD
#define EDGEAI_PROTO_MAX_PAYLOAD 4096u
#endif
#if EDGEAI_PROTO_MAX_PAYLOAD < 64u || EDGEAI_PROTO_MAX_PAYLOAD > 65535u
#error "EDGEAI_PROTO_MAX_PAYLOAD must lie in [64, 65535]"
#endif
#define EDGEAI_PROTO_MODEL_ID 8u /* bytes of the library hash INFO reports */
#define EDGEAI_PROTO_MAX_FRAME (EDGEAI_PROTO_HEADER + EDGEAI_PROTO_MAX_PAYLOAD + 2u)
#define EDGEAI_PROTO_TIMEOUT_MS 500u

enum {
    /* INFO -> version u8, max payload u16, arena u32, input u32, output u32, clock u32, model id[8],
     *         target name (length u8, bytes), model name (length u8, bytes) */
    EDGEAI_CMD_INFO = 0x01,
    EDGEAI_CMD_WRITE_INPUT = 0x02,  /* offset u32, data: sequential chunks of the input blob */
    EDGEAI_CMD_RUN = 0x03,          /* count u16: run that many inferences on the uploaded input */
    EDGEAI_CMD_READ_OUTPUT = 0x04,  /* offset u32, length u16 -> data */
    EDGEAI_CMD_STATS = 0x05,        /* -> counters of the last run */
    EDGEAI_CMD_PING = 0x06,         /* echo the payload: link check and resynchronisation */
    EDGEAI_CMD_BOOT = 0x7E,         /* device -> host, unsolicited: the firmware (re)started */
    EDGEAI_CMD_NACK = 0x7F,         /* device -> host: a frame could not be parsed */
    EDGEAI_CMD_RESPONSE = 0x80
};

typedef enum {
    EDGEAI_PROTO_OK = 0,
    EDGEAI_PROTO_BAD_CRC = 1,
    EDGEAI_PROTO_BAD_LENGTH = 2,
    EDGEAI_PROTO_BAD_VERSION = 3,
    EDGEAI_PROTO_UNKNOWN_COMMAND = 4,
    EDGEAI_PROTO_OUT_OF_RANGE = 5,
    EDGEAI_PROTO_RUN_FAILED = 6,
    EDGEAI_PROTO_TIMEOUT = 7,
    EDGEAI_PROTO_BAD_PAYLOAD = 8,
    EDGEAI_PROTO_INCOMPLETE_INPUT = 9,
    EDGEAI_PROTO_STATUS_COUNT
} edgeai_proto_status_t;

typedef struct {
    uint8_t version;
    uint8_t command;
    uint8_t sequence;
    uint16_t length;
    const uint8_t *payload; /* points into the parser's buffer, valid until the next feed */
} edgeai_frame_t;

typedef struct {
    uint8_t buf[EDGEAI_PROTO_MAX_FRAME];
    size_t fill;
    size_t need;  /* bytes the current frame needs in all, 0 while hunting for sync */
} edgeai_parser_t;

/* Result of feeding one byte. */
typedef enum {
    EDGEAI_FEED_MORE = 0,   /* keep feeding */
    EDGEAI_FEED_FRAME = 1,  /* *frame is complete and valid */
    EDGEAI_FEED_ERROR = 2   /* *error says why; the parser has resynchronised */
} edgeai_feed_t;

uint16_t edgeai_crc16(const uint8_t *data, size_t length, uint16_t crc);
void edgeai_parser_reset(edgeai_parser_t *parser);
/* True while a frame is partly received (the caller times it out with edgeai_parser_reset). */
int edgeai_parser_busy(const edgeai_parser_t *parser);
edgeai_feed_t edgeai_parser_feed(edgeai_parser_t *parser, uint8_t byte, edgeai_frame_t *frame,
                                 edgeai_proto_status_t *error);
/* Encodes a frame into out (capacity bytes). Returns its size, or 0 if it does not fit. */
size_t edgeai_frame_encode(uint8_t command, uint8_t sequence, const uint8_t *payload, uint16_t length,
                           uint8_t *out, size_t capacity);

#ifdef __cplusplus
}
#endif

#endif /* EDGEAI_PROTO_H */
