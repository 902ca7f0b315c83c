"""Simple kernels every graph may need around the heavy ops: elementwise with broadcasting, activations,
quantize/dequantize, transpose, pad, concat, max pooling, mean. Plain TE, no schedule: they move little data.

Every kernel takes (inputs..., output) pointers; shapes and constants are baked in, except the scale and
zero point arrays of a per-axis quantize/dequantize, which come as (input, scale, zero_point, output).
int8 pad and concat may requantize what they copy (ONNX numerics: one rounding, halves to even).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tvm import s_tir, te, tirx

from ..build import Kernel, KernelArg, plain_c_kernel
from ..requant import INT_RANGES, te_shift_half_even
from ._common import conv_output_size, fuse_epilogue


def _out(t):
    return KernelArg(t, "output", const=False)


def _broadcast_index(shape, out_shape, idx):
    lead = len(out_shape) - len(shape)
    return [0 if d == 1 else idx[lead + i] for i, d in enumerate(shape)]


@dataclass(frozen=True)
class BinaryParams:
    op: str  # add, sub, mul
    a_shape: tuple[int, ...]
    b_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    act_min: float = -math.inf
    act_max: float = math.inf


def binary_float32(name: str, p: BinaryParams) -> Kernel:
    a = te.placeholder(p.a_shape, "float32", "input1")
    b = te.placeholder(p.b_shape, "float32", "input2")

    def body(*i):
        x, y = a[tuple(_broadcast_index(p.a_shape, p.out_shape, i))], b[tuple(_broadcast_index(p.b_shape, p.out_shape, i))]
        v = x + y if p.op == "add" else x - y if p.op == "sub" else x * y
        if math.isfinite(p.act_min):
            v = tirx.max(v, tirx.const(p.act_min, "float32"))
        if math.isfinite(p.act_max):
            v = tirx.min(v, tirx.const(p.act_max, "float32"))
        return v

    out = te.compute(p.out_shape, body, name=p.op)
    return plain_c_kernel(name, [KernelArg(a, "input1"), KernelArg(b, "input2"), _out(out)])


@dataclass(frozen=True)
class UnaryParams:
    op: str  # relu, relu6, clip, sigmoid, tanh, pow
    shape: tuple[int, ...]
    lo: float = -math.inf
    hi: float = math.inf
    exponent: float = 1.0  # pow


def unary_float32(name: str, p: UnaryParams) -> Kernel:
    x = te.placeholder(p.shape, "float32", "input")

    def body(*i):
        v = x[i]
        if p.op == "sigmoid":
            return tirx.const(1.0, "float32") / (tirx.const(1.0, "float32") + tirx.exp(-v))
        if p.op == "tanh":
            return tirx.tanh(v)
        if p.op == "pow":
            return tirx.power(v, tirx.const(p.exponent, "float32"))
        lo, hi = {"relu": (0.0, math.inf), "relu6": (0.0, 6.0)}.get(p.op, (p.lo, p.hi))
        if math.isfinite(lo):
            v = tirx.max(v, tirx.const(lo, "float32"))
        if math.isfinite(hi):
            v = tirx.min(v, tirx.const(hi, "float32"))
        return v

    out = te.compute(p.shape, body, name=p.op)
    return plain_c_kernel(name, [KernelArg(x, "input"), _out(out)])


@dataclass(frozen=True)
class QuantizeParams:
    shape: tuple[int, ...]
    scale: float
    zero_point: int
    dtype: str = "int8"
    half_even: bool = True  # ONNX QuantizeLinear; TFLite QUANTIZE rounds halves away from zero
    axis: int | None = None  # per axis: scale and zero point are arrays of shape[axis] (float32, int32) inputs


def _qparams(p: QuantizeParams):
    """(placeholders, scale(i), zero_point(i)): constants, or per-axis arrays read at index i[axis]."""
    if p.axis is None:
        return [], lambda i: tirx.const(p.scale, "float32"), lambda i: tirx.const(p.zero_point, "int32")
    n = p.shape[p.axis]
    scale, zp = te.placeholder((n,), "float32", "scale"), te.placeholder((n,), "int32", "zero_point")
    return [scale, zp], lambda i: scale[i[p.axis]], lambda i: zp[i[p.axis]]


def _round_half_away(x):
    """roundf (TfLiteRound): halves away from zero. TVM's round prints as nearbyintf, which rounds halves to even.
    x is first held within +-2**24 (beyond it every float32 is an integer, and the caller saturates to 8 or 16 bits
    anyway), so that its truncation through int32 is defined; the fraction x - trunc(x) is then exact in float32
    and its comparison with a half decides ties exactly."""
    f32 = lambda v: tirx.const(v, "float32")  # noqa: E731
    held = tirx.min(tirx.max(x, f32(-16777216.0)), f32(16777216.0))
    t = held.astype("int32").astype("float32")
    fraction = held - t
    return tirx.Select(held >= f32(0.0), tirx.Select(fraction >= f32(0.5), t + f32(1.0), t),
                       tirx.Select(fraction <= f32(-0.5), t - f32(1.0), t))


def quantize(name: str, p: QuantizeParams) -> Kernel:
    x = te.placeholder(p.shape, "float32", "input")
    lo, hi = INT_RANGES[p.dtype]
    extra, scale, zp = _qparams(p)

    def body(*i):
        scaled = x[i] / scale(i)
        r = tirx.nearbyint(scaled) if p.half_even else _round_half_away(scaled)
        v = r + zp(i).astype("float32")
        return tirx.min(tirx.max(v, tirx.const(float(lo), "float32")), tirx.const(float(hi), "float32")).astype(p.dtype)

    out = te.compute(p.shape, body, name="quantize")
    return plain_c_kernel(name, [KernelArg(t, t.op.name) for t in [x] + extra] + [_out(out)])


def dequantize(name: str, p: QuantizeParams) -> Kernel:
    x = te.placeholder(p.shape, p.dtype, "input")
    extra, scale, zp = _qparams(p)
    out = te.compute(p.shape, lambda *i: (x[i].astype("int32") - zp(i)).astype("float32") * scale(i),
                     name="dequantize")
    return plain_c_kernel(name, [KernelArg(t, t.op.name) for t in [x] + extra] + [_out(out)])


def _requantized(value, rq: tuple[int, int, int, int] | None):
    """An int8 value moved to another quantization, ONNX numerics: (x - z_in) * s_in / s_out rounded once,
    halves to even, + z_out, saturated; rq = (z_in, z_out, multiplier, total) with s_in / s_out =
    multiplier / 2**total (requant.exact_multiplier). None: same quantization, a copy."""
    if rq is None:
        return value
    z_in, z_out, m, total = rq
    wide = (value.astype("int64") - z_in) * tirx.const(m, "int64")
    q = te_shift_half_even(wide, tirx.const(total, "int64")).astype("int32") + z_out
    return tirx.min(tirx.max(q, -128), 127).astype("int8")


@dataclass(frozen=True)
class TransposeParams:
    shape: tuple[int, ...]
    perm: tuple[int, ...]
    dtype: str


def transpose(name: str, p: TransposeParams) -> Kernel:
    x = te.placeholder(p.shape, p.dtype, "input")
    out_shape = tuple(p.shape[i] for i in p.perm)

    def body(*i):
        src = [0] * len(p.shape)
        for out_axis, in_axis in enumerate(p.perm):
            src[in_axis] = i[out_axis]
        return x[tuple(src)]

    out = te.compute(out_shape, body, name="transpose")
    return plain_c_kernel(name, [KernelArg(x, "input"), _out(out)])


@dataclass(frozen=True)
class PadParams:
    shape: tuple[int, ...]
    pads: tuple[int, ...]  # before..., after...
    value: float  # constant mode; for int8 already quantized to the output
    dtype: str
    mode: str = "constant"  # constant, reflect, edge, wrap (edgeai.ops.layout.PAD_MODES)
    requant: tuple[int, int, int, int] | None = None  # int8, ONNX numerics: _requantized's rq


def _pad_source(mode: str, j, d: int):
    """The input index output index j (already shifted by the pad before) reads along an axis of size d."""
    if mode == "edge":
        return tirx.min(tirx.max(j, 0), d - 1)
    if mode == "wrap":
        return tirx.floormod(j, d)
    # reflect: pads <= d - 1, so one mirror at either end is enough; d == 1 then has no padding at all
    return tirx.Select(j < 0, -j, tirx.Select(j >= d, 2 * (d - 1) - j, j)) if d > 1 else j * 0


def pad(name: str, p: PadParams) -> Kernel:
    x = te.placeholder(p.shape, p.dtype, "input")
    rank = len(p.shape)
    out_shape = tuple(d + p.pads[i] + p.pads[i + rank] for i, d in enumerate(p.shape))

    def body(*i):
        src = [i[a] - p.pads[a] for a in range(rank)]
        if p.mode != "constant":
            return _requantized(x[tuple(_pad_source(p.mode, s, d) for s, d in zip(src, p.shape))], p.requant)
        inside = tirx.all(*[tirx.all(s >= 0, s < p.shape[a]) for a, s in enumerate(src)])
        return tirx.if_then_else(inside, _requantized(x[tuple(src)], p.requant), tirx.const(p.value, p.dtype))

    out = te.compute(out_shape, body, name="pad")
    return plain_c_kernel(name, [KernelArg(x, "input"), _out(out)])


@dataclass(frozen=True)
class ConcatParams:
    shapes: tuple[tuple[int, ...], ...]
    axis: int
    dtype: str
    requant: tuple[tuple[int, int, int, int] | None, ...] = ()  # int8, ONNX numerics: per input, _requantized's rq


def concat(name: str, p: ConcatParams) -> Kernel:
    inputs = [te.placeholder(s, p.dtype, f"input{k}") for k, s in enumerate(p.shapes)]
    out_shape = list(p.shapes[0])
    out_shape[p.axis] = sum(s[p.axis] for s in p.shapes)
    requant = p.requant or (None,) * len(inputs)

    def body(*i):
        value, offset = None, 0
        for t, s, rq in zip(inputs, p.shapes, requant):  # the last input's test ends up outermost: largest offset first
            idx = list(i)
            idx[p.axis] = i[p.axis] - offset
            read = _requantized(t[tuple(idx)], rq)
            value = read if value is None else tirx.if_then_else(i[p.axis] >= offset, read, value)
            offset += s[p.axis]
        return value

    out = te.compute(tuple(out_shape), body, name="concat")
    return plain_c_kernel(name, [KernelArg(t, f"input{k}") for k, t in enumerate(inputs)] + [_out(out)])


@dataclass(frozen=True)
class MaxPoolParams:
    input_shape: tuple[int, int, int, int]  # NHWC
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]
    dtype: str
    act_min: float = -math.inf
    act_max: float = math.inf


def max_pool2d(name: str, p: MaxPoolParams) -> Kernel:
    n, h, w, c = p.input_shape
    (kh, kw), (sh, sw), (top, left, bottom, right) = p.kernel, p.stride, p.padding
    x = te.placeholder(p.input_shape, p.dtype, "input")
    out_shape = (n, conv_output_size(h, kh, sh, 1, top, bottom), conv_output_size(w, kw, sw, 1, left, right), c)
    rh, rw = te.reduce_axis((0, kh), "kh"), te.reduce_axis((0, kw), "kw")
    lowest = tirx.min_value(p.dtype)

    def body(b, oh, ow, ch):
        ih, iw = oh * sh - top + rh, ow * sw - left + rw
        inside = tirx.all(ih >= 0, ih < h, iw >= 0, iw < w)
        return te.max(tirx.if_then_else(inside, x[b, ih, iw, ch], lowest), axis=[rh, rw])

    acc = te.compute(out_shape, body, name="maxpool")
    lo, hi = p.act_min, p.act_max
    if math.isfinite(lo) or math.isfinite(hi):
        def clamp(*i):
            v = acc[i]
            if math.isfinite(lo):
                v = tirx.max(v, tirx.const(lo, p.dtype))
            if math.isfinite(hi):
                v = tirx.min(v, tirx.const(hi, p.dtype))
            return v
        out = te.compute(out_shape, clamp, name="clamp")
        # The clamp runs under the reduction's loops: the maximum stays a scalar, no buffer to allocate.
        return plain_c_kernel(name, [KernelArg(x, "input"), _out(out)], fuse_epilogue([x, out], "maxpool", ["clamp"], 3))
    return plain_c_kernel(name, [KernelArg(x, "input"), _out(acc)])


@dataclass(frozen=True)
class MeanParams:
    shape: tuple[int, ...]
    axes: tuple[int, ...]
    keepdims: bool


def mean_float32(name: str, p: MeanParams) -> Kernel:
    x = te.placeholder(p.shape, "float32", "input")
    reduce = [te.reduce_axis((0, p.shape[a]), f"r{a}") for a in p.axes]
    count = 1
    for a in p.axes:
        count *= p.shape[a]
    out_shape = tuple((1 if a in p.axes else d) for a, d in enumerate(p.shape) if p.keepdims or a not in p.axes)

    def body(*i):
        idx, k = [], 0
        for a in range(len(p.shape)):
            if a in p.axes:
                idx.append(reduce[p.axes.index(a)])
                k += 1 if p.keepdims else 0
            else:
                idx.append(i[k])
                k += 1
        return te.sum(x[tuple(idx)], axis=reduce)

    total = te.compute(out_shape, body, name="sum")
    out = te.compute(out_shape, lambda *i: total[i] / tirx.const(float(count), "float32"), name="mean")
    if out_shape:
        # The division runs under the sum's innermost spatial loop, so the sum is one stack scalar: a sum
        # buffer of the output's size (>= 256 floats, 1 KiB) would need a workspace, which the plain calling
        # convention has no device for ("Unknown device id in current IR"). The init goes before the
        # reduction loops too.
        return plain_c_kernel(name, [KernelArg(x, "input"), _out(out)],
                              fuse_epilogue([x, out], "sum", ["mean"], len(out_shape) - 1))
    # A reduction to one value: the sum is one scalar already. Its init goes before the reduction loops: left
    # to TVM, it sits under `if (r0 == 0 && ...)` inside them, which gcc -Wmaybe-uninitialized rejects.
    sch = s_tir.Schedule(te.create_prim_func([x, out]))
    block = sch.get_sblock("sum")
    sch.decompose_reduction(block, sch.get_loops(block)[0])
    return plain_c_kernel(name, [KernelArg(x, "input"), _out(out)], sch.mod["main"])
