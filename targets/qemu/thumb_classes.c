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
    "branch", "fp", "fp_mac", "fp_div", "fp_load_store", "mve_load", "mve_store", "mve_int", "mve_mul", "mve_fp",
    "mve_move",
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

/* Bits and fields of a 32-bit encoding w = first halfword << 16 | second, numbered as the Arm ARM numbers them. */
#define BIT(w, n) (((w) >> (n)) & 1u)
#define FIELD(w, hi, lo) (((w) >> (lo)) & ((1u << ((hi) - (lo) + 1)) - 1u))

/* The MVE register fields (Armv8.1-M ARM, MVE encodings): Qd bits 15-13, Qn bits 19-17, Qm bits 3-1 (their top
 * bits D, N, M are zero for q0-q7). */
#define QD(w) ((int)FIELD(w, 15, 13))
#define QN(w) (1u << FIELD(w, 19, 17))
#define QM(w) (1u << FIELD(w, 3, 1))

static void mve(struct thumb_insn *o, enum thumb_class cls, int dst, unsigned src)
{
    o->cls = cls;
    o->q_dst = dst;
    o->q_src = src;
}

/* 111x 1111: the encodings MVE shares with Advanced SIMD's layout. */
static void classify_mve_simd_space(uint32_t w, struct thumb_insn *o)
{
    if (!BIT(w, 23)) { /* three registers of the same length: opcode bits 11-8 and bit 4 */
        unsigned opc = FIELD(w, 11, 8), o1 = BIT(w, 4);
        enum thumb_class cls = CLS_MVE_INT; /* VADD, VSUB, VAND..., VHADD, VQADD, VSHL, VRSHL, VMIN, VMAX, VABD */
        if ((opc == 9 && o1) || (opc == 11 && !o1)) {
            cls = CLS_MVE_MUL; /* VMUL, VQDMULH, VQRDMULH */
        } else if (opc >= 12) {
            cls = CLS_MVE_FP; /* VFMA/VFMS, VADD/VSUB/VMUL/VABD.F, VMAXNM/VMINNM */
        }
        mve(o, cls, QD(w), QN(w) | QM(w));
    } else if (FIELD(w, 21, 19) == 0 && BIT(w, 4)) { /* one register and a modified immediate */
        unsigned cmode = FIELD(w, 11, 8);
        int logic = (cmode & 1) && cmode < 12; /* VORR, VBIC #imm (they read Qd); else VMOV, VMVN #imm */
        mve(o, logic ? CLS_MVE_INT : CLS_MVE_MOVE, QD(w), logic ? 1u << QD(w) : 0);
    } else if (FIELD(w, 21, 20) == 3 && !BIT(w, 4)) { /* two registers, miscellaneous: opc1 bits 17-16 */
        unsigned opc1 = FIELD(w, 17, 16);
        int fp = opc1 >= 2 || (opc1 == 1 && BIT(w, 10)); /* VCVT, VRINT, VABS.F, VNEG.F */
        mve(o, fp ? CLS_MVE_FP : CLS_MVE_INT, QD(w), QM(w)); /* VREV, VCLZ, VCLS, VMVN, VABS, VNEG, VQABS */
    } else { /* shifts by an immediate (VSHR, VSHL, VRSHR, VQSHL, VSRI, VSLI); VCVT fixed point: bits 11-10 11 */
        mve(o, FIELD(w, 11, 10) == 3 ? CLS_MVE_FP : CLS_MVE_INT, QD(w), QM(w));
    }
}

/* 111x 1110 with coprocessor field 14/15 (bit 8: f): the MVE-only encodings. */
static void classify_mve_own_space(uint32_t w, struct thumb_insn *o)
{
    unsigned size = FIELD(w, 21, 20);
    int f = BIT(w, 8);
    int by_core_register = BIT(w, 6) && !BIT(w, 4); /* bits 3-0 are Rm: a vector and a scalar */
    if (BIT(w, 23)) {
        unsigned op = FIELD(w, 22, 20);
        if (op == 7) { /* VMLADAV(A)/VMLSDAV (a core register accumulates); VADDV: f, bit 16 set */
            mve(o, f && BIT(w, 16) ? CLS_MVE_INT : CLS_MVE_MUL, -1, QN(w) | QM(w));
        } else if (op == 6) { /* VMAXV, VMINV, VMAXAV; size 11: VMAXNMV, VMINNMV, VMAXNMAV */
            mve(o, FIELD(w, 19, 18) == 3 ? CLS_MVE_FP : CLS_MVE_INT, -1, QM(w));
        } else if (!f) { /* VMLALDAV, VMLSLDAV, VRMLSLDAVH (64-bit accumulator in two core registers) */
            mve(o, CLS_MVE_MUL, -1, QN(w) | QM(w));
        } else if (BIT(w, 6)) { /* VSHLL/VMOVL, VSHRN/VRSHRN/VQSHRN..., VSHLC */
            mve(o, CLS_MVE_INT, QD(w), QM(w));
        } else { /* VABAV (bit 0), VADDLV (bit 16), else VRMLALDAVH */
            mve(o, BIT(w, 0) || BIT(w, 16) ? CLS_MVE_INT : CLS_MVE_MUL, -1, QN(w) | QM(w));
        }
    } else if (f && by_core_register) {
        if ((w & 0xffbf1fffu) == 0xfe310f4du) {
            mve(o, CLS_MVE_INT, -1, 0); /* VPST */
        } else if (size == 3) { /* VCMP.F by a scalar (bit 16); VQDMULL by a scalar (bit 5); VADD/VSUB.F */
            enum thumb_class cls = !BIT(w, 16) && BIT(w, 5) ? CLS_MVE_MUL : CLS_MVE_FP;
            mve(o, cls, BIT(w, 16) ? -1 : QD(w), QN(w));
        } else { /* VADD, VSUB, VHADD, VHSUB, VQADD, VQSUB by a scalar; VCMP by a scalar; VIDUP, VDDUP */
            mve(o, CLS_MVE_INT, QD(w), QN(w));
        }
    } else if (f) {
        if (size == 3 && BIT(w, 16)) { /* VPSEL (bit 0 without bit 12), else VCMP.F/VPT.F */
            int vpsel = BIT(w, 0) && !BIT(w, 12);
            mve(o, vpsel ? CLS_MVE_INT : CLS_MVE_FP, vpsel ? QD(w) : -1, QN(w) | QM(w));
        } else if (size == 3) { /* VQDMULLB/T (bit 0); VADC, VSBC */
            mve(o, BIT(w, 0) ? CLS_MVE_MUL : CLS_MVE_INT, QD(w), QN(w) | QM(w));
        } else { /* VHCADD, VCADD.I, VCMP/VPT (bit 16) */
            mve(o, CLS_MVE_INT, BIT(w, 16) ? -1 : QD(w), QN(w) | QM(w));
        }
    } else if (by_core_register) {
        int shift = BIT(w, 12) && FIELD(w, 6, 4) == 6; /* with size 11: VSHL, VRSHL, VQSHL, VQRSHL by a register */
        if (size == 3 && shift) {
            mve(o, CLS_MVE_INT, QD(w), 1u << QD(w));
        } else if (size == 3) {
            mve(o, BIT(w, 16) ? CLS_MVE_FP : CLS_MVE_MUL, QD(w), QN(w)); /* VFMA, VFMAS, VMUL.F by a scalar */
        } else if (shift && BIT(w, 28) && BIT(w, 16)) {
            mve(o, CLS_MVE_INT, QD(w), QN(w)); /* VBRSR */
        } else { /* VMUL, VMLA, VMLAS, VQDMULH, VQRDMULH, VQDMLAH, VQRDMLAH by a scalar */
            mve(o, CLS_MVE_MUL, QD(w), QN(w));
        }
    } else if (size == 3 && !BIT(w, 16)) {
        mve(o, CLS_MVE_FP, QD(w), QN(w) | QM(w)); /* VCMUL */
    } else if (size == 3 && BIT(w, 0)) { /* VCVTB/T, VMAXNMA (bits 19-16 1111); VSHLL T2, VMOVN, VQMOVN, VMAXA */
        mve(o, FIELD(w, 19, 16) == 15 ? CLS_MVE_FP : CLS_MVE_INT, QD(w), QM(w));
    } else { /* VMULH, VRMULH, VMULL, VMULLP, VQDMLADH, VQDMLSDH, VQRDMLADH... */
        mve(o, CLS_MVE_MUL, QD(w), QN(w) | QM(w));
    }
}

/* 111x 110x outside the FPU's coprocessors: MVE loads and stores (L = bit 20), VMOV of two lanes, and VCMLA/VCADD.F
 * (coprocessor field 8). */
static void classify_mve_memory_space(uint32_t w, struct thumb_insn *o)
{
    if (FIELD(w, 11, 8) == 8) {
        mve(o, CLS_MVE_FP, QD(w), QN(w) | QM(w));
    } else if ((w & 0xefe00000u) == 0xec000000u) { /* VMOV two lanes: bit 20 set, from core registers */
        mve(o, CLS_MVE_MOVE, BIT(w, 20) ? QD(w) : -1, BIT(w, 20) ? 0 : 1u << QD(w));
    } else if (BIT(w, 20)) {
        mve(o, CLS_MVE_LOAD, QD(w), 0);
    } else {
        mve(o, CLS_MVE_STORE, -1, 1u << QD(w));
    }
}

/* Coprocessor space: 111x 11xx. The FPU is coprocessors 8-11 (cp9: Armv8.1-M half precision); MVE uses
 * coprocessors 14/15, the T=1 forms and the 111x 1111 space (undefined on Armv7-M). */
static void classify_coprocessor(unsigned h1, unsigned h2, struct thumb_insn *o)
{
    uint32_t w = (uint32_t)h1 << 16 | h2;
    unsigned cp = (h2 >> 8) & 0xf;
    int is_fp = (cp & 0xc) == 0x8 && (h1 & 0x1000) == 0 && (h1 & 0xef00) != 0xef00;
    if ((h1 & 0xef00) == 0xef00) {
        classify_mve_simd_space(w, o);
        return;
    }
    if (!is_fp) {
        if ((h1 & 0xee00) == 0xec00) {
            classify_mve_memory_space(w, o);
        } else if ((h1 & 0xef00) == 0xee00 && cp >= 14) {
            classify_mve_own_space(w, o);
        } else {
            mve(o, CLS_MVE_INT, -1, 0); /* other coprocessors (Armv8.1-M custom datapath) */
        }
        return;
    }
    if (cp == 0xb && (h1 & 0xff90) == 0xee80 && (h2 & 0x5f) == 0x10) {
        mve(o, CLS_MVE_INT, (int)FIELD(w, 19, 17), 0); /* VDUP (Qd in the Qn field) */
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
                o->cls = CLS_MVE_INT; /* VCTP */
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
    *out = (struct thumb_insn)THUMB_INSN_NONE;
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
