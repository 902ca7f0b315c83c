"""TFLite control flow with a trip count fixed at compile time: WHILE inlined, one copy of its body per iteration.

TensorFlow's converter writes a Keras LSTM or GRU (and any tf.while_loop) as WHILE over two subgraphs: a cond
that compares loop counters with the sequence length, and a body that advances them, reads time step t of the
sequence with GATHER and updates the state. The counters start as constants and the body adds constants to
them, so here they are folded: the cond is evaluated at import (a condition that depends on a value computed at
run time is refused, naming the WHILE), each iteration's GATHER reads a known step (a strided_slice), and the
body's nodes are added once per iteration, its activations named `<name>@<iteration>`, its weights shared.

Integer and boolean operators whose inputs are all constants (the counters' ADD, the cond's LESS and
LOGICAL_AND, ...) are folded wherever they are, with numpy, exactly as LiteRT computes them on int32.
"""

from __future__ import annotations

import numpy as np

from edgeai.errors import ModelError, UnsupportedOpError

MAX_ITERATIONS = 4096  # a longer loop would be a model of millions of nodes: refused


class Inlined(list):
    """Nodes a converter made itself (a loop's body): _nodes hands them on as they are."""


_INTEGER = ("int32", "int64", "bool")
_FOLD = {
    "ADD": np.add, "SUB": np.subtract, "MUL": np.multiply, "MINIMUM": np.minimum, "MAXIMUM": np.maximum,
    "LESS": np.less, "LESS_EQUAL": np.less_equal, "GREATER": np.greater, "GREATER_EQUAL": np.greater_equal,
    "EQUAL": np.equal, "NOT_EQUAL": np.not_equal, "LOGICAL_AND": np.logical_and, "LOGICAL_OR": np.logical_or,
    "LOGICAL_NOT": np.logical_not,
}


def fold(r, opname: str, op, ins: list[str], outs: list[str]) -> bool:
    """Fold an integer/boolean operator of constants into its output's data; True if it was one."""
    if opname not in _FOLD or len(outs) != 1 or not ins or "" in ins:
        return False
    tensors = [r.made[n] for n in ins]
    if any(t.data is None or t.dtype not in _INTEGER for t in tensors):
        return False
    out = r.made[outs[0]]
    with np.errstate(over="ignore"):  # int32 wraps, as in C
        value = _FOLD[opname](*(t.data for t in tensors))
    r.constant(int(op.Outputs(0)), np.asarray(value).astype(out.dtype).reshape(out.shape))
    return True


def _gather(r, op, ins, outs):
    """GATHER of time step t: a constant index is a strided_slice (the axis dropped for a scalar index)."""
    o = r.options(op, "GatherOptions")
    if o.BatchDims():
        raise UnsupportedOpError(f"batch_dims {o.BatchDims()} is not supported")
    try:
        index = np.asarray(r.const(ins[1]))
    except ModelError:
        raise UnsupportedOpError(f"the indices ({ins[1]!r}) are computed at run time; only constant indices (a "
                                 f"loop counter WHILE inlining made constant) are supported") from None
    shape = r.shape_of(ins[0])
    axis = o.Axis() % len(shape) if -len(shape) <= o.Axis() < len(shape) else None
    if axis is None:
        raise ModelError(f"axis {o.Axis()} is outside a rank-{len(shape)} input")
    if index.size != 1:
        raise UnsupportedOpError(f"{index.size} indices; only one is supported")
    i = int(index.reshape(-1)[0])
    if not 0 <= i < shape[axis]:  # LiteRT refuses it too
        raise ModelError(f"index {i} is outside axis {axis} of {list(shape)}")
    begin = [i if a == axis else 0 for a in range(len(shape))]
    sizes = [1 if a == axis else d for a, d in enumerate(shape)]
    squeeze = (axis,) if index.ndim == 0 else ()
    if r.made[ins[0]].data is not None:  # a constant table read at a constant index
        r.constant(int(op.Outputs(0)), np.take(r.made[ins[0]].data, index, axis=axis))
        return Inlined()
    return [("strided_slice", ins[:1], outs[0], dict(begin=tuple(begin), strides=(1,) * len(shape),
                                                      sizes=tuple(sizes), squeeze=squeeze))]


def _while(r, op, ins, outs):
    o = r.options(op, "WhileOptions")
    cond, body = o.CondSubgraphIndex(), o.BodySubgraphIndex()
    if "" in ins:
        raise ModelError("a loop variable is missing (input index -1)")
    values = [r.made[n] for n in ins]
    nodes = Inlined()
    for k in range(MAX_ITERATIONS + 1):
        try:
            _, flags = _call(r, cond, values, f"@cond{k}", "condition")
        except UnsupportedOpError as e:  # an operator left on run-time values: the count is not known here
            raise _run_time(cond, f": {e}") from None
        if len(flags) != 1 or flags[0].size != 1 or flags[0].dtype != "bool":
            raise ModelError(f"the condition (subgraph {cond}) must give one bool")
        if flags[0].data is None:
            raise _run_time(cond, "")
        if not bool(flags[0].data.reshape(-1)[0]):
            break
        if k == MAX_ITERATIONS:
            raise UnsupportedOpError(f"the loop runs more than {MAX_ITERATIONS} iterations")
        made, values = _call(r, body, values, f"@{k}", "body")
        if len(values) != len(outs):
            raise ModelError(f"the body (subgraph {body}) gives {len(values)} values for {len(outs)} loop variables")
        nodes.extend(made)
    for index, value in zip(op.OutputsAsNumpy(), values):
        r.bind(int(index), value)
    return nodes


def _run_time(cond: int, why: str) -> UnsupportedOpError:
    return UnsupportedOpError(f"the trip count is not fixed when the model is compiled: its condition (subgraph "
                              f"{cond}) depends on values computed at run time; only loops over a sequence of "
                              f"static length are supported{why}")


def _call(r, index: int, values, scope: str, role: str):
    """Subgraph `index` on `values`; its errors say they come from the loop's condition or body."""
    try:
        return r.subgraph_nodes(index, values, scope)
    except (ModelError, UnsupportedOpError) as e:
        text = str(e).replace(f"{r.path}: ", "")
        raise type(e)(f"in its {role} (subgraph {index}): {text}") from None


CONVERTERS = {"WHILE": _while, "GATHER": _gather}
