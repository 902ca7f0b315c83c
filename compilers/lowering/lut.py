"""int8 sigmoid and tanh → a 256-entry table computed here, at compile time, and one table-lookup TVM kernel.

The table holds the int8 output for each of the 256 int8 inputs, modelled on the node's numerics:

* "tflite": LiteRT's reference LOGISTIC/TANH for int8 (tflite/kernels/activations.cc, Prepare with kReference)
  fill a table the same way (LUTPopulate, tflite/kernels/internal/common.h), in float32: the input dequantized
  as float32(scale) * float32(q - zero_point), the function in float32 (tanhf; 1.0f / (1.0f + expf(-x))),
  times float32(1 / output_scale), rounded halves away from zero, + output zero point, saturated. expf and
  tanhf are modelled as the float64 function rounded to float32 (glibc's are within an ULP; on every scale the
  tests try the tables are the same).
* "onnx": what DequantizeLinear → Sigmoid/Tanh → QuantizeLinear means: f(s_in (q - z_in)) / s_out in float64,
  rounded halves to even, + z_out, saturated.
"""

from __future__ import annotations

import math

import numpy as np

from compilers.c.calls import KernelCall, TensorArg
from compilers.lowering._quant import numerics, scale_zp
from compilers.lowering.registry import rule
from compilers.tvm.kernels.lut import LookupParams, lookup_int8

_F32 = np.float32


def _sigmoid_f32(x: np.float32) -> np.float32:
    with np.errstate(over="ignore"):
        e = _F32(math.exp(min(-float(x), 1000.0)))  # expf: inf beyond float32's range, as in C
    return _F32(1.0) / (_F32(1.0) + e)


_FLOAT32_FUNCTIONS = {"sigmoid": _sigmoid_f32, "tanh": lambda x: _F32(math.tanh(float(x)))}
_FLOAT64_FUNCTIONS = {"sigmoid": lambda x: 0.5 * (1.0 + math.tanh(0.5 * x)), "tanh": math.tanh}


def tflite_table(op: str, input_q: tuple[float, int], output_q: tuple[float, int]) -> np.ndarray:
    """int8[256], entry q + 128: LiteRT's reference int8 table for `op` (LUTPopulate's float32 arithmetic)."""
    fn = _FLOAT32_FUNCTIONS[op]
    (s_in, z_in), (s_out, z_out) = input_q, output_q
    inverse = _F32(1.0) / _F32(s_out)
    table = np.empty(256, np.int8)
    for q in range(-128, 128):
        scaled = float(fn(_F32(s_in) * _F32(q - z_in)) * inverse)
        rounded = math.copysign(math.floor(abs(scaled) + 0.5), scaled)  # roundf: halves away from zero
        table[q + 128] = min(max(int(_F32(rounded) + _F32(z_out)), -128), 127)
    return table


def onnx_table(op: str, input_q: tuple[float, int], output_q: tuple[float, int]) -> np.ndarray:
    """int8[256], entry q + 128: f of the dequantized input quantized once, halves to even (float64)."""
    fn = _FLOAT64_FUNCTIONS[op]
    (s_in, z_in), (s_out, z_out) = input_q, output_q
    real = np.array([fn(float(s_in) * (q - z_in)) for q in range(-128, 128)]) / float(s_out)
    return np.clip(np.rint(real) + z_out, -128, 127).astype(np.int8)


def table_for(node, graph) -> np.ndarray:
    make = onnx_table if numerics(node) == "onnx" else tflite_table
    return make(node.op, scale_zp(graph, node.inputs[0], node), scale_zp(graph, node.outputs[0], node))


def lookup_rule(ctx, node):
    size = ctx.graph.tensor(node.inputs[0]).size
    table = ctx.derived(table_for(node, ctx.graph))
    symbol = ctx.tvm_kernel(lookup_int8, LookupParams(size), "lut")
    return [KernelCall(node.name, node.op, symbol, (TensorArg(node.inputs[0]), table, TensorArg(node.outputs[0])))]


for _op in _FLOAT32_FUNCTIONS:
    rule(_op, "int8")(lookup_rule)
