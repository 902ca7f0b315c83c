/*
 * edgeai instruction counter: a QEMU TCG plugin that counts the guest
 * instructions executed between calls of two marker functions.
 *
 *   -plugin icount_plugin.so,begin=0x<addr>,end=0x<addr>,out=<file>[,classes=on][,thread=marked]
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
 * while QEMU keeps running. One vCPU (Cortex-M), or see thread=marked.
 *
 * With the argument classes=on the plugin also sorts every executed
 * instruction into a class (thumb_classes.h), decoded once per translation
 * block from its bytes and added per block with inline ops, so the class
 * counts sum to the instruction count exactly. It counts the registers moved
 * by multiple loads/stores ("transfers") and the taken branches: a block
 * ending in an instruction that can write the PC leaves its fall-through
 * address, and the next block executed (a callback on every block) counts a
 * taken branch if it starts elsewhere. Each end marker then writes, before
 * the line above,
 *   region <n> classes alu=<count> load=<count> ... transfers=<count> taken=<count> mve_overlap=<cycles>
 * mve_overlap: the cycles a Cortex-M55 saves by overlapping the beats of consecutive MVE instructions
 * (mve_beats.h), computed per block when it is translated (a block is straight-line code) and added per
 * execution like the class counts; 0 on cores without MVE.
 * Without the argument nothing of this runs: the plain count is unchanged.
 *
 * thread=marked (qemu-user, for a multi-threaded guest): count only the
 * instructions of the guest thread (vCPU) that called the begin marker. A
 * runtime's helper threads (onnxruntime starts four, idle for a one-thread
 * session) would otherwise add whatever they happen to run during the region,
 * and counts would vary run to run. Each block then calls back to the plugin
 * instead of the inline add: slower, so it is not the default. Not combined
 * with classes=on (Thumb only).
 * Without it, a multi-threaded guest's count is not exact either way: qemu-user
 * runs guest threads on host threads at once, and the one inline counter is a
 * plain read-modify-write (QEMU 7.2 has no per-vCPU scoreboard), so concurrent
 * blocks lose each other's adds. Count a multi-threaded guest with thread=marked.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu_plugin_api.h"
#include "mve_beats.h"
#include "thumb_classes.h"

EDGEAI_PLUGIN_EXPORT int qemu_plugin_version = EDGEAI_PLUGIN_API_VERSION;

static uint64_t executed;     /* instructions executed so far (inline counter) */
static uint64_t begin_addr;
static uint64_t end_addr;
static uint64_t region_start; /* counter value at the last begin marker */
static int in_region;
static unsigned regions;
static FILE *out;

static int marked_thread_only;
static unsigned region_vcpu;  /* thread=marked: the vCPU inside the region */
static uint64_t region_count; /* thread=marked: its instructions since the begin marker */

static int classes;                    /* class mode on */
static uint64_t class_count[CLS_COUNT]; /* inline counters, like `executed` */
static uint64_t transfers;
static uint64_t taken;
static uint64_t mve_overlap;           /* cycles the Cortex-M55 saves by overlapping MVE beats (mve_beats.h) */
static uint64_t pending_fallthrough;   /* where the last block's branch falls through; 0: it ended in none */
static uint64_t class_start[CLS_COUNT]; /* counters at the last begin marker */
static uint64_t transfers_start;
static uint64_t taken_start;
static uint64_t mve_overlap_start;

static void on_begin(unsigned int vcpu, void *udata)
{
    (void)udata;
    region_start = executed;
    region_vcpu = vcpu;
    region_count = 0;
    memcpy(class_start, class_count, sizeof class_start);
    transfers_start = transfers;
    taken_start = taken;
    mve_overlap_start = mve_overlap;
    in_region = 1;
}

static void write_classes(void)
{
    fprintf(out, "region %u classes", regions);
    for (int c = 0; c < CLS_COUNT; c++) {
        fprintf(out, " %s=%" PRIu64, thumb_class_names[c], class_count[c] - class_start[c]);
    }
    fprintf(out, " transfers=%" PRIu64 " taken=%" PRIu64 " mve_overlap=%" PRIu64 "\n", transfers - transfers_start,
            taken - taken_start, mve_overlap - mve_overlap_start);
}

static void on_end(unsigned int vcpu, void *udata)
{
    (void)udata;
    if (!in_region || (marked_thread_only && vcpu != region_vcpu)) {
        return;
    }
    in_region = 0;
    if (classes) {
        write_classes();
    }
    uint64_t count = marked_thread_only ? region_count : executed - region_start;
    fprintf(out, "region %u instructions %" PRIu64 "\n", regions++, count);
    fflush(out);
}

static void on_block_of_marked_thread(unsigned int vcpu, void *udata)
{
    if (in_region && vcpu == region_vcpu) {
        region_count += (uint64_t)(uintptr_t)udata; /* the block's instruction count */
    }
}

/* udata of a block: its start address (low half) and the fall-through address of its last instruction if that
 * can branch, else 0 (high half). Cortex-M addresses are 32-bit. */
static void on_block(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    uint64_t packed = (uint64_t)(uintptr_t)udata;
    if (pending_fallthrough != 0 && (packed & 0xffffffffu) != pending_fallthrough) {
        taken++;
    }
    pending_fallthrough = packed >> 32;
}

static void count_classes(struct qemu_plugin_tb *tb, uint64_t pc)
{
    uint64_t per_class[CLS_COUNT] = {0};
    uint64_t moved = 0, fallthrough = 0;
    struct thumb_insn prev = THUMB_INSN_NONE;
    struct mve_run run;
    mve_run_reset(&run);
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        size_t size = qemu_plugin_insn_size(insn);
        struct thumb_insn cur;
        thumb_classify(qemu_plugin_insn_data(insn), size, &cur);
        thumb_pipeline(&prev, &cur);
        mve_run_add(&run, &cur);
        per_class[cur.cls]++;
        moved += cur.transfers;
        fallthrough = cur.may_branch ? (qemu_plugin_insn_vaddr(insn) & ~(uint64_t)1) + size : 0;
        prev = cur;
    }
    /* First, so that the marker callbacks registered after it see this block's branch decision. */
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block, QEMU_PLUGIN_CB_NO_REGS,
                                         (void *)(uintptr_t)((fallthrough << 32) | (pc & 0xffffffffu)));
    for (int c = 0; c < CLS_COUNT; c++) {
        if (per_class[c] != 0) {
            qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &class_count[c], per_class[c]);
        }
    }
    if (moved != 0) {
        qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &transfers, moved);
    }
    /* A block is straight-line code, so its MVE overlap is known now and is the same on every execution. */
    uint64_t saved = mve_run_finish(&run);
    if (saved != 0) {
        qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &mve_overlap, saved);
    }
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    uint64_t pc = qemu_plugin_tb_vaddr(tb) & ~(uint64_t)1;
    if (classes) {
        count_classes(tb, pc);
    }
    /* Callbacks are registered before the inline add, so they see the count
     * of everything executed before this block. */
    if (pc == begin_addr) {
        qemu_plugin_register_vcpu_tb_exec_cb(tb, on_begin, QEMU_PLUGIN_CB_NO_REGS, NULL);
    } else if (pc == end_addr) {
        qemu_plugin_register_vcpu_tb_exec_cb(tb, on_end, QEMU_PLUGIN_CB_NO_REGS, NULL);
    }
    if (marked_thread_only) {
        qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block_of_marked_thread, QEMU_PLUGIN_CB_NO_REGS,
                                             (void *)(uintptr_t)qemu_plugin_tb_n_insns(tb));
    } else {
        qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &executed,
                                                 qemu_plugin_tb_n_insns(tb));
    }
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
        } else if (strcmp(arg, "classes=on") == 0) {
            classes = 1;
        } else if (strcmp(arg, "thread=marked") == 0) {
            marked_thread_only = 1;
        } else {
            fprintf(stderr, "edgeai icount plugin: unknown argument '%s'\n", arg);
            return -1;
        }
    }
    if (!have_begin || !have_end || path == NULL) {
        fprintf(stderr,
                "edgeai icount plugin: needs begin=<addr>,end=<addr>,out=<file>[,classes=on][,thread=marked]\n");
        return -1;
    }
    if (classes && marked_thread_only) {
        fprintf(stderr, "edgeai icount plugin: classes=on and thread=marked do not combine\n");
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
