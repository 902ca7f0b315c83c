"""reshape: free when the memory plan lets it share its input's bytes, a copy otherwise."""

from __future__ import annotations

from compilers.c.calls import KernelCall, ScalarArg, TensorArg
from compilers.lowering.registry import rule
from edgeai.memory import inplace_aliases

_COPY = "int32_t edgeai_copy(const uint8_t* source, uint8_t* destination, int32_t count)"


def _reshape(ctx, node):
    if node.outputs[0] in inplace_aliases(ctx.graph):
        return []
    symbol = ctx.c_kernel("portable/copy.c", "edgeai_copy", _COPY)
    src = ctx.graph.tensor(node.inputs[0])
    source = ctx.const(src.name) if src.is_constant else TensorArg(src.name)
    # The copy works on bytes whatever the dtype; the emitter casts the pointers to the kernel's types.
    return [KernelCall(node.name, node.op, symbol, (source, TensorArg(node.outputs[0]), ScalarArg(src.nbytes)))]


for _dtype in ("int8", "float32", "int32", "uint8", "int16"):
    rule("reshape", _dtype)(_reshape)
