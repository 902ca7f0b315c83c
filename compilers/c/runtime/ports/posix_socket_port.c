/* The benchmark application's port on a POSIX host: the "UART" is one TCP connection on 127.0.0.1.
 * It lets tests drive the same protocol code the firmware runs, without an emulator. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "edgeai_bench.h"

static int connection = -1;

static int listen_once(uint16_t port)
{
    int server = socket(AF_INET, SOCK_STREAM, 0);
    if (server < 0) {
        return -1;
    }
    int yes = 1;
    setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(server, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(server, 1) != 0 ||
        getsockname(server, (struct sockaddr *)&addr, &len) != 0) {
        close(server);
        return -1;
    }
    /* The host reads the chosen port from this line before it connects. */
    printf("listening on %u\n", (unsigned)ntohs(addr.sin_port));
    fflush(stdout);
    connection = accept(server, NULL, NULL);
    close(server);
    return connection < 0 ? -1 : 0;
}

int edgeai_port_init(void)
{
    /* EDGEAI_PORT picks the TCP port; unset or 0 asks the system for a free one, named on stdout. */
    const char *port = getenv("EDGEAI_PORT");
    return listen_once((uint16_t)(port != NULL ? atoi(port) : 0));
}

/* Received bytes are read in blocks: one system call per byte costs dearly under qemu-aarch64-static. */
static uint8_t received[4096];
static size_t received_fill, received_next;

int edgeai_port_read_byte(uint8_t *byte)
{
    if (received_next == received_fill) {
        struct pollfd p = {connection, POLLIN, 0};
        if (poll(&p, 1, 10) <= 0) {
            return 0;
        }
        ssize_t n = read(connection, received, sizeof received);
        if (n == 0) {
            exit(0); /* the host closed the link: the session is over */
        }
        if (n < 0) {
            return 0;
        }
        received_fill = (size_t)n;
        received_next = 0;
    }
    *byte = received[received_next++];
    return 1;
}

void edgeai_port_write(const uint8_t *data, size_t length)
{
    while (length > 0) {
        ssize_t n = write(connection, data, length);
        if (n <= 0) {
            exit(1);
        }
        data += n;
        length -= (size_t)n;
    }
}

uint32_t edgeai_port_millis(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)(ts.tv_sec * 1000u + ts.tv_nsec / 1000000);
}

uint32_t edgeai_port_cycles(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)(ts.tv_sec * 1000000000u + (uint32_t)ts.tv_nsec); /* nanoseconds stand in for cycles */
}
/* edgeai_mark_begin/end come from targets/common/edgeai_marks.c, which every target links. */
