"""ONNX ops the importer rewrites into ops it already has (a mixin of the ONNX importer, edgeai/frontends/onnx.py).

Sum: a chain of Adds. Softmax at opset < 13: ONNX coerces the input to 2-D [prod(dims before axis), prod(dims
from axis)], so it is Reshape → softmax over the last axis → Reshape. 1-D pools ([N, C, L]) are 2-D pools of
[N, C, 1, L]. A grouped convolution is one convolution with block-diagonal weights (the weights between groups are
zero; with int8 weights the zero point, which is what zero dequantizes from): exact, at the cost of `group` times
the MACs of the grouped one. LRN: x · (bias + alpha/size · Σ x² over the channel window)^(-beta), the window sum a
1x1 convolution of x² with a constant band matrix (bias as its bias) and the power a float `pow`. (Resize and
Upsample map onto the resize ops directly: onnx_resize.py.)
"""

from __future__ import annotations

import numpy as np


class Rewrites:
    """Handlers that decompose; they build ONNX nodes and hand them to the importer's own handlers."""

    def _shape_of(self, name):
        if name in self.types:
            return tuple(self.types[name][0])
        value = self.values[name]
        return tuple(value.data.shape) if hasattr(value, "data") else tuple(value.q.shape)

    def _fresh(self, base):
        """A name for an intermediate value that no ONNX value has (a QDQ model's `<x>_scale` initializers)."""
        name = base
        while name in self.values or name in self.types:
            name += "_"
        return name

    def _typed(self, name, shape, elem=1):
        name = self._fresh(name)
        self.types[name] = (tuple(int(d) for d in shape), elem)
        return name

    def op_Sum(self, node):
        inputs = [n for n in node.input if n]
        out = node.output[0]
        if len(inputs) == 1:
            self.values[out] = self.get(node, 0)
            return
        acc = inputs[0]
        for k, nxt in enumerate(inputs[1:], 1):
            name = out if k == len(inputs) - 1 else self._typed(
                f"{out}_sum{k}", np.broadcast_shapes(self._shape_of(acc), self._shape_of(nxt)))
            self._synth("Add", [acc, nxt], name, acc)
            acc = name

    def _softmax_2d(self, node, axis):
        """Opset < 13 Softmax/LogSoftmax semantics over the flattened trailing axes [axis:]."""
        x, out = node.input[0], node.output[0]
        shape = self._shape_of(x)
        flat = (int(np.prod(shape[:axis], dtype=np.int64)), int(np.prod(shape[axis:], dtype=np.int64)))
        a = self._synth("Reshape", [x, self._const(f"{out}_2d_shape", np.asarray(flat, np.int64))],
                        self._typed(f"{out}_2d", flat), x)
        b = self._synth("Softmax", [a], self._typed(f"{out}_2d_softmax", flat), a, axis=-1)
        self._synth("Reshape", [b, self._const(f"{out}_shape", np.asarray(shape, np.int64))], out, x)

    def _pool_1d(self, node):
        """[N, C, L] pooled as [N, C, 1, L] with the window (1, k)."""
        x, out = node.input[0], node.output[0]
        n, c, length = self._shape_of(x)
        out_shape = self._shape_of(out)
        a = self._attrs(node)
        attrs = {k: v for k, v in a.items() if k in ("auto_pad", "ceil_mode", "count_include_pad", "storage_order")}
        if node.op_type != "GlobalAveragePool":
            attrs["kernel_shape"] = [1, a["kernel_shape"][0]]
            attrs["strides"] = [1, a.get("strides", [1])[0]]
            attrs["dilations"] = [1, a.get("dilations", [1])[0]]
            pads = a.get("pads", [0, 0])
            attrs["pads"] = [0, pads[0], 0, pads[1]]
        x4 = self._synth("Reshape", [x, self._const(f"{out}_4d_shape", np.asarray((n, c, 1, length), np.int64))],
                         self._typed(f"{x}_4d", (n, c, 1, length)), x)
        y4 = self._synth(node.op_type, [x4], self._typed(f"{out}_4d", out_shape[:2] + (1,) + out_shape[2:]), x4,
                         **attrs)
        self._synth("Reshape", [y4, self._const(f"{out}_shape", np.asarray(out_shape, np.int64))], out, x)

    def _block_diagonal(self, node, w, group):
        """Grouped weights [O, C/group, KH, KW] as the dense [O, C, KH, KW] a group=1 convolution reads."""
        quantized = hasattr(w, "q")
        data = w.q if quantized else w.data
        o, ci = data.shape[:2]
        if o % group:
            raise self.fail(node, f"{o} output channels do not split into {group} groups")
        per = o // group
        if quantized:  # the off-group weights dequantize to zero: each row holds its own zero point
            zp = np.broadcast_to(np.asarray(w.zero_point).reshape(-1), (o,)) if w.axis == 0 or \
                np.asarray(w.zero_point).size == 1 else None
            if zp is None:
                raise self.fail(node, "grouped int8 weights quantized along an axis other than 0", True)
            dense = np.empty((o, ci * group) + data.shape[2:], data.dtype)
            dense[...] = zp.reshape((o,) + (1,) * (data.ndim - 1)).astype(data.dtype)
        else:
            dense = np.zeros((o, ci * group) + data.shape[2:], data.dtype)
        for g in range(group):
            dense[g * per:(g + 1) * per, g * ci:(g + 1) * ci] = data[g * per:(g + 1) * per]
        return type(w)(dense, w.scale, w.zero_point, w.axis) if quantized else type(w)(dense)

    def op_LRN(self, node):
        a = self._attrs(node)
        size = int(a["size"])
        alpha, beta, bias = float(a.get("alpha", 1e-4)), float(a.get("beta", 0.75)), float(a.get("bias", 1.0))
        x, out = node.input[0], node.output[0]
        shape = self._shape_of(x)
        if len(shape) != 4:
            raise self.fail(node, f"LRN of a {len(shape)}-D input is not supported (only 4-D)", True)
        if self.logical(x, node)[1] != "float32":
            raise self.fail(node, "LRN on integer tensors is not supported", True)
        c = shape[1]
        band = np.zeros((c, c, 1, 1), np.float32)  # out channel o sums channels o - (size-1)//2 .. o + size//2
        for o in range(c):
            band[o, max(0, o - (size - 1) // 2):min(c, o + size // 2 + 1)] = alpha / size
        sq = self._synth("Mul", [x, x], self._typed(f"{out}_square", shape), x)
        s = self._synth("Conv", [sq, self._const(f"{out}_window", band),
                                 self._const(f"{out}_bias", np.full(c, bias, np.float32))],
                        self._typed(f"{out}_window_sum", shape), x)
        p = self._synth("Pow", [s, self._const(f"{out}_exponent", np.float32(-beta))],
                        self._typed(f"{out}_lrn_factor", shape), x)
        self._synth("Mul", [x, p], out, x)
