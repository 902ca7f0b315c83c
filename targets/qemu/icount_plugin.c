/*
 * edgeai instruction counter: a QEMU TCG plugin that counts the guest
 * instructions executed between calls of two marker functions.
 *
 *   -plugin icount_plugin.so,begin=0x<addr>,end=0x<addr>,out=<file>
 *
 * begin/end are the entry addresses of edgeai_mark_begin() and
 * edgeai_mark_end() (Thumb bit ignored). Every translation block adds its
 * instruction count to one counter with an inline TCG op (no helper call).
 * A function entry is always the first instruction of a translation block
 * (it is reached by a branch), so the blocks starting at the marker
 * addresses get a callback that snapshots the counter before the marker's
 * own instructions run. Each end marker appends
 *   region <n> instructions <count>
 * to the output file and flushes it, so a host program can read the counts
 * while QEMU keeps running. Single vCPU (Cortex-M) only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu_plugin_api.h"

EDGEAI_PLUGIN_EXPORT int qemu_plugin_version = EDGEAI_PLUGIN_API_VERSION;

static uint64_t executed;     /* instructions executed so far (inline counter) */
static uint64_t begin_addr;
static uint64_t end_addr;
static uint64_t region_start; /* counter value at the last begin marker */
static int in_region;
static unsigned regions;
static FILE *out;

static void on_begin(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    (void)udata;
    region_start = executed;
    in_region = 1;
}

static void on_end(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    (void)udata;
    if (!in_region) {
        return;
    }
    in_region = 0;
    fprintf(out, "region %u instructions %" PRIu64 "\n", regions++, executed - region_start);
    fflush(out);
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    uint64_t pc = qemu_plugin_tb_vaddr(tb) & ~(uint64_t)1;
    /* Callbacks are registered before the inline add, so they see the count
     * of everything executed before this block. */
    if (pc == begin_addr) {
        qemu_plugin_register_vcpu_tb_exec_cb(tb, on_begin, QEMU_PLUGIN_CB_NO_REGS, NULL);
    } else if (pc == end_addr) {
        qemu_plugin_register_vcpu_tb_exec_cb(tb, on_end, QEMU_PLUGIN_CB_NO_REGS, NULL);
    }
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &executed,
                                             qemu_plugin_tb_n_insns(tb));
}

static void on_qemu_exit(qemu_plugin_id_t id, void *udata)
{
    (void)id;
    (void)udata;
    if (out != NULL) {
        fclose(out);
        out = NULL;
    }
}

static int parse_addr(const char *text, uint64_t *addr)
{
    char *rest;
    *addr = strtoull(text, &rest, 0) & ~(uint64_t)1;
    return rest != text && *rest == '\0';
}

EDGEAI_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                                             char **argv)
{
    (void)info;
    const char *path = NULL;
    int have_begin = 0, have_end = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "begin=", 6) == 0) {
            have_begin = parse_addr(arg + 6, &begin_addr);
        } else if (strncmp(arg, "end=", 4) == 0) {
            have_end = parse_addr(arg + 4, &end_addr);
        } else if (strncmp(arg, "out=", 4) == 0) {
            path = arg + 4;
        } else {
            fprintf(stderr, "edgeai icount plugin: unknown argument '%s'\n", arg);
            return -1;
        }
    }
    if (!have_begin || !have_end || path == NULL) {
        fprintf(stderr, "edgeai icount plugin: needs begin=<addr>,end=<addr>,out=<file>\n");
        return -1;
    }
    out = fopen(path, "w");
    if (out == NULL) {
        fprintf(stderr, "edgeai icount plugin: cannot write '%s'\n", path);
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
    return 0;
}
