"""Graph passes. Each is `Graph -> PassResult(graph, modified)` and never mutates its input;
`default_pipeline` lists them in order."""

from __future__ import annotations

import os

from edgeai.ir import Graph
from edgeai.passes.base import Pass, PassResult, run_passes
from edgeai.passes.batchnorm import fold_batch_norm
from edgeai.passes.dead_channels import remove_dead_channels
from edgeai.passes.cleanup import dequantize_hybrid_weights, eliminate_dead_nodes, fold_constants, hybrid_layers
from edgeai.passes.fusion import fold_bias_add, fuse_activation
from edgeai.passes.layout import fold_transposes, remove_noop_reshapes
from edgeai.passes.outputs import expose_outputs
from edgeai.passes.qdq import commute_qdq_with_layout, drop_requantize_identity, fuse_qdq

DEFAULT_PASSES: tuple[Pass, ...] = (
    fold_transposes,           # transposes compose, cancel, sink through elementwise ops, fold into constants
    remove_noop_reshapes,      # same-shape reshapes, reshape chains, flattens before fully_connected
    fold_batch_norm,           # float conv/fc then per-channel mul/add (imported BatchNormalization): into weights
    fold_bias_add,             # matmul/conv then a per-channel add: the add is the op's bias
    commute_qdq_with_layout,   # layout moves go to the integer side of dequantize/quantize
    drop_requantize_identity,  # Q(DQ(x)) with equal parameters is x
    fuse_qdq,                  # DQ → float op → Q becomes the int8 op
    fuse_activation,           # float op then relu/relu6: the activation is fused
    fold_constants,            # what is left of constant dequantize/reshape/transpose/arithmetic becomes data
    dequantize_hybrid_weights, # float ops on int8 weights (TFLite hybrid models) get float weights
    remove_noop_reshapes,      # the integer-side reshapes QDQ fusion left next to each other
    remove_dead_channels,      # int8 output channels with all-zero weights are constants: folded into readers
    eliminate_dead_nodes,      # nothing computes what nobody reads
)


# Set to 1 (the test suite does, in tests/conftest.py), every compile verifies the graph after each pass.
VERIFY_PASSES_ENV = "EDGEAI_VERIFY_PASSES"


def default_pipeline(graph: Graph, debug: bool = False, skip: tuple[Pass, ...] = ()) -> Graph:
    passes = tuple(p for p in DEFAULT_PASSES if p not in skip)
    return run_passes(graph, passes, debug=debug or os.environ.get(VERIFY_PASSES_ENV) == "1")


__all__ = [
    "DEFAULT_PASSES", "Pass", "PassResult", "commute_qdq_with_layout", "default_pipeline", "dequantize_hybrid_weights",
    "drop_requantize_identity", "expose_outputs", "hybrid_layers",
    "eliminate_dead_nodes", "fold_batch_norm", "remove_dead_channels", "fold_bias_add", "fold_constants", "fold_transposes", "fuse_activation",
    "fuse_qdq", "remove_noop_reshapes", "run_passes",
]
