"""prelu in float32 and int8 → compilers/tvm/kernels/activations.prelu.

int8 follows LiteRT's PRELU (tflite/kernels/activations.cc PreluPrepare / PreluEval, reference
BroadcastPrelu4DSlow): two multipliers from float32 scale arithmetic widened to double, s_x / s_out for the
non-negative side and s_x s_a / s_out for the negative one, QuantizeMultiplier'd; the slope must be quantized
per tensor (LiteRT reads its one scale).
"""

from __future__ import annotations

import numpy as np

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering._quant import numerics, scale_zp
from compilers.lowering.registry import rule
from compilers.tvm.kernels.activations import PreluParams, prelu
from compilers.tvm.requant import output_multiplier
from edgeai.errors import UnsupportedOpError


def _arg(ctx, tensor):
    return ctx.const(tensor.name) if tensor.is_constant else TensorArg(tensor.name)


def _call(ctx, node, params):
    g = ctx.graph
    x, alpha = g.tensor(node.inputs[0]), g.tensor(node.inputs[1])
    args = (_arg(ctx, x), _arg(ctx, alpha), TensorArg(node.outputs[0]))
    return [KernelCall(node.name, node.op, ctx.tvm_kernel(prelu, params, "prelu"), args)]


@rule("prelu", "float32")
def prelu_float_rule(ctx, node):
    g = ctx.graph
    return _call(ctx, node, PreluParams(g.tensor(node.inputs[0]).shape, g.tensor(node.inputs[1]).shape, "float32"))


@rule("prelu", "int8")
def prelu_int8_rule(ctx, node):
    g = ctx.graph
    x, alpha = g.tensor(node.inputs[0]), g.tensor(node.inputs[1])
    if alpha.dtype != "int8":
        raise UnsupportedOpError(f"node {node.name!r} (prelu): int8 input with a {alpha.dtype} slope "
                                 f"{alpha.name!r}; LiteRT needs both int8")
    if numerics(node) == "onnx":
        raise UnsupportedOpError(f"node {node.name!r} (prelu): int8 PRelu with ONNX numerics is not supported")
    (sx, zx), (sa, za), (so, zo) = (scale_zp(g, n, node) for n in (x.name, alpha.name, node.outputs[0]))
    f32 = np.float32
    identity = output_multiplier(float(f32(sx) / f32(so)))
    slope = output_multiplier(float(f32(sx) * f32(sa) / f32(so)))
    return _call(ctx, node, PreluParams(x.shape, alpha.shape, "int8", zx, za, zo, identity, slope))
