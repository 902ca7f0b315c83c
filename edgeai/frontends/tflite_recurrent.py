"""TFLite's fused UNIDIRECTIONAL_SEQUENCE_LSTM (float32), unrolled over its time steps by
edgeai/frontends/recurrent.py.

The state inputs (18, 19) are variable tensors: LiteRT keeps the last step's state in them from one Invoke to the
next until reset_all_variables. A compiled library starts every inference from the state they are declared with
(zeros, or their constant data), as LiteRT does on its first Invoke. Supported: the four gates with biases, a
cell clip, tanh/relu/sigmoid cell activation, time-major or batch-major input. Refused, naming the operator:
CIFG (no input gate), peepholes, a projection, layer normalization, integer or hybrid weights.
"""

from __future__ import annotations

import numpy as np

from edgeai.errors import UnsupportedOpError
from edgeai.frontends import recurrent as rnn
from edgeai.frontends.tflite_control import Inlined

_CELL_ACTIVATIONS = {1: "relu", 4: "tanh", 6: "sigmoid"}  # ActivationFunctionType
_GATES = "ifco"
_OPTIONAL = {9: "peepholes (cell_to_input_weights)", 10: "peepholes (cell_to_forget_weights)",
             11: "peepholes (cell_to_output_weights)", 16: "a projection (projection_weights)",
             17: "a projection bias", 20: "layer normalization", 21: "layer normalization",
             22: "layer normalization", 23: "layer normalization"}


def _sequence_lstm(r, op, ins, outs):
    ins = ins + [""] * (24 - len(ins))
    o = r.options(op, "UnidirectionalSequenceLSTMOptions")
    for k, what in _OPTIONAL.items():
        if ins[k]:
            raise UnsupportedOpError(f"{what} is not supported")
    if not ins[1] or not ins[5]:
        raise UnsupportedOpError("CIFG (coupled input and forget gates: no input gate weights) is not supported")
    if r.dtype_of(ins[0]) != "float32" or any(r.dtype_of(ins[k]) != "float32" for k in range(1, 9)):
        raise UnsupportedOpError(f"the input and weights are {r.dtype_of(ins[0])}/{r.dtype_of(ins[1])}; only "
                                 f"float32 LSTMs are supported (an integer or hybrid LSTM is not, yet)")
    act = _CELL_ACTIVATIONS.get(o.FusedActivationFunction())
    if act is None:
        raise UnsupportedOpError(f"cell activation {o.FusedActivationFunction()} is not supported")
    shape = r.shape_of(ins[0])
    time_axis = 0 if o.TimeMajor() else 1
    rows, features = shape[1 - time_axis], shape[2]
    const = lambda k, what: np.asarray(r.const(ins[k]), np.float32)  # noqa: E731
    w = {g: const(1 + n, "input weights") for n, g in enumerate(_GATES)}
    rec = {g: const(5 + n, "recurrent weights") for n, g in enumerate(_GATES)}
    bias = {g: const(12 + n, "bias") if ins[12 + n] else None for n, g in enumerate(_GATES)}
    hidden = rec["i"].shape[0]
    if any(m.shape != (hidden, features) for m in w.values()) or any(m.shape != (hidden, hidden) for m in rec.values()):
        raise UnsupportedOpError(f"weights {[list(m.shape) for m in w.values()]} / {[list(m.shape) for m in rec.values()]}"
                                 f" do not fit {features} features and {hidden} units")
    gates = rnn.Gates(w=w, r=rec, wb=bias, rb={g: None for g in _GATES})
    nodes = Inlined()
    b = rnn.Builder(lambda base, dims, data=None: r.synthetic(base, dims, "float32", data),
                    lambda kind, inputs, out, attrs: nodes.append(r.node(out, kind, inputs, [out], attrs)), outs[0])
    h0, c0 = (_state(r, b, ins[k], (rows, hidden), tag) for k, tag in ((18, "h0"), (19, "c0")))
    steps = rnn.time_steps(b, ins[0], shape, time_axis)
    hs, _ = rnn.lstm(b, steps, rows, features, gates, h0, c0, ("sigmoid", act, act),
                     cell_clip=o.CellClip() if o.CellClip() > 0 else None)
    out_shape = (rows, len(hs), hidden) if time_axis == 1 else (len(hs), rows, hidden)
    rnn.join(b, hs, rows, hidden, out_shape, time_axis == 1, "sequence", into=outs[0])
    return nodes


def _state(r, b, name: str, dims, tag: str):
    """A state input: None (zero) for a variable tensor without data or a constant of zeros, else its constant;
    a state computed at run time is refused."""
    if not name:
        raise UnsupportedOpError(f"the {tag} state input is missing")
    data = r.made[name].data
    if data is None and name in r.variables:
        return None  # LiteRT allocates a variable tensor without data as zeros
    if data is None:
        raise UnsupportedOpError(f"the {tag} state ({name!r}) is computed at run time; only a zero or constant "
                                 f"initial state is supported")
    if not np.any(data):
        return None
    return b.const(tag, np.asarray(data, np.float32).reshape(dims))


CONVERTERS = {"UNIDIRECTIONAL_SEQUENCE_LSTM": _sequence_lstm}
