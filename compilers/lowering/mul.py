"""int8 mul (numpy broadcasting, fused activation) → the TVM kernel compilers/tvm/kernels/mul.py.

TFLite numerics follow LiteRT's reference MUL (tflite/kernels/mul.cc Prepare, reference/integer_ops/mul.h):
the real multiplier is input1_scale * input2_scale / output_scale evaluated in float32 (the scales are float
fields), then QuantizeMultiplier; each output is MultiplyByQuantizedMultiplier((x1 - z1)(x2 - z2)) + z_out,
clamped to the activation range. ONNX numerics: the same product times s1 s2 / s_out with one rounding,
halves to even (requant.exact_multiplier).
"""

from __future__ import annotations

import numpy as np

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering._quant import int8_activation_range, numerics, scale_zp
from compilers.lowering.registry import rule
from compilers.tvm.kernels.mul import MulParams, mul_int8
from compilers.tvm.requant import exact_multiplier, output_multiplier


def tflite_mul_multiplier(s1: float, s2: float, so: float) -> tuple[int, int]:
    """(multiplier, shift) as LiteRT's MUL Prepare derives them: float32 product and quotient, widened."""
    return output_multiplier(float(np.float32(s1) * np.float32(s2) / np.float32(so)))


@rule("mul", "int8")
def mul_int8_rule(ctx, node):
    g = ctx.graph
    a, b = g.tensor(node.inputs[0]), g.tensor(node.inputs[1])
    (s1, z1), (s2, z2) = scale_zp(g, a.name, node), scale_zp(g, b.name, node)
    so, zo = scale_zp(g, node.outputs[0], node)
    lo, hi = int8_activation_range(node.attrs["activation"], so, zo)
    if numerics(node) == "onnx":
        multiplier, total = exact_multiplier(s1 * s2 / so, f"node {node.name!r} (mul)")
        shift, rounding = 31 - total, "half_even"
    else:
        (multiplier, shift), rounding = tflite_mul_multiplier(s1, s2, so), "double"
    params = MulParams(a.shape, b.shape, g.tensor(node.outputs[0]).shape, z1, z2, zo, multiplier, shift, lo, hi,
                       rounding)
    args = tuple(ctx.const(t.name) if t.is_constant else TensorArg(t.name) for t in (a, b))
    args += (TensorArg(node.outputs[0]),)
    return [KernelCall(node.name, node.op, ctx.tvm_kernel(mul_int8, params, "mul"), args)]
