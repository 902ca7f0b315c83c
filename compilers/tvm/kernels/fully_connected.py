"""FULLY_CONNECTED: input [B, IN] (any leading shape flattened by the caller), weights [OUT, IN].

int8 (input, filter, bias[OUT], multiplier[OUT], shift[OUT], output[B, OUT]), requantized with
LiteRT 2.3's single rounding by default (FullyConnectedParams.rounding); per-tensor weights pass
the same multiplier/shift OUT times (requant.per_tensor_fc_multiplier). float32 (input, filter, bias,
output). TFLite reference semantics: sum filter * (input - input_zero_point) + bias, requantize, clamp.
"""

from __future__ import annotations

from dataclasses import dataclass

from tvm import te

from ..build import Kernel, KernelArg, plain_c_kernel
from ._common import clamp_float, fuse_epilogue, requant_stages, requantize_to_int8


@dataclass(frozen=True)
class FullyConnectedParams:
    batch: int
    in_features: int
    out_features: int
    input_zero_point: int = 0
    output_zero_point: int = 0
    act_min: float = -128
    act_max: float = 127
    # LiteRT 2.3's reference FC int8 requantizes with one rounding, halves up (_common.ROUNDINGS).
    rounding: str = "single"


def _fc(p: FullyConnectedParams, dtype: str):
    inp = te.placeholder((p.batch, p.in_features), dtype, "input")
    filt = te.placeholder((p.out_features, p.in_features), dtype, "filter")
    bias = te.placeholder((p.out_features,), "int32" if dtype == "int8" else dtype, "bias")
    k = te.reduce_axis((0, p.in_features), "k")
    if dtype == "int8":
        term = lambda b, o: (inp[b, k].astype("int32") - p.input_zero_point) * filt[o, k].astype("int32")  # noqa: E731
    else:
        term = lambda b, o: inp[b, k] * filt[o, k]  # noqa: E731
    acc = te.compute((p.batch, p.out_features), lambda b, o: te.sum(term(b, o), axis=[k]), name="acc")
    return inp, filt, bias, acc


def fully_connected_int8(name: str, p: FullyConnectedParams) -> Kernel:
    inp, filt, bias, acc = _fc(p, "int8")
    mult = te.placeholder((p.out_features,), "int32", "multiplier")
    shift = te.placeholder((p.out_features,), "int32", "shift")
    out = requantize_to_int8(
        (p.batch, p.out_features), acc, bias, mult, shift, p.output_zero_point, int(p.act_min), int(p.act_max),
        p.rounding,
    )
    tensors = [inp, filt, bias, mult, shift, out]
    names = ["input", "filter", "bias", "multiplier", "shift"]
    args = [KernelArg(t, n) for t, n in zip(tensors[:-1], names)] + [KernelArg(out, "output", const=False, restrict=True)]
    return plain_c_kernel(name, args, fuse_epilogue(tensors, "acc", requant_stages(p.rounding), 1))


def fully_connected_float32(name: str, p: FullyConnectedParams) -> Kernel:
    inp, filt, bias, acc = _fc(p, "float32")
    out = te.compute(
        (p.batch, p.out_features), lambda b, o: clamp_float(acc[b, o] + bias[o], p.act_min, p.act_max), name="epilogue"
    )
    args = [KernelArg(inp, "input"), KernelArg(filt, "filter"), KernelArg(bias, "bias"),
            KernelArg(out, "output", const=False, restrict=True)]
    return plain_c_kernel(name, args, fuse_epilogue([inp, filt, bias, out], "acc", ["epilogue"], 1))
