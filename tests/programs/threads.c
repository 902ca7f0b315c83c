/* Test program for the plugin's thread=marked mode: the main thread runs a
 * checksum between the region markers while (without an argument) a helper
 * thread spins beside it. Counting only the marking thread must give the
 * same count as the run without the helper; the program prints how often the
 * helper spun during the region (0: it was never scheduled meanwhile). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "edgeai_marks.h"

#define N 1000000 /* long enough (~6 M instructions) for the helper to be scheduled meanwhile */

static uint32_t data[N];
static atomic_int started;
static atomic_int stop;
static atomic_ulong spins;

static void *spin(void *arg)
{
    (void)arg;
    atomic_store(&started, 1);
    while (!atomic_load(&stop)) {
        atomic_fetch_add(&spins, 1);
    }
    return NULL;
}

static uint32_t checksum(const uint32_t *values, int n)
{
    uint32_t sum = 0x12345678u;
    for (int i = 0; i < n; i++) {
        sum = (sum ^ values[i]) * 16777619u + (sum >> 13);
    }
    return sum;
}

int main(int argc, char **argv)
{
    (void)argv;
    pthread_t helper;
    int with_helper = argc == 1;
    for (int i = 0; i < N; i++) {
        data[i] = (uint32_t)i * 2654435761u;
    }
    if (with_helper) {
        if (pthread_create(&helper, NULL, spin, NULL) != 0) {
            return 2;
        }
        while (!atomic_load(&started)) {
        }
    }
    edgeai_mark_begin();
    unsigned long before = atomic_load(&spins);
    uint32_t sum = checksum(data, N);
    unsigned long after = atomic_load(&spins);
    edgeai_mark_end();
    atomic_store(&stop, 1);
    if (with_helper) {
        pthread_join(helper, NULL);
    }
    printf("checksum %08x helper spins during the region %lu\n", (unsigned)sum, after - before);
    return 0;
}
