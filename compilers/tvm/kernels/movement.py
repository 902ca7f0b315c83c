"""Kernels that copy parts of a tensor: strided_slice and tile. Any dtype; shapes and indices are baked in.

Arguments: (input, output).
"""

from __future__ import annotations

from dataclasses import dataclass

from tvm import te, tirx

from ..build import Kernel, KernelArg, plain_c_kernel


@dataclass(frozen=True)
class SliceParams:
    shape: tuple[int, ...]
    begin: tuple[int, ...]  # per input axis, resolved (edgeai/ops/slicing.py)
    strides: tuple[int, ...]
    sizes: tuple[int, ...]
    squeeze: tuple[int, ...]  # input axes of one element the output drops
    dtype: str


def strided_slice(name: str, p: SliceParams) -> Kernel:
    x = te.placeholder(p.shape, p.dtype, "input")
    kept = [a for a in range(len(p.shape)) if a not in p.squeeze]

    def body(*i):
        src = [tirx.const(b, "int32") for b in p.begin]
        for k, axis in enumerate(kept):
            src[axis] = p.begin[axis] + i[k] * p.strides[axis]
        return x[tuple(src)]

    out = te.compute(tuple(p.sizes[a] for a in kept), body, name="strided_slice")
    return plain_c_kernel(name, [KernelArg(x, "input"), KernelArg(out, "output", const=False)])


@dataclass(frozen=True)
class TileParams:
    shape: tuple[int, ...]
    multiples: tuple[int, ...]
    dtype: str


def tile(name: str, p: TileParams) -> Kernel:
    x = te.placeholder(p.shape, p.dtype, "input")
    out_shape = tuple(d * m for d, m in zip(p.shape, p.multiples))
    out = te.compute(out_shape, lambda *i: x[tuple(j if m == 1 else tirx.floormod(j, d)
                                                   for j, d, m in zip(i, p.shape, p.multiples))], name="tile")
    return plain_c_kernel(name, [KernelArg(x, "input"), KernelArg(out, "output", const=False)])
