"""int8 (and int16, 16x8) mean over any axes → the TVM kernel compilers/tvm/kernels/mean.py (the float32 mean is in generic.py).

TFLite numerics follow LiteRT's reference MEAN for int8 (tflite/kernels/reduce.cc PrepareMeanOrSum and
EvalQuantizedMean, reference/reduce.h QuantizedMeanOrSum): the multiplier of input_scale / output_scale (both
widened to double) from QuantizeMultiplier gets 1/count folded in: with k = floor(log2 count), capped at 32 and
at 31 + shift, multiplier' = (multiplier << k) / count (truncated), shift' = shift - k; each output is
MultiplyByQuantizedMultiplier(sum - z_in * count, multiplier', shift') + z_out, saturated.
ONNX numerics: (sum - z_in * count) * s_in / (count * s_out) with one rounding, halves to even.
"""

from __future__ import annotations

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering._quant import numerics, scale_zp
from compilers.lowering.registry import rule
from compilers.tvm.kernels.mean import MeanInt8Params, mean_int8
from compilers.tvm.requant import exact_multiplier, output_multiplier
from edgeai.errors import UnsupportedOpError


def tflite_mean_multiplier(input_scale: float, output_scale: float, count: int) -> tuple[int, int]:
    multiplier, shift = output_multiplier(float(input_scale) / float(output_scale))
    k = min(count.bit_length() - 1, 32, 31 + shift)
    return (multiplier << k) // count, shift - k


@rule("mean", "int8")
@rule("mean", "int16")
def mean_int8_rule(ctx, node):
    g = ctx.graph
    x = g.tensor(node.inputs[0])
    (si, zi), (so, zo) = scale_zp(g, x.name, node), scale_zp(g, node.outputs[0], node)
    axes = tuple(sorted({a % len(x.shape) for a in node.attrs["axes"]}))
    count = 1
    for a in axes:
        count *= x.shape[a]
    if x.dtype == "int16" and count >= 1 << 16:
        raise UnsupportedOpError(f"node {node.name!r} (mean): an int16 mean over {count:,} values (at most 65,535: "
                                 f"the int32 sum)")
    if numerics(node) == "onnx":
        multiplier, total = exact_multiplier(si / (so * count), f"node {node.name!r} (mean)")
        shift, rounding = 31 - total, "half_even"
    else:
        (multiplier, shift), rounding = tflite_mean_multiplier(si, so, count), "double"
    params = MeanInt8Params(x.shape, axes, zi, zo, multiplier, shift, rounding, x.dtype)
    symbol = ctx.tvm_kernel(mean_int8, params, "mean")
    return [KernelCall(node.name, node.op, symbol, (TensorArg(x.name), TensorArg(node.outputs[0])))]
