"""Image resizes over NHWC: nearest neighbour and bilinear. Where each output row and column reads from (and
with what weight) is computed at compile time (compilers/lowering/resize.py) and passed as small int32/float32
arrays, so one kernel body serves every align_corners / half_pixel_centers variant.

Arguments:
* nearest: (input, rows[H_out], cols[W_out], output), any dtype;
* bilinear: (input, y0, y1, wy, x0, x1, wx, output): the two source rows/columns of each output row/column and
  the weight of the second. int8: weights in 1/1024 (int32), the four products summed in int64, rounded halves
  away from zero to 1/2**20 (LiteRT's integer bilinear). float32: weights are the fractions.
* taps (ONNX cubic, and int8 bilinear in ONNX numerics): (input, rows[H_out, K], wy[H_out, K], cols[W_out, K],
  wx[W_out, K], output): K source rows and columns per output row and column, each with its weight; the output
  is the sum over the K x K products. int8: weights in 1/2**WEIGHT_BITS (int32), the products of the values less
  the zero point summed in int64, rounded once, halves to even, plus the zero point and saturated (what
  dequantize → resize → quantize computes; cubic weights can be negative, so the sum can leave the range).
"""

from __future__ import annotations

from dataclasses import dataclass

from tvm import te, tirx

from ..build import Kernel, KernelArg, plain_c_kernel
from ..requant import te_shift_half_even

WEIGHT_BITS = 20  # a weight's rounding moves an int8 sum by at most 255 * 2**-21 of an LSB per axis


@dataclass(frozen=True)
class ResizeParams:
    input_shape: tuple[int, int, int, int]  # NHWC
    size: tuple[int, int]  # output height, width
    dtype: str
    # what the index arrays hold (they are arguments): part of the key, so each variant gets its own kernel name
    align_corners: bool = False
    half_pixel_centers: bool = False
    coordinates: str = "tflite"


@dataclass(frozen=True)
class TapsParams:
    input_shape: tuple[int, int, int, int]  # NHWC
    size: tuple[int, int]  # output height, width
    taps: int  # K: source rows (and columns) per output row (column)
    dtype: str
    zero_point: int = 0  # int8: of the input and output (a resize keeps its quantization)


def _args(tensors, names):
    return [KernelArg(t, n) for t, n in zip(tensors, names)]


def resize_nearest(name: str, p: ResizeParams) -> Kernel:
    n, _, _, c = p.input_shape
    (h, w) = p.size
    x = te.placeholder(p.input_shape, p.dtype, "input")
    rows, cols = te.placeholder((h,), "int32", "rows"), te.placeholder((w,), "int32", "cols")
    out = te.compute((n, h, w, c), lambda b, y, xx, ch: x[b, rows[y], cols[xx], ch], name="resize_nearest")
    return plain_c_kernel(name, _args([x, rows, cols], ["input", "rows", "cols"]) + [KernelArg(out, "output", const=False)])


def resize_bilinear(name: str, p: ResizeParams) -> Kernel:
    n, _, _, c = p.input_shape
    (h, w) = p.size
    weight = "int32" if p.dtype == "int8" else "float32"
    x = te.placeholder(p.input_shape, p.dtype, "input")
    y0, y1 = te.placeholder((h,), "int32", "y0"), te.placeholder((h,), "int32", "y1")
    x0, x1 = te.placeholder((w,), "int32", "x0"), te.placeholder((w,), "int32", "x1")
    wy, wx = te.placeholder((h,), weight, "wy"), te.placeholder((w,), weight, "wx")

    if p.dtype == "int8":
        one = tirx.const(1 << 10, "int64")

        def body(b, y, xx, ch):
            dy, dx = wy[y].astype("int64"), wx[xx].astype("int64")

            def tap(row, col):
                return x[b, row, col, ch].astype("int64")

            total = (tap(y0[y], x0[xx]) * (one - dy) * (one - dx) + tap(y1[y], x0[xx]) * dy * (one - dx)
                     + tap(y0[y], x1[xx]) * (one - dy) * dx + tap(y1[y], x1[xx]) * dy * dx)
            half = tirx.Select(total > 0, tirx.const(1 << 19, "int64"), tirx.const(-(1 << 19), "int64"))
            return tirx.truncdiv(total + half, tirx.const(1 << 20, "int64")).astype("int8")
    else:
        one = tirx.const(1.0, "float32")

        def body(b, y, xx, ch):
            dy, dx = wy[y], wx[xx]
            return (x[b, y0[y], x0[xx], ch] * (one - dy) * (one - dx) + x[b, y1[y], x0[xx], ch] * dy * (one - dx)
                    + x[b, y0[y], x1[xx], ch] * (one - dy) * dx + x[b, y1[y], x1[xx], ch] * dy * dx)

    out = te.compute((n, h, w, c), body, name="resize_bilinear")
    inputs = [x, y0, y1, wy, x0, x1, wx]
    return plain_c_kernel(name, _args(inputs, ["input", "y0", "y1", "wy", "x0", "x1", "wx"])
                          + [KernelArg(out, "output", const=False)])


def resize_taps(name: str, p: TapsParams) -> Kernel:
    n, _, _, c = p.input_shape
    (h, w), k = p.size, p.taps
    weight = "int32" if p.dtype == "int8" else "float32"
    x = te.placeholder(p.input_shape, p.dtype, "input")
    rows, cols = te.placeholder((h, k), "int32", "rows"), te.placeholder((w, k), "int32", "cols")
    wy, wx = te.placeholder((h, k), weight, "wy"), te.placeholder((w, k), weight, "wx")
    if p.dtype == "int8":
        zp = tirx.const(p.zero_point, "int64")

        def body(b, y, xx, ch):
            total = tirx.const(0, "int64")
            for i in range(k):
                for j in range(k):
                    value = x[b, rows[y, i], cols[xx, j], ch].astype("int64") - zp
                    total = total + value * wy[y, i].astype("int64") * wx[xx, j].astype("int64")
            q = te_shift_half_even(total, tirx.const(2 * WEIGHT_BITS, "int64")) + zp
            return tirx.max(tirx.min(q, tirx.const(127, "int64")), tirx.const(-128, "int64")).astype("int8")
    else:
        def body(b, y, xx, ch):
            total = tirx.const(0.0, "float32")
            for i in range(k):
                row = tirx.const(0.0, "float32")
                for j in range(k):
                    row = row + x[b, rows[y, i], cols[xx, j], ch] * wx[xx, j]
                total = total + row * wy[y, i]
            return total

    out = te.compute((n, h, w, c), body, name="resize_taps")
    return plain_c_kernel(name, _args([x, rows, wy, cols, wx], ["input", "rows", "wy", "cols", "wx"])
                          + [KernelArg(out, "output", const=False)])
