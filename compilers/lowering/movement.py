"""strided_slice and tile → compilers/tvm/kernels/movement.py. They copy values, so an int8 copy needs its
input's quantization on the output (what the converter writes; LiteRT copies the bytes either way)."""

from __future__ import annotations

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering._quant import scale_zp
from compilers.lowering.registry import rule
from compilers.tvm.kernels.movement import SliceParams, TileParams, strided_slice, tile
from edgeai.errors import UnsupportedOpError


def same_quantization(g, node) -> None:
    """An int8 copy from input to output must keep its quantization: a different one would need arithmetic."""
    if g.tensor(node.inputs[0]).dtype != "int8":
        return
    src, dst = scale_zp(g, node.inputs[0], node), scale_zp(g, node.outputs[0], node)
    if src != dst:
        raise UnsupportedOpError(f"node {node.name!r} ({node.op}): int8 input {node.inputs[0]!r} is quantized "
                                 f"({src[0]:g}, {src[1]}) but the output ({dst[0]:g}, {dst[1]}); a copy keeps it")


def copy_call(ctx, node, make, params, tag):
    same_quantization(ctx.graph, node)
    x = ctx.graph.tensor(node.inputs[0])
    source = ctx.const(x.name) if x.is_constant else TensorArg(x.name)
    return [KernelCall(node.name, node.op, ctx.tvm_kernel(make, params, tag), (source, TensorArg(node.outputs[0])))]


def _slice(ctx, node):
    x, a = ctx.graph.tensor(node.inputs[0]), node.attrs
    params = SliceParams(x.shape, tuple(a["begin"]), tuple(a["strides"]), tuple(a["sizes"]), tuple(a["squeeze"]),
                         x.dtype)
    return copy_call(ctx, node, strided_slice, params, "slice")


def _tile(ctx, node):
    x = ctx.graph.tensor(node.inputs[0])
    return copy_call(ctx, node, tile, TileParams(x.shape, tuple(node.attrs["multiples"]), x.dtype), "tile")


for _dtype in ("float32", "int8", "int32", "uint8"):
    rule("strided_slice", _dtype)(_slice)
    rule("tile", _dtype)(_tile)
