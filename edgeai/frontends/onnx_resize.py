"""ONNX Resize (opset 10+) and Upsample (opset 7-9) as resize_nearest / resize_bilinear / resize_cubic over the
stored NHWC image, with the ONNX coordinate transform, scale and rounding as attributes (edgeai/ops/resize.py).
A mixin of the ONNX importer (edgeai/frontends/onnx.py).

Resize-10 and Upsample know only the asymmetric transform and truncating nearest ("simple"). What is refused,
naming the node: an input that is not 4-D, resizing N or C, tf_crop_and_resize (a region of interest),
antialias=1, scales or sizes that are not constant, align_corners with a scale that does not make a whole
number of pixels (the specification's reference divides by in · scale - 1, onnxruntime by out - 1), and
linear/cubic on integer tensors outside a QDQ group (their integer arithmetic is onnxruntime's own; inside
DequantizeLinear → Resize → QuantizeLinear the QDQ fusion makes the resize int8).
"""

from __future__ import annotations

import numpy as np

from edgeai.ops.resize import NEAREST_MODES, ONNX_COORDINATES

_OPS = {"nearest": "resize_nearest", "linear": "resize_bilinear", "bilinear": "resize_bilinear",
        "cubic": "resize_cubic"}


class Resizes:
    def _resize_scales(self, node, shape, legacy):
        """(scales, sizes) per logical axis, either None, from the inputs or (Upsample-7) the attribute."""
        a = self._attrs(node)
        if legacy and "scales" in a:
            return np.asarray(a["scales"], np.float32), None
        index = 1 if legacy else 2
        scales = sizes = None
        if self.get(node, index) is not None:
            scales = np.asarray(self.const_of(node, index, "scales"), np.float32).reshape(-1)
            scales = scales if scales.size else None
        if not legacy and self.get(node, 3) is not None:
            sizes = np.asarray(self.const_of(node, 3, "sizes"), np.int64).reshape(-1)
            sizes = sizes if sizes.size else None
        axes = a.get("axes")
        if axes is not None:  # opset 18: the values are for these axes only
            full_scales, full_sizes = np.ones(len(shape), np.float32), np.asarray(shape, np.int64)
            for i, axis in enumerate(int(ax) % len(shape) for ax in axes):
                if scales is not None:
                    full_scales[axis] = scales[i]
                if sizes is not None:
                    full_sizes[axis] = sizes[i]
            scales, sizes = (full_scales if scales is not None else None), (full_sizes if sizes is not None else None)
        if scales is None and sizes is None:
            raise self.fail(node, "neither scales nor sizes is given")
        for what, v in (("scales", scales), ("sizes", sizes)):
            if v is not None and v.size != len(shape):
                raise self.fail(node, f"{v.size} {what} for a {len(shape)}-D input")
        return scales, sizes

    def _aspect_scales(self, node, shape, sizes):
        """keep_aspect_ratio_policy not_larger / not_smaller: one scale, the smallest / largest ratio of the
        resized axes, on all of them (the output sizes are shape inference's)."""
        policy = self._text(node, "keep_aspect_ratio_policy", "stretch")
        axes = [int(ax) % len(shape) for ax in self._attrs(node).get("axes", range(len(shape)))]
        ratios = [np.float32(sizes[ax]) / np.float32(shape[ax]) for ax in axes]
        if policy == "stretch":
            return None
        if policy not in ("not_larger", "not_smaller"):
            raise self.fail(node, f"keep_aspect_ratio_policy {policy!r} is not an ONNX policy")
        one = min(ratios) if policy == "not_larger" else max(ratios)
        return np.asarray([one if ax in axes else 1 for ax in range(len(shape))], np.float32)

    def _text(self, node, key, default):
        value = self._attrs(node).get(key, default)
        return value.decode() if isinstance(value, bytes) else value

    def op_Resize(self, node):
        legacy = node.op_type == "Upsample" or self.opset < 11
        mode = self._text(node, "mode", "nearest")
        transform = "asymmetric" if legacy else self._text(node, "coordinate_transformation_mode", "half_pixel")
        nearest_mode = "simple" if legacy else self._text(node, "nearest_mode", "round_prefer_floor")
        x, out = self.get(node, 0), node.output[0]
        shape, dtype = self.logical(node.input[0], node)
        refuse = lambda why: self.fail(node, why, True)  # noqa: E731
        if mode not in _OPS:
            raise refuse(f"mode {mode!r} is not supported (nearest, linear, cubic)")
        if transform not in ONNX_COORDINATES:
            raise refuse(f"coordinate_transformation_mode {transform!r} is not supported "
                         f"(supported: {', '.join(ONNX_COORDINATES)})")
        if mode == "nearest" and nearest_mode not in NEAREST_MODES:
            raise refuse(f"nearest_mode {nearest_mode!r} is not supported")
        if self._attrs(node).get("antialias", 0):
            raise refuse("antialias=1 is not supported")
        if self._attrs(node).get("exclude_outside", 0) and mode != "cubic":
            raise self.fail(node, "exclude_outside=1 applies only to mode cubic")
        if len(shape) != 4:
            raise refuse(f"Resize of a {len(shape)}-D input is not supported (only 4-D NCHW)")
        if mode != "nearest" and dtype != "float32":
            raise refuse(f"{mode} Resize of a {dtype} tensor outside a QDQ group is not supported")
        scales, sizes = self._resize_scales(node, shape, legacy)
        if sizes is not None:
            scales = self._aspect_scales(node, shape, sizes)
        out_shape = tuple(self.types[out][0]) if out in self.types and all(d > 0 for d in self.types[out][0]) \
            else tuple(int(s) for s in sizes) if sizes is not None and scales is None \
            else tuple(int(np.floor(np.float32(d) * s)) for d, s in zip(shape, scales))
        if out_shape[:2] != tuple(shape[:2]) or scales is not None and any(s != 1 for s in scales[:2]):
            raise refuse(f"resizing N or C is not supported ({list(shape)} -> {list(out_shape)})")
        if min(out_shape) < 1:
            raise self.fail(node, f"the output {list(out_shape)} is empty")
        if transform == "align_corners" and scales is not None and sizes is None:
            for d, s, o in zip(shape[2:], scales[2:], out_shape[2:]):
                if np.float32(d) * s != o:  # the specification divides by d·s - 1, onnxruntime by o - 1
                    raise refuse(f"align_corners with a scale of {float(s):g} onto {d} pixels "
                                 f"({float(np.float32(d) * s):g}, not an integer): the ONNX specification and "
                                 f"onnxruntime resize it differently; give sizes instead")
        if out_shape == tuple(shape):  # onnxruntime copies the input then
            self.values[out] = x
            return
        xin = self.to_perm(x, (0, 2, 3, 1), node.input[0] + "_nhwc")
        n, c, h, w = out_shape
        attrs = {"size": (h, w), "coordinates": transform,
                 "scale_h": float(scales[2]) if scales is not None else 0.0,
                 "scale_w": float(scales[3]) if scales is not None else 0.0}
        if mode == "nearest":
            attrs["nearest_mode"] = nearest_mode
        elif mode == "cubic":
            attrs["cubic_coeff_a"] = float(self._attrs(node).get("cubic_coeff_a", -0.75))
            attrs["exclude_outside"] = bool(self._attrs(node).get("exclude_outside", 0))
        y = self.new(out, (n, h, w, c), dtype, quant=self.tensors[xin].quant)
        self.emit(_OPS[mode], [xin], [y], attrs, name=node.name or out)
        from edgeai.frontends.onnx import Act

        self.values[out] = Act(y, (0, 2, 3, 1))

    op_Upsample = op_Resize
