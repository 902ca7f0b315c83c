/*
 * Instruction classes of Thumb (Armv7-M, Armv7E-M, Armv8.1-M) instructions,
 * decoded from their bytes, for the class mode of icount_plugin.c. A class is
 * a group of instructions that the Cortex-M Technical Reference Manuals give
 * one cycle cost (edgeai/cycles.py turns class counts into a cycle estimate
 * with the costs in each target.json).
 */
#ifndef EDGEAI_THUMB_CLASSES_H
#define EDGEAI_THUMB_CLASSES_H

#include <stddef.h>
#include <stdint.h>

enum thumb_class {
    CLS_ALU,             /* data processing, moves, compares, IT, hints, system: everything not below */
    CLS_LOAD,            /* single LDR/LDRB/LDRH/LDRSB/LDRSH/LDREX (also literal loads) */
    CLS_LOAD_PIPELINED,  /* a single load right after a single load whose result it does not address with */
    CLS_STORE,           /* single STR/STRB/STRH/STREX */
    CLS_LOAD_MULTIPLE,   /* LDM, POP, LDRD, VLDM, VPOP: plus one transfer per register (word) */
    CLS_STORE_MULTIPLE,  /* STM, PUSH, STRD, VSTM, VPUSH: plus one transfer per register (word) */
    CLS_MUL,             /* MUL, SMULxy, SMULWx, SMUAD, SMUSD, SMMUL, SMULL, UMULL */
    CLS_MAC,             /* MLA, MLS, SMLAxy, SMLAWx, SMLAD, SMLSD, SMMLA, SMMLS, SMLAL..., UMLAL, UMAAL */
    CLS_DIV,             /* SDIV, UDIV */
    CLS_BRANCH,          /* B, BL, BX, BLX, CBZ, CBNZ, TBB, TBH, WLS, LE, LETP */
    CLS_FP,              /* FPU arithmetic, conversions, moves */
    CLS_FP_MAC,          /* VMLA, VMLS, VNMLA, VNMLS, VFMA, VFMS, VFNMA, VFNMS (scalar) */
    CLS_FP_DIV,          /* VDIV, VSQRT */
    CLS_FP_LOAD_STORE,   /* VLDR, VSTR */
    CLS_MVE_LOAD_STORE,  /* MVE (Helium) vector loads and stores, gathers, scatters, VLD2x/VLD4x */
    CLS_MVE,             /* every other MVE instruction */
    CLS_COUNT
};

extern const char *const thumb_class_names[CLS_COUNT];

struct thumb_insn {
    enum thumb_class cls;
    unsigned transfers; /* registers (words) a multiple load/store moves */
    int may_branch;     /* can write the PC (branches, POP {pc}, LDR pc, MOV pc) */
    int load_rt;        /* destination of a single load; -1 otherwise */
    int addr_rn;        /* base and offset registers of a single load/store; -1 if none */
    int addr_rm;
};

/* Decode the instruction in `bytes` (2 or 4 bytes, little-endian halfwords). */
void thumb_classify(const uint8_t *bytes, size_t size, struct thumb_insn *out);

/* Cortex-M4 TRM: a single load after a single load is pipelined (one cycle
 * less) unless its address uses the first load's result. Reclassifies `cur`. */
void thumb_pipeline(const struct thumb_insn *prev, struct thumb_insn *cur);

#endif
