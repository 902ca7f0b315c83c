"""Quantization helpers the lowering rules share: activation ranges and scales of int8 tensors."""

from __future__ import annotations

import math

from compilers.tvm.requant import INT_RANGES
from edgeai.errors import ModelError


def numerics(node) -> str:
    """'tflite' or 'onnx': whose integer arithmetic this int8 node must reproduce (edgeai.ops.registry.NUMERICS)."""
    return node.attrs.get("numerics", "tflite")


def accumulator_rounding(node, tflite: str = "double") -> str:
    """How a conv/FC accumulator is requantized (compilers.tvm.kernels._common.ROUNDINGS): one rounding with
    halves to even for ONNX numerics, else TFLite's `tflite` (two roundings; LiteRT's FC rounds once)."""
    return "half_even" if numerics(node) == "onnx" else tflite


def tensor_quant(graph, name: str, node):
    t = graph.tensor(name)
    if t.quant is None:
        raise ModelError(f"node {node.name!r} ({node.op}): int8 tensor {name!r} has no quantization parameters")
    return t.quant


def scale_zp(graph, name: str, node) -> tuple[float, int]:
    q = tensor_quant(graph, name, node)
    if not q.per_tensor:
        raise ModelError(f"node {node.name!r} ({node.op}): activation {name!r} must be quantized per tensor")
    return q.scale[0], q.zero_point[0]


def _round(x: float) -> int:
    return int(math.copysign(math.floor(abs(x) + 0.5), x))  # TfLiteRound: halves away from zero


def int8_activation_range(activation: str, scale: float, zero_point: int, dtype: str = "int8") -> tuple[int, int]:
    """TFLite CalculateActivationRangeQuantized for int8 outputs (int16 ones with dtype="int16": 16x8)."""
    lo, hi = INT_RANGES[dtype]
    if activation == "relu":
        lo = max(lo, zero_point)
    elif activation == "relu6":
        lo, hi = max(lo, zero_point), min(hi, zero_point + _round(6.0 / scale))
    elif activation == "relu_n1_to_1":
        lo, hi = max(lo, zero_point + _round(-1.0 / scale)), min(hi, zero_point + _round(1.0 / scale))
    return lo, hi


def float_activation_range(activation: str) -> tuple[float, float]:
    return {"none": (-math.inf, math.inf), "relu": (0.0, math.inf), "relu6": (0.0, 6.0),
            "relu_n1_to_1": (-1.0, 1.0)}[activation]
