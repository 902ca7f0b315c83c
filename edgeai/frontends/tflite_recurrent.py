"""TFLite's fused UNIDIRECTIONAL_SEQUENCE_LSTM: float32 unrolled over its time steps by
edgeai/frontends/recurrent.py; the integer one (int8 activations and weights, int16 cell state: LiteRT's 8x8_16
kernel) kept whole as one lstm op (edgeai/ops/recurrent.py), lowered to compilers/c/kernels/portable/lstm_s8.c.

The state inputs (18, 19) are variable tensors: LiteRT keeps the last step's state in them from one Invoke to the
next until reset_all_variables. A compiled library starts every inference from the state they are declared with
(zeros, or their constant data), as LiteRT does on its first Invoke. Supported: the four gates with biases, a
cell clip, tanh/relu/sigmoid cell activation (integer: tanh only), time-major or batch-major input. Refused,
naming the operator: CIFG (no input gate), peepholes, a projection, layer normalization, hybrid weights (float
input, int8 weights), the integer form without its five intermediate tensors (LiteRT's 8x8_8 kernel) and an
integer state that does not start at zero.
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
    if r.dtype_of(ins[0]) == "int8" and all(r.dtype_of(ins[k]) == "int8" for k in range(1, 9)):
        return _integer_lstm(r, op, o, ins, outs)
    if r.dtype_of(ins[0]) != "float32" or any(r.dtype_of(ins[k]) != "float32" for k in range(1, 9)):
        raise UnsupportedOpError(f"the input and weights are {r.dtype_of(ins[0])}/{r.dtype_of(ins[1])}; only "
                                 f"float32 and int8 (int16 cell state) LSTMs are supported")
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


def _integer_lstm(r, op, o, ins, outs):
    """One lstm node over all the steps; its second output is the int16 cell state (scratch in the arena)."""
    if op.IntermediatesLength() != 5:
        raise UnsupportedOpError(f"an int8 LSTM with {op.IntermediatesLength()} intermediate tensors (LiteRT's "
                                 f"8x8_8 kernel) is not supported; only the 8x8_16 form with 5")
    if o.FusedActivationFunction() != 4:
        raise UnsupportedOpError(f"cell activation {o.FusedActivationFunction()} is not supported in an int8 "
                                 f"LSTM (only tanh)")
    x, y, h0, c0 = (r.made[n] for n in (ins[0], outs[0], ins[18], ins[19]))
    hidden_state = r.tensor(int(op.IntermediatesAsNumpy()[4]))
    if c0.dtype != "int16" or c0.quant is None or y.quant is None or h0.quant is None:
        raise UnsupportedOpError(f"the int8 LSTM's cell state is {c0.dtype} (needs int16) or its state/output "
                                 f"has no quantization")
    if h0.quant != y.quant or hidden_state.quant != y.quant:
        raise UnsupportedOpError(f"the output state {h0.name!r} and the hidden intermediate are quantized unlike "
                                 f"the output {y.name!r}; only the same quantization is supported")
    for name, zero in ((ins[18], h0.quant.zero_point[0]), (ins[19], 0)):
        data = r.made[name].data
        if data is None and name in r.variables:
            continue  # LiteRT resets an int8 variable to its zero point, an int16 one to 0
        if data is None or np.any(np.asarray(data) != zero):
            raise UnsupportedOpError(f"the state {name!r} does not start at zero; only a zero initial state is "
                                     f"supported in an int8 LSTM")
    if any(not ins[k] for k in range(12, 16)):
        raise UnsupportedOpError("an int8 LSTM without gate biases is not supported")
    shape = r.shape_of(ins[0])
    rows = shape[1] if o.TimeMajor() else shape[0]
    hidden = r.shape_of(ins[5])[0]
    cell = r.synthetic(f"{outs[0]}/cell_state", (rows, hidden), "int16")
    r.made[cell] = r.made[cell].with_(quant=c0.quant)
    attrs = {"time_major": bool(o.TimeMajor()), "cell_clip": float(o.CellClip())}
    inputs = [ins[0], *ins[1:9], *ins[12:16]]
    return Inlined([r.node(outs[0], "lstm", inputs, [outs[0], cell], attrs)])


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
