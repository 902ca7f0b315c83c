"""Graph IR → kernel calls: each node becomes a call to a TVM-built kernel or a hand-written C kernel.

One lowering rule per op, registered by op name; all TVM kernels of a model are built in one module.
"""

from __future__ import annotations

from compilers.lowering.registry import LoweringContext, lower_graph, rule_for

# Importing the rule modules registers them.
from compilers.lowering import (  # noqa: E402,F401
    conv, dense, elementwise, generic, hard_swish, int16x8, layout, lstm, lut, mean, movement, mul, pool, prelu,
    resize, sigmoid_tanh_int16, softmax, transpose_conv,
)

__all__ = ["LoweringContext", "lower_graph", "rule_for"]
