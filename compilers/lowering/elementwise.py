"""add and int8 sub → TVM kernels (numpy broadcasting; TFLite's int8 rescale-to-common-scale arithmetic), and on Cortex-M DSP cores
the table-driven C kernel edgeai_add_s8 (compilers/lowering/cortex_m.py: add_call) for same-shape inputs."""

from __future__ import annotations

import numpy as np

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering.kernel_table import first_taker, kernels_for
from compilers.lowering._quant import float_activation_range, int8_activation_range, numerics, scale_zp
from compilers.lowering.registry import rule
from compilers.tvm.kernels.add import AddParams, add_float32, add_int8, add_int8_onnx, exact_add_multipliers
from compilers.tvm.requant import add_quant_params


def _operands(ctx, node):
    """The output shape, the kernel arguments and each input's shape where it broadcasts (else None)."""
    g = ctx.graph
    a, b, out = g.tensor(node.inputs[0]), g.tensor(node.inputs[1]), g.tensor(node.outputs[0])
    shapes = []
    for t in (a, b):
        if t.shape == out.shape:
            shapes.append(None)
        elif len(t.shape) == len(out.shape):
            shapes.append(t.shape)
        else:  # numpy aligns trailing axes: a lower-rank operand reads as leading ones
            shapes.append((1,) * (len(out.shape) - len(t.shape)) + tuple(t.shape))
    args = tuple(ctx.const(t.name) if t.is_constant else TensorArg(t.name) for t in (a, b))
    return out.shape, args + (TensorArg(node.outputs[0]),), shapes


@rule("add", "int8")
@rule("sub", "int8")
def add_int8_rule(ctx, node):
    """int8 add, and sub with the same arithmetic on the negated second term (the hand-written kernels add only)."""
    g = ctx.graph
    subtract = node.op == "sub"
    shape, args, (shape1, shape2) = _operands(ctx, node)
    (s1, z1), (s2, z2) = scale_zp(g, node.inputs[0], node), scale_zp(g, node.inputs[1], node)
    so, zo = scale_zp(g, node.outputs[0], node)
    lo, hi = int8_activation_range(node.attrs["activation"], so, zo)
    onnx = numerics(node) == "onnx"
    quant = None if onnx else add_quant_params(s1, s2, so)
    exact = exact_add_multipliers(s1, s2, so, f"node {node.name!r} ({node.op})") if onnx else None
    if subtract:
        pass  # the generic kernel: the hand-written ones only add
    elif any(kernels_for(ctx.target, "add")):
        if any(g.tensor(n).is_constant for n in node.inputs[:2]):
            ctx.decline(node, "the hand-written add kernels decline: an operand is a constant")
        elif shape1 is not None or shape2 is not None:
            ctx.decline(node, "the hand-written add kernels decline: an operand broadcasts")
        else:
            call = first_taker(ctx.target, "add", ctx, node, int(np.prod(shape)), z1, z2, zo, lo, hi, quant, exact)
            if call is not None:
                return [call]
    params = AddParams(shape, input1_zero_point=z1, input2_zero_point=z2, output_zero_point=zo, quant=quant,
                       act_min=lo, act_max=hi, exact=exact, input1_shape=shape1, input2_shape=shape2, subtract=subtract)
    symbol = ctx.tvm_kernel(add_int8_onnx if onnx else add_int8, params, node.op)
    return [KernelCall(node.name, node.op, symbol, args)]


@rule("add", "float32")
def add_float_rule(ctx, node):
    g = ctx.graph
    if g.tensor(node.inputs[0]).shape != g.tensor(node.inputs[1]).shape:
        from compilers.lowering.generic import binary_float_rule

        return binary_float_rule(ctx, node)  # broadcasting: the generic elementwise kernel
    shape, args, _ = _operands(ctx, node)
    lo, hi = float_activation_range(node.attrs["activation"])
    return [KernelCall(node.name, node.op, ctx.tvm_kernel(add_float32, AddParams(shape, act_min=lo, act_max=hi), "add"),
                       args)]
