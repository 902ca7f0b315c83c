"""Elementwise activations the generic kernels lack: float32 hard_swish (the int8 one is a table lookup,
kernels/lut.py).

Arguments: hard_swish (input, output).
"""

from __future__ import annotations

from tvm import te, tirx

from ..build import Kernel, KernelArg, plain_c_kernel


def hard_swish_float32(name: str, shape: tuple[int, ...]) -> Kernel:
    x = te.placeholder(shape, "float32", "input")

    def body(*i):
        v = x[i]
        relu6 = tirx.min(tirx.max(v + tirx.const(3.0, "float32"), tirx.const(0.0, "float32")),
                         tirx.const(6.0, "float32"))
        return v * relu6 / tirx.const(6.0, "float32")  # LiteRT's order: (x * relu6(x + 3)) / 6

    out = te.compute(shape, body, name="hard_swish")
    return plain_c_kernel(name, [KernelArg(x, "input"), KernelArg(out, "output", const=False)])

