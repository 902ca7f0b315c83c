"""softmax over the last axis → the hand-written C kernels: TFLite's fixed-point int8 algorithm, and its 16-bit
one (16x8 quantization) with the two 513-entry tables LiteRT's Prepare fills (exp on [-10, 0], 1 / (1 + x) on
[0, 1]), computed here the same way in double precision."""

from __future__ import annotations

import math

import numpy as np

from compilers.c.calls import KernelCall, ScalarArg, TensorArg
from compilers.lowering._quant import scale_zp
from compilers.lowering.registry import rule
from compilers.tvm.requant import quantize_multiplier, softmax_quant_params
from edgeai.errors import ModelError

_INT8 = ("int32_t edgeai_softmax_int8(const int8_t* input, int8_t* output, int32_t outer, int32_t depth, "
         "int32_t input_multiplier, int32_t input_left_shift, int32_t diff_min)")
_INT16 = ("int32_t edgeai_softmax_int16(const int16_t* input, int16_t* output, int32_t outer, int32_t depth, "
          "int32_t input_multiplier, int32_t input_shift, const int16_t* exp_lut, "
          "const int16_t* one_over_one_plus_x_lut)")
_FLOAT = "int32_t edgeai_softmax_float(const float* input, float* output, int32_t outer, int32_t depth, float beta)"


def _dims(ctx, node):
    t = ctx.graph.tensor(node.inputs[0])
    depth = t.shape[-1] if t.shape else 1
    return t.size // max(depth, 1), depth


@rule("softmax", "int8")
def softmax_int8_rule(ctx, node):
    g = ctx.graph
    in_scale, _ = scale_zp(g, node.inputs[0], node)
    out_scale, out_zp = scale_zp(g, node.outputs[0], node)
    if abs(out_scale - 1.0 / 256) > 1e-9 or out_zp != -128:
        raise ModelError(f"node {node.name!r} (softmax): int8 softmax output must have scale 1/256 and zero point "
                         f"-128 (TFLite's rule), got scale {out_scale} zero point {out_zp}")
    q = softmax_quant_params(in_scale, node.attrs["beta"], f"node {node.name!r} (softmax)")
    outer, depth = _dims(ctx, node)
    symbol = ctx.c_kernel("portable/softmax_int8.c", "edgeai_softmax_int8", _INT8)
    args = (TensorArg(node.inputs[0]), TensorArg(node.outputs[0]), ScalarArg(outer), ScalarArg(depth),
            ScalarArg(q.input_multiplier), ScalarArg(q.input_left_shift), ScalarArg(q.diff_min))
    return [KernelCall(node.name, node.op, symbol, args)]


@rule("softmax", "float32")
def softmax_float_rule(ctx, node):
    outer, depth = _dims(ctx, node)
    symbol = ctx.c_kernel("portable/softmax_float.c", "edgeai_softmax_float", _FLOAT)
    args = (TensorArg(node.inputs[0]), TensorArg(node.outputs[0]), ScalarArg(outer), ScalarArg(depth),
            ScalarArg(node.attrs["beta"], "float"))
    return [KernelCall(node.name, node.op, symbol, args)]


def _round(x: float) -> float:
    return math.copysign(math.floor(abs(x) + 0.5), x)  # TfLiteRound: halves away from zero


def int16_table(func, lo: float, hi: float) -> np.ndarray:
    """LiteRT's 16-bit interpolation table of func on [lo, hi] (gen_lut): 512 samples in Q0.15, each lowered by
    half the error linear interpolation would make at its interval's midpoint, and func(hi) for the last slope;
    saturated to int16."""
    step = (hi - lo) / 512
    table = np.empty(513, np.int16)
    for i in range(512):
        value = func(lo + i * step)
        interpolated = _round((func(lo + (i + 1) * step) * 32768.0 + _round(value * 32768.0)) / 2)
        error = interpolated - _round(func(lo + i * step + step / 2) * 32768.0)
        table[i] = min(max(_round(value * 32768.0) - _round(error / 2), -32768.0), 32767.0)
    table[512] = min(max(_round(func(hi) * 32768.0), -32768.0), 32767.0)
    return table


def _exp(x: float) -> float:
    return math.exp(x)


def _one_over_one_plus(x: float) -> float:
    return 1.0 / (1.0 + x)


@rule("softmax", "int16")
def softmax_int16_rule(ctx, node):
    g = ctx.graph
    in_scale, in_zp = scale_zp(g, node.inputs[0], node)
    out_scale, out_zp = scale_zp(g, node.outputs[0], node)
    if in_zp != 0 or out_zp != 0:
        raise ModelError(f"node {node.name!r} (softmax): int16 softmax needs zero points 0 (16x8 quantization), got "
                         f"input {in_zp}, output {out_zp}")
    # Prepare: the difference scaled so that [-65535, 0] is [-10, 0]; scale times beta is a float32 product
    real = float(np.float32(in_scale) * np.float32(node.attrs["beta"])) / (10.0 / 65535.0)
    multiplier, shift = quantize_multiplier(real)
    if shift > 15:  # a difference of 65535 shifted further would pass int32 (LiteRT's overflow)
        raise ModelError(f"node {node.name!r} (softmax): input scale {in_scale:g} * beta {node.attrs['beta']:g} is "
                         f"too large for the int16 softmax (at most about 5)")
    outer, depth = _dims(ctx, node)
    symbol = ctx.c_kernel("portable/softmax_int16.c", "edgeai_softmax_int16", _INT16)
    args = (TensorArg(node.inputs[0]), TensorArg(node.outputs[0]), ScalarArg(outer), ScalarArg(depth),
            ScalarArg(multiplier), ScalarArg(shift), ctx.derived(int16_table(_exp, -10.0, 0.0)),
            ctx.derived(int16_table(_one_over_one_plus, 0.0, 1.0)))
    return [KernelCall(node.name, node.op, symbol, args)]
