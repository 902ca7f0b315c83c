"""A whole integer LSTM layer as one op (TFLite's int8 UNIDIRECTIONAL_SEQUENCE_LSTM: int8 activations and
weights, int16 cell state). The float LSTM is unrolled into plain ops at import (edgeai/frontends/recurrent.py);
the integer one keeps LiteRT's fused arithmetic, which no composition of int8 ops reproduces.

Inputs: x [batch, steps, features] (time_major: [steps, batch, features]), the input weights of the gates i, f,
c, o [hidden, features] each, their recurrent weights [hidden, hidden], their int32 biases [hidden].
Outputs: y (x's layout with hidden units), and the cell state [batch, hidden] (int16, the cell's quantization):
scratch the kernel updates in place, which the memory planner places in the arena like any tensor.
"""

from edgeai.errors import ModelError
from edgeai.ops.registry import Attr, OpDef, register


def _shapes(node, graph):
    x = graph.tensor(node.inputs[0]).shape
    hidden = graph.tensor(node.inputs[5]).shape[0]
    if len(x) != 3:
        raise ModelError(f"node {node.name!r} (lstm): input must be 3-D, got {list(x)}")
    batch = x[1] if node.attrs["time_major"] else x[0]
    return [(x[0], x[1], hidden), (batch, hidden)]


def _macs(node, graph):
    x = graph.tensor(node.inputs[0]).shape
    hidden = graph.tensor(node.inputs[5]).shape[0]
    return x[0] * x[1] * 4 * hidden * (x[2] + hidden)


LSTM = register(OpDef(
    name="lstm",
    attrs={"time_major": Attr(bool, False), "cell_clip": Attr(float, 0.0)},
    infer_shapes=_shapes,
    num_inputs=(13, 13),
    macs=_macs,
))
