/*
 * Thumb instruction classes from the encoding tables of the Armv7-M
 * Architecture Reference Manual (A5.2 16-bit, A5.3 32-bit encodings) and the
 * Armv8.1-M additions (low-overhead loops, MVE in the coprocessor space).
 * Only what the cycle model needs is decoded: the class, the register count
 * of multiple transfers, whether the PC can be written, and the registers a
 * single load/store addresses with.
 */
#include "thumb_classes.h"

const char *const thumb_class_names[CLS_COUNT] = {
    "alu", "load", "load_pipelined", "store", "load_multiple", "store_multiple", "mul", "mac", "div",
    "branch", "fp", "fp_mac", "fp_div", "fp_load_store", "mve_load_store", "mve",
};

static unsigned bits_set(unsigned v)
{
    return (unsigned)__builtin_popcount(v);
}

static void single(struct thumb_insn *o, int is_load, int rt, int rn, int rm)
{
    o->cls = is_load ? CLS_LOAD : CLS_STORE;
    o->load_rt = is_load ? rt : -1;
    o->addr_rn = rn;
    o->addr_rm = rm;
}

static void multiple(struct thumb_insn *o, int is_load, unsigned registers)
{
    o->cls = is_load ? CLS_LOAD_MULTIPLE : CLS_STORE_MULTIPLE;
    o->transfers = registers;
}

static void branch(struct thumb_insn *o)
{
    o->cls = CLS_BRANCH;
    o->may_branch = 1;
}

static void classify16(unsigned h, struct thumb_insn *o)
{
    if ((h & 0xffc0) == 0x4340) { /* MULS: data processing, opcode 1101 */
        o->cls = CLS_MUL;
    } else if ((h & 0xfc00) == 0x4400) { /* special data processing, branch and exchange */
        unsigned op = (h >> 8) & 3;
        unsigned rd = (h & 7) | ((h >> 4) & 8);
        if (op == 3) {
            branch(o); /* BX, BLX */
        } else if (op != 1 && rd == 15) {
            o->may_branch = 1; /* ADD pc / MOV pc (CMP writes no register) */
        }
    } else if ((h & 0xf800) == 0x4800) { /* LDR literal */
        single(o, 1, (h >> 8) & 7, 15, -1);
    } else if ((h & 0xf000) == 0x5000) { /* load/store register offset: opB 0-2 store, 3-7 load */
        single(o, ((h >> 9) & 7) >= 3, h & 7, (h >> 3) & 7, (h >> 6) & 7);
    } else if ((h & 0xe000) == 0x6000 || (h & 0xf000) == 0x8000) { /* LDR/STR(B) imm, LDRH/STRH imm */
        single(o, (h >> 11) & 1, h & 7, (h >> 3) & 7, -1);
    } else if ((h & 0xf000) == 0x9000) { /* SP-relative */
        single(o, (h >> 11) & 1, (h >> 8) & 7, 13, -1);
    } else if ((h & 0xfe00) == 0xb400) { /* PUSH {list, lr} */
        multiple(o, 0, bits_set(h & 0x1ff));
    } else if ((h & 0xfe00) == 0xbc00) { /* POP {list, pc} */
        multiple(o, 1, bits_set(h & 0x1ff));
        o->may_branch = (h >> 8) & 1;
    } else if ((h & 0xf500) == 0xb100) { /* CBZ, CBNZ */
        branch(o);
    } else if ((h & 0xf000) == 0xc000) { /* STMIA (bit 11 clear), LDMIA (set) */
        multiple(o, (h >> 11) & 1, bits_set(h & 0xff));
    } else if ((h & 0xf000) == 0xd000) { /* B<cond>; cond 1110 is UDF, 1111 SVC */
        if (((h >> 8) & 0xf) < 14) {
            branch(o);
        }
    } else if ((h & 0xf800) == 0xe000) { /* B */
        branch(o);
    }
}

/* Coprocessor space: 111x 11xx. The FPU is coprocessors 8-11 (cp9: Armv8.1-M half precision); MVE uses
 * coprocessors 14/15, the T=1 forms and the 111x 1111 space (undefined on Armv7-M). */
static void classify_coprocessor(unsigned h1, unsigned h2, struct thumb_insn *o)
{
    unsigned cp = (h2 >> 8) & 0xf;
    int is_fp = (cp & 0xc) == 0x8 && (h1 & 0x1000) == 0 && (h1 & 0xef00) != 0xef00;
    if (!is_fp) { /* loads/stores are in the 111x 110x forms, except VMOV of two lanes (111x 1100 000x) */
        o->cls = (h1 & 0xee00) == 0xec00 && (h1 & 0xefe0) != 0xec00 ? CLS_MVE_LOAD_STORE : CLS_MVE;
        return;
    }
    o->cls = CLS_FP;
    if ((h1 & 0xfe00) == 0xec00 && (h1 & 0x01e0) != 0x0040) { /* FP load/store (not VMOV two core registers) */
        if ((h1 & 0xff20) == 0xed00) {
            o->cls = CLS_FP_LOAD_STORE; /* VLDR, VSTR */
        } else {
            multiple(o, (h1 >> 4) & 1, h2 & 0xff); /* VLDM/VSTM/VPUSH/VPOP: imm8 counts words */
        }
    } else if ((h1 & 0xff00) == 0xee00 && (h2 & 0x10) == 0) { /* FP data processing */
        unsigned opc = ((h1 >> 5) & 4) | ((h1 >> 4) & 3); /* opc1 without the D bit */
        if (opc == 0 || opc == 1 || opc == 5 || opc == 6) {
            o->cls = CLS_FP_MAC;
        } else if (opc == 4 || (opc == 7 && (h1 & 0xf) == 1 && ((h2 >> 6) & 3) == 3)) {
            o->cls = CLS_FP_DIV; /* VDIV; VSQRT */
        }
    }
}

static void classify32(unsigned h1, unsigned h2, struct thumb_insn *o)
{
    unsigned op1 = (h1 >> 11) & 3;
    if ((h1 & 0xec00) == 0xec00) {
        classify_coprocessor(h1, h2, o);
    } else if (op1 == 1) {
        if ((h1 & 0xfe40) == 0xe800) { /* load/store multiple */
            unsigned op = (h1 >> 7) & 3;
            int is_load = (h1 >> 4) & 1;
            if (op == 1 || op == 2) {
                multiple(o, is_load, bits_set(h2));
                o->may_branch = is_load && (h2 >> 15);
            }
        } else if ((h1 & 0xfe40) == 0xe840) { /* dual, exclusive, table branch */
            unsigned a = (h1 >> 7) & 3, b = (h1 >> 4) & 3;
            int rn = h1 & 0xf;
            if (a == 0 && b < 2) {
                single(o, b, h2 >> 12, rn, -1); /* STREX, LDREX */
            } else if ((a & 2) || b >= 2) {
                multiple(o, (a & 2) ? (b & 1) : (b == 3), 2); /* STRD, LDRD */
            } else if (a == 1 && b == 1 && ((h2 >> 4) & 0xf) < 2) {
                branch(o); /* TBB, TBH */
            } else {
                single(o, b, h2 >> 12, rn, -1); /* STREXB/H, LDREXB/H */
            }
        }
    } else if (op1 == 2) {
        if (h2 & 0x8000) { /* branches and miscellaneous control */
            unsigned op = (h2 >> 12) & 7;
            if ((op & 5) == 0) {
                if (((h1 >> 7) & 7) != 7) {
                    branch(o); /* B<cond>.W; cond 111x is MSR, MRS, hints, barriers */
                }
            } else if (op & 1) {
                branch(o); /* B.W, BL */
            } else if ((h2 & 0xf001) == 0xc001) {
                branch(o); /* Armv8.1-M WLS, LE, LETP */
            } else if (h2 == 0xe801) {
                o->cls = CLS_MVE; /* VCTP */
            }
        }
    } else if ((h1 & 0xff10) == 0xf800) { /* store single */
        int rm = !(h1 & 0x80) && (h2 & 0x0fc0) == 0 ? (int)(h2 & 0xf) : -1;
        single(o, 0, h2 >> 12, h1 & 0xf, rm);
    } else if ((h1 & 0xfe00) == 0xf800 && ((h1 >> 4) & 7) % 2 == 1 && ((h1 >> 4) & 7) != 7) {
        int rm = !(h1 & 0x80) && (h2 & 0x0fc0) == 0 && (h1 & 0xf) != 15 ? (int)(h2 & 0xf) : -1;
        single(o, 1, h2 >> 12, h1 & 0xf, rm); /* LDRB, LDRH, LDR (and PLD) */
        o->may_branch = ((h1 >> 4) & 7) == 5 && (h2 >> 12) == 15; /* LDR pc */
    } else if ((h1 & 0xff80) == 0xfb00) { /* multiply, multiply accumulate */
        unsigned op = (h1 >> 4) & 7;
        if (op != 7) {
            o->cls = op == 6 || (h2 >> 12) != 15 ? CLS_MAC : CLS_MUL;
        }
    } else if ((h1 & 0xff80) == 0xfb80) { /* long multiply, long multiply accumulate, divide */
        static const enum thumb_class long_ops[8] = {CLS_MUL, CLS_DIV, CLS_MUL, CLS_DIV,
                                                     CLS_MAC, CLS_MAC, CLS_MAC, CLS_ALU};
        o->cls = long_ops[(h1 >> 4) & 7];
    }
}

void thumb_classify(const uint8_t *bytes, size_t size, struct thumb_insn *out)
{
    unsigned h1 = (unsigned)bytes[0] | (unsigned)bytes[1] << 8;
    *out = (struct thumb_insn){CLS_ALU, 0, 0, -1, -1, -1};
    if (size == 4) {
        classify32(h1, (unsigned)bytes[2] | (unsigned)bytes[3] << 8, out);
    } else {
        classify16(h1, out);
    }
}

void thumb_pipeline(const struct thumb_insn *prev, struct thumb_insn *cur)
{
    if (cur->cls == CLS_LOAD && prev->load_rt >= 0 && prev->load_rt != cur->addr_rn &&
        prev->load_rt != cur->addr_rm) {
        cur->cls = CLS_LOAD_PIPELINED;
    }
}
