"""Pieces every kernel shares: output sizes, the requantize-and-clamp epilogue, the loop schedule."""

from __future__ import annotations

from tvm import s_tir, te, tirx

from ..requant import te_multiply_by_quantized_multiplier


def conv_output_size(size: int, kernel: int, stride: int, dilation: int, pad_before: int, pad_after: int) -> int:
    return (size + pad_before + pad_after - dilation * (kernel - 1) - 1) // stride + 1


def requantize_to_int8(acc, multiplier, shift, output_zero_point: int, act_min: int, act_max: int):
    """TFLite: MultiplyByQuantizedMultiplier, + output zero point, clamp to the activation range."""
    scaled = te_multiply_by_quantized_multiplier(acc, multiplier, shift) + output_zero_point
    return tirx.min(tirx.max(scaled, act_min), act_max).astype("int8")


def clamp_float(x, act_min: float, act_max: float):
    return tirx.min(tirx.max(x, tirx.const(act_min, "float32")), tirx.const(act_max, "float32"))


def fuse_epilogue(tensors: list[te.Tensor], reduction: str, epilogue: str, at_loop: int) -> tirx.PrimFunc:
    """create_prim_func, then move the epilogue block under the reduction's spatial loop `at_loop`.

    The accumulator then shrinks to one scalar on the stack: no int32 buffer of the output's size,
    no workspace.
    """
    sch = s_tir.Schedule(te.create_prim_func(tensors))
    loops = sch.get_loops(sch.get_sblock(reduction))
    sch.reverse_compute_at(sch.get_sblock(epilogue), loops[at_loop])
    if len(loops) > at_loop + 1:
        sch.decompose_reduction(sch.get_sblock(reduction), loops[at_loop + 1])
    return sch.mod["main"]
