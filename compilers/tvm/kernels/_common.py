"""Pieces every kernel shares: output sizes, the requantize-and-clamp epilogue, the loop schedule."""

from __future__ import annotations

import math

from tvm import s_tir, te, tirx

from ..requant import te_requantize, te_requantize_single_rounding


def conv_output_size(size: int, kernel: int, stride: int, dilation: int, pad_before: int, pad_after: int) -> int:
    return (size + pad_before + pad_after - dilation * (kernel - 1) - 1) // stride + 1


# How an accumulator becomes int8: TFLite's two-step MultiplyByQuantizedMultiplier ("double"), LiteRT's
# single rounding, halves up ("single", its FULLY_CONNECTED), or one rounding with halves to even
# ("half_even": ONNX numerics, what a QDQ graph means).
ROUNDINGS = ("double", "single", "half_even")


def scale_to_int8(shape, value, multiplier, shift, zero_point: int, act_min: int, act_max: int, rounding: str,
                  name: str, dtype: str = "int8"):
    """value(*i) (int32) times multiplier(*i) * 2**(shift(*i) - 31) with `rounding`, + zero point, clamped to
    [act_min, act_max], as `dtype` (int8; int16 for 16x8) stage `name`; its producers are
    requant_stages(rounding, name)."""
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding {rounding!r} is not one of {ROUNDINGS}")
    args = (shape, value, multiplier, shift, f"{name}_scaled")
    if rounding == "double":
        scaled = te_requantize(*args)
    else:
        scaled = te_requantize_single_rounding(*args, half_even=rounding == "half_even")
    return te.compute(shape, lambda *i: tirx.min(tirx.max(scaled[i] + zero_point, act_min), act_max).astype(dtype),
                      name=name)


def requantize_to_int8(
    shape, acc, bias, multiplier, shift, output_zero_point: int, act_min: int, act_max: int, rounding="double"
):
    """acc + bias, scaled per output channel (the last index; multiplier and shift are arrays) with `rounding`,
    + output zero point, clamp to the activation range. Stages: requant_stages(rounding)."""
    return scale_to_int8(shape, lambda *i: acc[i] + bias[i[-1]], lambda *i: multiplier[i[-1]],
                         lambda *i: shift[i[-1]], output_zero_point, act_min, act_max, rounding, "requant")


def clamp_float(x, act_min: float, act_max: float):
    """Fused activation on floats; an infinite bound is no bound (C has no portable literal for it)."""
    if math.isfinite(act_min):
        x = tirx.max(x, tirx.const(act_min, "float32"))
    if math.isfinite(act_max):
        x = tirx.min(x, tirx.const(act_max, "float32"))
    return x


def fuse_epilogue(tensors: list[te.Tensor], reduction: str, epilogue: list[str], at_loop: int) -> tirx.PrimFunc:
    """create_prim_func, then move the epilogue blocks (producers first) under the reduction's spatial
    loop `at_loop` and put the reduction's init there too.

    The accumulator and every epilogue intermediate then shrink to one scalar on the stack: no buffer
    of the output's size, no workspace.
    """
    sch = s_tir.Schedule(te.create_prim_func(tensors))
    loops = sch.get_loops(sch.get_sblock(reduction))
    for name in epilogue:
        sch.reverse_compute_at(sch.get_sblock(name), loops[at_loop])
    if len(loops) > at_loop + 1:
        sch.decompose_reduction(sch.get_sblock(reduction), loops[at_loop + 1])
    return sch.mod["main"]


def fuse_elementwise(tensors: list[te.Tensor], output: str, producers: list[str]) -> tirx.PrimFunc:
    """create_prim_func, then compute each producer (consumers' producers first) inside the output's
    innermost loop, so that every intermediate is one stack scalar."""
    sch = s_tir.Schedule(te.create_prim_func(tensors))
    for name in producers:
        sch.compute_at(sch.get_sblock(name), sch.get_loops(sch.get_sblock(output))[-1])
    return sch.mod["main"]


def requant_stages(rounding: str, name: str = "requant") -> list[str]:
    """The stages scale_to_int8 creates for stage `name`, producers first, `name` last."""
    return ([f"{name}_scaled_high"] if rounding == "double" else []) + [f"{name}_scaled", name]
