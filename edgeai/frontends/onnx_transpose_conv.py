"""ONNX ConvTranspose (2-D) as transpose_conv2d over the stored NHWC image (edgeai/ops/transpose_conv2d.py), a
mixin of the ONNX importer (edgeai/frontends/onnx.py).

ONNX weights [C_in, C_out / group, KH, KW] become OHWI; a grouped one becomes one dense transpose convolution
with zero weights between groups (float weights only). The output size is shape inference's (pads,
output_padding or output_shape give it); the padding before each axis is pads' start, or, with output_shape or
auto_pad SAME_*, the share of the total padding the specification gives the start (SAME_UPPER: half, rounded
down; otherwise: the rest). Refused, naming the node: dilations other than 1, non-constant weights, grouped
int8 weights, and inputs that are not 4-D.
"""

from __future__ import annotations

import numpy as np


class TransposeConvs:
    def _transpose_pads(self, node, a, in_hw, kernel, strides, out_hw):
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if "output_shape" not in a and auto in ("NOTSET", "VALID"):
            pads = tuple(a.get("pads", (0, 0, 0, 0))) if auto == "NOTSET" else (0, 0, 0, 0)
            return pads[0], pads[1]
        before = []
        for size, k, s, out, extra in zip(in_hw, kernel, strides, out_hw, a.get("output_padding", (0, 0))):
            total = s * (size - 1) + extra + k - out
            before.append(total // 2 if auto == "SAME_UPPER" else total - total // 2)
        return tuple(before)

    def op_ConvTranspose(self, node):
        from edgeai.frontends.onnx import NHWC, Act, Const, QConst

        x, w = self.get(node, 0), self.get(node, 1)
        refuse = lambda why: self.fail(node, why, True)  # noqa: E731
        if not isinstance(x, Act) or len(self.tensors[x.name].shape) != 4:
            raise refuse("only 2-D transpose convolutions of a 4-D activation are supported")
        if not isinstance(w, (Const, QConst)):
            raise refuse("weights must be constant")
        a = self._attrs(node)
        data = w.q if isinstance(w, QConst) else w.data
        group = int(a.get("group", 1))
        if tuple(a.get("dilations", (1, 1))) != (1, 1):
            raise refuse(f"dilations {list(a['dilations'])} are not supported (only 1)")
        if group != 1:
            if isinstance(w, QConst):
                raise refuse("grouped transpose convolutions with int8 weights are not supported")
            ci, per = data.shape[0] // group, data.shape[1]
            dense = np.zeros((data.shape[0], per * group) + data.shape[2:], data.dtype)
            for g in range(group):
                dense[g * ci:(g + 1) * ci, g * per:(g + 1) * per] = data[g * ci:(g + 1) * ci]
            w = Const(dense)
        in_shape = self.logical(node.input[0], node)[0]
        out_shape, dtype = self.logical(node.output[0], node)
        kernel, strides = data.shape[2:], tuple(a.get("strides", (1, 1)))
        pad_before = self._transpose_pads(node, a, in_shape[2:], kernel, strides, out_shape[2:])
        if min(pad_before) < 0:
            raise self.fail(node, f"the output {list(out_shape)} is larger than the kernel reaches "
                                  f"(padding {list(pad_before)} before)")
        inputs = [self.to_perm(x, NHWC, node.input[0] + "_nhwc"),
                  self.const_tensor(w, node.input[1], (1, 2, 3, 0))]  # [I, O, KH, KW] → OHWI
        if self.get(node, 2) is not None:
            inputs.append(self.const_tensor(self.get(node, 2), node.input[2]))
        out = self.new(node.output[0], tuple(out_shape[i] for i in NHWC), dtype)
        self.emit("transpose_conv2d", inputs, [out],
                  {"strides": strides, "pad_before": pad_before, "size": tuple(out_shape[2:])},
                  name=node.name or node.output[0])
        self.values[node.output[0]] = Act(out, NHWC)
