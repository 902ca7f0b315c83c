"""Graph IR → kernel calls: each node becomes a call to a TVM-built kernel or a hand-written C kernel.

One lowering rule per op, registered by op name; all TVM kernels of a model are built in one module.
"""

from __future__ import annotations

from compilers.lowering.registry import LoweringContext, lower_graph, rule_for

# Importing the rule modules registers them.
from compilers.lowering import conv, dense, elementwise, generic, layout, lut, mean, mul, pool, softmax  # noqa: E402,F401

__all__ = ["LoweringContext", "lower_graph", "rule_for"]
