"""Graph passes. Each returns PassResult(graph, modified); `default_pipeline` lists them in order."""

from __future__ import annotations

from edgeai.ir import Graph
from edgeai.passes.base import PassResult, run_passes
from edgeai.passes.cleanup import eliminate_dead_nodes, fold_constants
from edgeai.passes.fusion import fold_bias_add, fuse_activation
from edgeai.passes.qdq import commute_qdq_with_layout, drop_requantize_identity, fuse_qdq


def default_pipeline(graph: Graph, debug: bool = False) -> Graph:
    return run_passes(graph, [
        fold_bias_add,             # matmul/conv then a per-channel add: the add is the op's bias
        commute_qdq_with_layout,   # layout moves go to the integer side of dequantize/quantize
        drop_requantize_identity,  # Q(DQ(x)) with equal parameters is x
        fuse_qdq,                  # DQ → float op → Q becomes the int8 op
        fuse_activation,           # float op then relu/relu6: the activation is fused
        fold_constants,            # what is left of constant dequantize/reshape/transpose becomes data
        eliminate_dead_nodes,      # nothing computes what nobody reads
    ], debug=debug)


__all__ = ["PassResult", "default_pipeline", "run_passes"]
