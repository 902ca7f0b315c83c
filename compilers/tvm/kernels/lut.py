"""Table lookup: any int8 → int8 function of one value is a 256-entry table indexed by the input + 128.

Arguments: (input, table, output); the table is computed at compile time (compilers/lowering/lut.py). The input
is read through its flat size only, so every lookup of the same number of values shares one kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

from tvm import te

from ..build import Kernel, KernelArg, plain_c_kernel


@dataclass(frozen=True)
class LookupParams:
    size: int  # number of values


def lookup_int8(name: str, p: LookupParams) -> Kernel:
    x = te.placeholder((p.size,), "int8", "input")
    table = te.placeholder((256,), "int8", "table")
    out = te.compute((p.size,), lambda i: table[x[i].astype("int32") + 128], name="lookup")
    args = [KernelArg(x, "input"), KernelArg(table, "table"), KernelArg(out, "output", const=False)]
    return plain_c_kernel(name, args)
