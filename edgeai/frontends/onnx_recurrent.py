"""ONNX LSTM and GRU (float32; a mixin of the ONNX importer, edgeai/frontends/onnx.py), unrolled over the time
steps by edgeai/frontends/recurrent.py.

Supported: directions forward, reverse and bidirectional; layout 0 ([T, B, F]) and 1 ([B, T, F]); bias;
initial_h / initial_c (constants or computed); clip; GRU's linear_before_reset either way; the activations
Sigmoid, Tanh and Relu (without alpha/beta). Refused, naming the node: peepholes (a non-zero P), input_forget,
sequence_lens shorter than the sequence, other activations, a non-float input.
"""

from __future__ import annotations

import numpy as np

from edgeai.frontends import recurrent as rnn

_ACTIVATIONS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "Relu": "relu"}
_GATES = {"LSTM": "iofc", "GRU": "zrh"}  # ONNX's order of the gates in W, R and B
_DEFAULT_ACTIVATIONS = {"LSTM": ("Sigmoid", "Tanh", "Tanh"), "GRU": ("Sigmoid", "Tanh")}


class Recurrent:
    def op_LSTM(self, node):
        self._recurrent(node)

    def op_GRU(self, node):
        self._recurrent(node)

    def _recurrent(self, node):
        kind, name = node.op_type, node.name or node.output[0]
        a = self._attrs(node)
        text = lambda v: v.decode() if isinstance(v, bytes) else v  # noqa: E731
        direction = text(a.get("direction", "forward"))
        if direction not in ("forward", "reverse", "bidirectional"):
            raise self.fail(node, f"direction {direction!r} is not supported", True)
        layout = int(a.get("layout", 0))
        if a.get("input_forget", 0):
            raise self.fail(node, "input_forget=1 (coupled input and forget gates) is not supported", True)
        if a.get("activation_alpha") or a.get("activation_beta"):
            raise self.fail(node, "activation_alpha/activation_beta are not supported", True)
        dirs = 2 if direction == "bidirectional" else 1
        per = len(_DEFAULT_ACTIVATIONS[kind])
        given = [text(v) for v in a.get("activations", [])] or list(_DEFAULT_ACTIVATIONS[kind]) * dirs
        if len(given) != per * dirs or any(g not in _ACTIVATIONS for g in given):
            raise self.fail(node, f"activations {given} are not supported (only {sorted(_ACTIVATIONS)}, {per} per "
                                  f"direction)", True)
        acts = [tuple(_ACTIVATIONS[g] for g in given[d * per:(d + 1) * per]) for d in range(dirs)]
        clip = float(a["clip"]) if "clip" in a else None

        x_shape, dtype = self.logical(node.input[0], node)
        if dtype != "float32":
            raise self.fail(node, f"{kind} on {dtype} tensors is not supported (float32 only)", True)
        if len(x_shape) != 3:
            raise self.fail(node, f"input X is {list(x_shape)}; it must be 3-D", True)
        time_axis = 0 if layout == 0 else 1
        steps_count, rows, features = x_shape[time_axis], x_shape[1 - time_axis], x_shape[2]
        W, R = self.const_of(node, 1, "W"), self.const_of(node, 2, "R")
        hidden = int(a.get("hidden_size", R.shape[-1]))
        gates = _GATES[kind]
        if W.shape != (dirs, len(gates) * hidden, features) or R.shape != (dirs, len(gates) * hidden, hidden):
            raise self.fail(node, f"W {list(W.shape)} and R {list(R.shape)} do not fit {dirs} direction(s), "
                                  f"hidden_size {hidden} and {features} input features")
        B = self.const_of(node, 3, "B") if self.get(node, 3) is not None else np.zeros((dirs, 2 * len(gates) * hidden), np.float32)
        if B.shape != (dirs, 2 * len(gates) * hidden):
            raise self.fail(node, f"B {list(B.shape)} does not fit {dirs} direction(s) and hidden_size {hidden}")
        if self.get(node, 4) is not None:
            lens = self.const_of(node, 4, "sequence_lens")
            if np.any(lens != steps_count):
                raise self.fail(node, f"sequence_lens {lens.tolist()} shorter than the sequence ({steps_count}) "
                                      f"are not supported", True)
        if kind == "LSTM" and self.get(node, 7) is not None and np.any(self.const_of(node, 7, "P")):
            raise self.fail(node, "peepholes (a non-zero P) are not supported", True)

        b = rnn.Builder(lambda base, shape, data=None: self.new(base, shape, "float32", data),
                        lambda op, inputs, out, attrs: self.emit(op, inputs, [out], attrs), name)
        x = self.to_perm(self.get(node, 0), (0, 1, 2), node.input[0])
        steps = rnn.time_steps(b, x, x_shape, time_axis)
        initial = [self._initial_state(node, i, b, dirs, rows, hidden, layout) for i in (5, 6)]
        per_dir = []  # (h per step in time order, last h, last c)
        for d in range(dirs):
            reverse = direction == "reverse" or d == 1
            g = self._gates(W[d], R[d], B[d], gates, hidden)
            sub = rnn.Builder(b.tensor, b.node, f"{name}/{'backward' if reverse else 'forward'}")
            order = steps[::-1] if reverse else steps
            if kind == "LSTM":
                hs, c = rnn.lstm(sub, order, rows, features, g, initial[0][d], initial[1][d], acts[d], clip)
            else:
                hs = rnn.gru(sub, order, rows, features, g, initial[0][d], bool(a.get("linear_before_reset", 0)),
                             acts[d], clip)
                c = None
            per_dir.append((hs[::-1] if reverse else hs, hs[-1], c))
        outs = list(node.output) + ["", "", ""]
        batch_first = layout == 1
        if outs[0]:
            pieces = [per_dir[d][0][t] for t in range(steps_count) for d in range(dirs)]
            shape = (rows, steps_count, dirs, hidden) if batch_first else (steps_count, dirs, rows, hidden)
            self._result(outs[0], rnn.join(b, pieces, rows, hidden, shape, batch_first, "Y"))
        for k, tag in ((1, "Y_h"), (2, "Y_c")):
            if outs[k]:
                if kind == "GRU" and k == 2:
                    raise self.fail(node, "GRU has no output Y_c")
                pieces = [per_dir[d][k] for d in range(dirs)]
                shape = (rows, dirs, hidden) if batch_first else (dirs, rows, hidden)
                self._result(outs[k], rnn.join(b, pieces, rows, hidden, shape, batch_first, tag))

    def _result(self, onnx_name: str, tensor: str) -> None:
        from edgeai.frontends.onnx import Act

        self.values[onnx_name] = Act(tensor, tuple(range(len(self.tensors[tensor].shape))))

    @staticmethod
    def _gates(W, R, B, gates: str, hidden: int) -> rnn.Gates:
        n = len(gates)
        cut = lambda m, k: np.ascontiguousarray(m[k * hidden:(k + 1) * hidden], np.float32)  # noqa: E731
        return rnn.Gates(w={g: cut(W, k) for k, g in enumerate(gates)}, r={g: cut(R, k) for k, g in enumerate(gates)},
                         wb={g: cut(B, k) for k, g in enumerate(gates)},
                         rb={g: cut(B, n + k) for k, g in enumerate(gates)})

    def _initial_state(self, node, index, b, dirs, rows, hidden, layout):
        """initial_h (index 5) or initial_c (6) per direction as [B, H] tensors; None for an absent or zero one."""
        from edgeai.frontends.onnx import Act

        value = self.get(node, index) if index < len(node.input) else None
        if value is None:
            return [None] * dirs
        want = (rows, dirs, hidden) if layout == 1 else (dirs, rows, hidden)
        if not isinstance(value, Act):
            data = np.asarray(self.const_of(node, index, "an initial state"), np.float32)
            if data.shape != want:
                raise self.fail(node, f"initial state {list(data.shape)} is not {list(want)}")
            if not np.any(data):
                return [None] * dirs
            return [b.const(f"state{index}_{d}", data[:, d] if layout == 1 else data[d]) for d in range(dirs)]
        shape, _ = self.logical(node.input[index], node)
        if tuple(shape) != want:
            raise self.fail(node, f"initial state {list(shape)} is not {list(want)}")
        full = self.to_perm(value, (0, 1, 2), node.input[index])
        axis = 1 if layout == 1 else 0
        out = []
        for d in range(dirs):
            begin = [0, 0, 0]
            begin[axis] = d
            sizes = list(want)
            sizes[axis] = 1
            out.append(b.op("strided_slice", [full], (rows, hidden), f"state{index}_{d}", begin=tuple(begin),
                            strides=(1, 1, 1), sizes=tuple(sizes), squeeze=(axis,)))
        return out
