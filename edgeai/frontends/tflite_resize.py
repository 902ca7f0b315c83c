"""TFLite RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR (Keras UpSampling2D, Resizing, tf.image.resize)."""

from __future__ import annotations

from edgeai.frontends.tflite_slicing import const_ints


def _resize(kind, options):
    def convert(r, op, ins, outs):
        o = r.options(op, options)
        size = const_ints(r, ins[1], "size")
        return kind, ins[:1], dict(size=tuple(size), align_corners=bool(o.AlignCorners()),
                                   half_pixel_centers=bool(o.HalfPixelCenters()))
    return convert


CONVERTERS = {"RESIZE_NEAREST_NEIGHBOR": _resize("resize_nearest", "ResizeNearestNeighborOptions"),
              "RESIZE_BILINEAR": _resize("resize_bilinear", "ResizeBilinearOptions")}
