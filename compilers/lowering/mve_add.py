"""int8 ADD of two same-shape tensors on Helium (MVE) cores → compilers/c/kernels/mve/add_s8_mve.c. The tables and
output constants are the DSP kernel's (cortex_m.add_constants): the same arithmetic, four lanes at a time."""

from __future__ import annotations

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering.cortex_m import _ADD_ARGS, _entry, add_constants

ADD_FILE = "mve/add_s8_mve.c"


def add_call(ctx, node, size: int, zp1: int, zp2: int, zo: int, lo: int, hi: int, q=None, exact=None):
    """ADD (kernel_table signature) → edgeai_add_s8_mve; None, with the reason on record, when it declines."""
    consts = add_constants(size, zp1, zp2, zo, lo, hi, q, exact)
    if isinstance(consts, str):
        return ctx.decline(node, f"edgeai_add_s8_mve declines: {consts}")
    t, p = consts
    symbol = ctx.c_kernel(ADD_FILE, *_entry("edgeai_add_s8_mve", _ADD_ARGS, exact is not None))
    return KernelCall(node.name, node.op, symbol, (TensorArg(node.inputs[0]), TensorArg(node.inputs[1]),
                                                   ctx.derived(t), ctx.derived(p), TensorArg(node.outputs[0])))
