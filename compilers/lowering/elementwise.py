"""add → TVM kernels (same-shape inputs; TFLite's int8 rescale-to-common-scale arithmetic)."""

from __future__ import annotations

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering._quant import float_activation_range, int8_activation_range, scale_zp
from compilers.lowering.registry import rule
from compilers.tvm.kernels.add import AddParams, add_float32, add_int8
from compilers.tvm.requant import add_quant_params
from edgeai.errors import UnsupportedOpError


def _operands(ctx, node):
    g = ctx.graph
    a, b = g.tensor(node.inputs[0]), g.tensor(node.inputs[1])
    if a.shape != b.shape:
        raise UnsupportedOpError(f"node {node.name!r} (add): broadcasting {list(a.shape)} + {list(b.shape)} is not "
                                 f"supported yet")
    args = []
    for t in (a, b):
        args.append(ctx.const(t.name) if t.is_constant else TensorArg(t.name))
    return a.shape, tuple(args) + (TensorArg(node.outputs[0]),)


@rule("add", "int8")
def add_int8_rule(ctx, node):
    g = ctx.graph
    shape, args = _operands(ctx, node)
    (s1, z1), (s2, z2) = scale_zp(g, node.inputs[0], node), scale_zp(g, node.inputs[1], node)
    so, zo = scale_zp(g, node.outputs[0], node)
    lo, hi = int8_activation_range(node.attrs["activation"], so, zo)
    params = AddParams(shape, input1_zero_point=z1, input2_zero_point=z2, output_zero_point=zo,
                       quant=add_quant_params(s1, s2, so), act_min=lo, act_max=hi)
    return [KernelCall(node.name, node.op, ctx.tvm_kernel(add_int8, params, "add"), args)]


@rule("add", "float32")
def add_float_rule(ctx, node):
    g = ctx.graph
    if g.tensor(node.inputs[0]).shape != g.tensor(node.inputs[1]).shape:
        from compilers.lowering.generic import binary_float_rule

        return binary_float_rule(ctx, node)  # broadcasting: the generic elementwise kernel
    shape, args = _operands(ctx, node)
    lo, hi = float_activation_range(node.attrs["activation"])
    return [KernelCall(node.name, node.op, ctx.tvm_kernel(add_float32, AddParams(shape, act_min=lo, act_max=hi), "add"),
                       args)]
