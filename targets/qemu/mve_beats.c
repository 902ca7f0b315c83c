/* Cortex-M55 MVE beat model: see mve_beats.h for the model and its source. */
#include "mve_beats.h"

#include <string.h>

static unsigned cycles_held(enum thumb_class cls)
{
    return cls == CLS_MVE_MOVE ? 1 : 2;
}

static unsigned result_latency(enum thumb_class cls)
{
    return cls == CLS_MVE_MUL || cls == CLS_MVE_FP ? 2 : 1;
}

static enum mve_unit unit_of(const struct mve_run *run, enum thumb_class cls)
{
    switch (cls) {
    case CLS_MVE_LOAD:
    case CLS_MVE_STORE:
        return MVE_UNIT_MEMORY;
    case CLS_MVE_MUL:
    case CLS_MVE_FP:
        return MVE_UNIT_MUL;
    case CLS_MVE_MOVE: /* either vector unit: the one free first */
        return run->busy_until[MVE_UNIT_MUL] < run->busy_until[MVE_UNIT_INT] ? MVE_UNIT_MUL : MVE_UNIT_INT;
    default:
        return MVE_UNIT_INT;
    }
}

static void end_run(struct mve_run *run)
{
    if (run->active) {
        run->saved += run->alone - run->end; /* end <= alone: no latency exceeds the cycles a unit is held */
    }
    uint64_t saved = run->saved;
    memset(run, 0, sizeof *run);
    run->saved = saved;
}

void mve_run_reset(struct mve_run *run)
{
    memset(run, 0, sizeof *run);
}

void mve_run_add(struct mve_run *run, const struct thumb_insn *insn)
{
    if (!thumb_is_mve(insn->cls)) {
        end_run(run);
        return;
    }
    enum mve_unit unit = unit_of(run, insn->cls);
    unsigned issue = run->active ? run->issue + 1 : 0;
    if (issue < run->busy_until[unit]) {
        issue = run->busy_until[unit];
    }
    const unsigned *ready = insn->cls == CLS_MVE_STORE ? run->ready_for_store : run->ready;
    for (unsigned q = 0; q < 8; q++) {
        if ((insn->q_src >> q & 1u) && issue < ready[q]) {
            issue = ready[q];
        }
    }
    unsigned held = cycles_held(insn->cls);
    run->active = 1;
    run->issue = issue;
    run->busy_until[unit] = issue + held;
    if (run->end < issue + held) {
        run->end = issue + held;
    }
    if (insn->q_dst >= 0) {
        run->ready[insn->q_dst] = issue + result_latency(insn->cls);
        run->ready_for_store[insn->q_dst] = issue + 1;
    }
    run->alone += held;
}

uint64_t mve_run_finish(struct mve_run *run)
{
    end_run(run);
    uint64_t saved = run->saved;
    mve_run_reset(run);
    return saved;
}
