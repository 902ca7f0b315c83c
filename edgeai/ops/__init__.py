"""Supported operators, one registry. Importing this package registers them all."""

from edgeai.ops.registry import ACTIVATIONS, Attr, OpDef, all_ops, get_op, register
from edgeai.ops import (  # noqa: F401
    activations, conv2d, depthwise_conv2d, elementwise, fully_connected, layout, pool2d, recurrent, resize,
    slicing, transpose_conv2d, unary,
)

__all__ = ["ACTIVATIONS", "Attr", "OpDef", "all_ops", "get_op", "register"]
