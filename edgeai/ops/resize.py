"""resize_nearest, resize_bilinear and resize_cubic: NHWC images to a new height and width.

Where an output pixel reads from is one of two conventions:
* coordinates "tflite" (TFLite RESIZE_*): the two flags align_corners (the corner pixels' centres map onto each
  other) and half_pixel_centers (pixel centres at +0.5), scale in / out;
* an ONNX coordinate_transformation_mode (ONNX Resize/Upsample): half_pixel, pytorch_half_pixel, align_corners,
  asymmetric, tf_half_pixel_for_nn, half_pixel_symmetric, with the ONNX scale out / in given per axis
  (scale_h, scale_w; 0 means size_out / size_in), as the `scales` input states it (it need not be the ratio of
  the sizes, since ONNX floors in · scale); nearest then rounds by nearest_mode, and cubic weighs four
  neighbours with the coefficient cubic_coeff_a (exclude_outside: taps outside the image weigh 0, the others
  renormalised).
"""

from edgeai.errors import ModelError
from edgeai.ops.registry import Attr, OpDef, register

ONNX_COORDINATES = ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn",
                    "half_pixel_symmetric")
# "simple": Resize-10 and Upsample (opset < 11): truncate when enlarging, round up when shrinking
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil", "simple")


def _shapes(node, graph):
    x = graph.tensor(node.inputs[0]).shape
    a = node.attrs
    h, w = a["size"]
    if len(x) != 4 or h < 1 or w < 1:
        raise ModelError(f"node {node.name!r} ({node.op}): needs a 4-D NHWC input and a positive size, got "
                         f"{list(x)} and {[h, w]}")
    if a["align_corners"] and a["half_pixel_centers"]:
        raise ModelError(f"node {node.name!r} ({node.op}): align_corners and half_pixel_centers exclude each other")
    if a["coordinates"] != "tflite" and (a["align_corners"] or a["half_pixel_centers"]):
        raise ModelError(f"node {node.name!r} ({node.op}): the TFLite flags apply only with coordinates 'tflite', "
                         f"not {a['coordinates']!r}")
    if node.op == "resize_cubic" and a["coordinates"] == "tflite":
        raise ModelError(f"node {node.name!r} ({node.op}): cubic needs an ONNX coordinate transformation")
    if node.op == "resize_nearest" and (a["coordinates"] == "tflite") != (a["nearest_mode"] == "tflite"):
        raise ModelError(f"node {node.name!r} ({node.op}): nearest_mode {a['nearest_mode']!r} does not go with "
                         f"coordinates {a['coordinates']!r} (ONNX modes with ONNX transforms, 'tflite' with 'tflite')")
    if a["scale_h"] < 0 or a["scale_w"] < 0:
        raise ModelError(f"node {node.name!r} ({node.op}): negative scale {[a['scale_h'], a['scale_w']]}")
    return [(x[0], h, w, x[3])]


def _attrs(**extra):
    return {"size": Attr(("ints", 2)), "align_corners": Attr(bool, False), "half_pixel_centers": Attr(bool, False),
            "coordinates": Attr(str, "tflite", ("tflite",) + ONNX_COORDINATES),
            "scale_h": Attr(float, 0.0), "scale_w": Attr(float, 0.0), **extra}


for _name, _taps, _extra in (
        ("resize_nearest", 1, {"nearest_mode": Attr(str, "tflite", ("tflite",) + NEAREST_MODES)}),
        ("resize_bilinear", 4, {}),
        ("resize_cubic", 16, {"cubic_coeff_a": Attr(float, -0.75), "exclude_outside": Attr(bool, False)})):
    register(OpDef(
        name=_name,
        attrs=_attrs(**_extra),
        infer_shapes=_shapes,
        num_inputs=(1, 1),
        macs=lambda node, graph, taps=_taps: graph.tensor(node.outputs[0]).size * taps,
    ))
