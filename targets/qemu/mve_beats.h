/*
 * Cortex-M55 MVE (Helium) beat model for the class mode of icount_plugin.c: how many cycles a straight-line run
 * of consecutive MVE instructions saves against executing them one after another, because the M55 overlaps the
 * beats of an instruction with the next one's when the pair allows it.
 *
 * The model is SLOTHY's Cortex-M55r1 model (github.com/slothy-optimizer/slothy, slothy/targets/arm_v81m/
 * cortex_m55r1.py at commit ede5131d40cf468b25b178fe053725a0863c18fb; Arm Ltd and the SLOTHY authors, MIT;
 * its header says the data are approximate and not an official software optimization guide):
 *   - one instruction issues per cycle, in order;
 *   - a 128-bit MVE instruction is four beats, and the M55 runs two beats per cycle (Cortex-M55 TRM 101051,
 *     "beat-wise execution"), so it holds its execution unit two cycles (SLOTHY: inverse throughput 2);
 *     VMOV of an immediate or of two lanes holds one unit one cycle (inverse throughput 1);
 *   - the units: vector loads and stores share one (SLOTHY's LOAD = STORE), integer ALU one (VEC_INT), integer
 *     multiplies and floating point one (VEC_MUL = VEC_FPU); a VMOV takes either vector unit;
 *   - results of multiplies and floating point are ready two cycles after issue, all others one (SLOTHY's
 *     default latencies); a store of a multiply's result waits one (SLOTHY's VMUL -> VSTR exception).
 * So an instruction on another unit than the one before it, and not waiting for that one's multiply result,
 * issues in its second cycle: the pair takes three cycles instead of four.
 * Not modelled (each makes the estimate an upper bound there): scalar instructions issuing in an MVE
 * instruction's second cycle (a scalar instruction ends the run here), and the model's store-to-load hazard
 * (which SLOTHY only uses as a scheduling constraint).
 */
#ifndef EDGEAI_MVE_BEATS_H
#define EDGEAI_MVE_BEATS_H

#include <stdint.h>

#include "thumb_classes.h"

enum mve_unit { MVE_UNIT_MEMORY, MVE_UNIT_INT, MVE_UNIT_MUL, MVE_UNITS };

/* The schedule of the current run of consecutive MVE instructions; cycles count from the run's first issue. */
struct mve_run {
    int active;
    unsigned issue;                 /* issue cycle of the run's last instruction */
    unsigned end;                   /* cycle after the run's last beat */
    unsigned busy_until[MVE_UNITS]; /* first cycle each unit is free */
    unsigned ready[8];              /* first cycle each Q register's new value can be read */
    unsigned ready_for_store[8];
    unsigned alone;                 /* the run's cycles, one instruction after another */
    uint64_t saved;                 /* cycles saved by overlap in the runs finished so far */
};

void mve_run_reset(struct mve_run *run);

/* The next instruction of a translation block: an MVE instruction joins the run, any other ends it. */
void mve_run_add(struct mve_run *run, const struct thumb_insn *insn);

/* Ends the block (and its run): the cycles its MVE runs save by overlap. */
uint64_t mve_run_finish(struct mve_run *run);

#endif
