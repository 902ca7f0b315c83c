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
    /* MVE (Helium), in the groups of the Cortex-M55 beat model (mve_beats.h): */
    CLS_MVE_LOAD,        /* vector loads: VLDRB/H/W/D, gathers, VLD2x/VLD4x */
    CLS_MVE_STORE,       /* vector stores: VSTRB/H/W/D, scatters, VST2x/VST4x */
    CLS_MVE_INT,         /* integer ALU: add/sub, logic, shifts, min/max, compares, VDUP, VADDV, VPST, VCTP... */
    CLS_MVE_MUL,         /* integer multiplies: VMUL, VMLA, VQ(R)DMULH, VMULL, VMLADAV, VMLALDAV... */
    CLS_MVE_FP,          /* floating point: VFMA, VADD.F, VMUL.F, VCVT, VRINT, VMAXNM, VCMP.F, VCMUL... */
    CLS_MVE_MOVE,        /* VMOV/VMVN immediate, VMOV of two lanes to/from core registers */
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
    int q_dst;          /* MVE: the Q register written (-1: none, or a core register) */
    unsigned q_src;     /* MVE: bit q set if Q register q is read as an operand (Qn, Qm fields) */
};

#define THUMB_INSN_NONE {CLS_ALU, 0, 0, -1, -1, -1, -1, 0}

static inline int thumb_is_mve(enum thumb_class cls)
{
    return cls >= CLS_MVE_LOAD && cls <= CLS_MVE_MOVE;
}

/* Decode the instruction in `bytes` (2 or 4 bytes, little-endian halfwords). */
void thumb_classify(const uint8_t *bytes, size_t size, struct thumb_insn *out);

/* Cortex-M4 TRM: a single load after a single load is pipelined (one cycle
 * less) unless its address uses the first load's result. Reclassifies `cur`. */
void thumb_pipeline(const struct thumb_insn *prev, struct thumb_insn *cur);

#endif
