"""TFLite activations of the Keras zoo: HARD_SWISH (MobileNetV3's h-swish) and PRELU."""

from __future__ import annotations


def _hard_swish(r, op, ins, outs):
    return "hard_swish", ins[:1], {}


def _prelu(r, op, ins, outs):
    return "prelu", ins[:2], {}


CONVERTERS = {"HARD_SWISH": _hard_swish, "PRELU": _prelu}
