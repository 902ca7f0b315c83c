"""LSTM and GRU layers (float32) unrolled over their time steps into ops every target has: strided_slice,
concat, fully_connected, sigmoid, tanh, mul, add, sub.

Both frontends describe a layer by its per-gate weights (`Gates`) and hand over a `Builder` that makes their
tensors and nodes; this module writes the time steps. Per step and gate, one fully_connected of [x_t, h] (the
input and the recurrent weights side by side, biases summed), so a step is a concat, one matrix product per
gate, the activations and the state update. A zero initial state (Keras's, TFLite's variable state tensors,
ONNX without initial_h/initial_c) drops the recurrent half of the first step.

Shapes are static: the sequence length is a model constant, and the whole sequence is computed in one call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from edgeai.errors import UnsupportedOpError

F32 = np.float32


@dataclass(frozen=True)
class Gates:
    """Per gate ("i", "f", "c", "o" for an LSTM; "z", "r", "h" for a GRU): input weights [H, F], recurrent
    weights [H, H], input bias [H] and recurrent bias [H] (None: zero)."""

    w: dict[str, np.ndarray]
    r: dict[str, np.ndarray]
    wb: dict[str, np.ndarray | None]
    rb: dict[str, np.ndarray | None]

    @property
    def hidden(self) -> int:
        return next(iter(self.w.values())).shape[0]


@dataclass
class Builder:
    """How a frontend adds to its graph: tensor(base, shape, data=None) -> the name of a new float32 tensor
    (a constant when data is given); node(op, inputs, output, attrs) adds one node computing `output`."""

    tensor: Callable
    node: Callable
    base: str  # the layer's name: every tensor and node made here starts with it
    _consts: dict = field(default_factory=dict)  # tag -> tensor: one copy of a weight for all the steps

    def op(self, op: str, inputs, dims, tag: str, into: str | None = None, **attrs) -> str:
        """A node of `op` on `inputs` whose output, of shape `dims`, is named after `tag` (or is the existing
        tensor `into`)."""
        out = into or self.tensor(f"{self.base}/{tag}", dims)
        self.node(op, list(inputs), out, attrs)
        return out

    def const(self, tag: str, data) -> str:
        """The constant named after `tag`, made on its first use: a tag names one value for the whole layer."""
        if tag not in self._consts:
            data = np.ascontiguousarray(data, F32)
            self._consts[tag] = self.tensor(f"{self.base}/{tag}", data.shape, data)
        return self._consts[tag]


def _bias(gates: Gates, g: str) -> np.ndarray:
    total = np.zeros(gates.hidden, np.float64)
    for b in (gates.wb[g], gates.rb[g]):
        if b is not None:
            total += b
    return total.astype(F32)


def time_steps(b: Builder, x: str, shape: tuple[int, ...], time_axis: int) -> list[str]:
    """x [.., T, ..] (a 3-D sequence) as T tensors [B, F], the time axis dropped."""
    if len(shape) != 3:
        raise UnsupportedOpError(f"the sequence input is {list(shape)}; only a 3-D [batch, time, features] or "
                                 f"[time, batch, features] input is supported")
    batch_axis = 1 - time_axis
    rows, features = shape[batch_axis], shape[2]
    steps = []
    for t in range(shape[time_axis]):
        begin = [0, 0, 0]
        begin[time_axis] = t
        sizes = list(shape)
        sizes[time_axis] = 1
        steps.append(b.op("strided_slice", [x], (rows, features), f"x{t}", begin=tuple(begin), strides=(1, 1, 1),
                          sizes=tuple(sizes), squeeze=(time_axis,)))
    return steps


def _activate(b: Builder, fn: str, x: str, shape, tag: str, clip: float | None = None) -> str:
    if clip is not None:
        x = b.op("clip", [x], shape, f"{tag}_clip", min=-clip, max=clip)
    return b.op(fn, [x], shape, tag)


def lstm(b: Builder, steps: list[str], rows: int, features: int, gates: Gates, h0: str | None = None, c0: str | None = None,
         acts=("sigmoid", "tanh", "tanh"), clip: float | None = None, cell_clip: float | None = None):
    """The LSTM over `steps` ([rows, F] each): i, f, o = f(.), g = g(.), c = f c + i g, h = o h(c).
    `clip` bounds every gate's pre-activation (ONNX's clip), `cell_clip` the cell state (TFLite's).
    Returns (h per step, last c)."""
    f_act, g_act, h_act = acts
    H = gates.hidden
    shape = (rows, H)
    h, c, hs = h0, c0, []
    for t, x_t in enumerate(steps):
        xh = None if h is None else b.op("concat", [x_t, h], (rows, features + H), f"xh{t}", axis=1)
        # on a zero cell state the forget gate multiplies zeros: not computed
        pre = {g: _fc(b, gates, g, x_t, xh, rows, f"t{t}/{g}") for g in "ifco" if g != "f" or c is not None}
        i = _activate(b, f_act, pre["i"], shape, f"t{t}/i_act", clip)
        gg = _activate(b, g_act, pre["c"], shape, f"t{t}/c_act", clip)
        o = _activate(b, f_act, pre["o"], shape, f"t{t}/o_act", clip)
        ig = b.op("mul", [i, gg], shape, f"t{t}/i_g")
        if c is None:
            c = ig
        else:
            f = _activate(b, f_act, pre["f"], shape, f"t{t}/f_act", clip)
            c = b.op("add", [b.op("mul", [f, c], shape, f"t{t}/f_c"), ig], shape, f"t{t}/c")
        if cell_clip is not None:
            c = b.op("clip", [c], shape, f"t{t}/c_clip", min=-cell_clip, max=cell_clip)
        h = b.op("mul", [o, _activate(b, h_act, c, shape, f"t{t}/c_tanh")], shape, f"t{t}/h")
        hs.append(h)
    return hs, c


def gru(b: Builder, steps: list[str], rows: int, features: int, gates: Gates, h0: str | None = None, linear_before_reset=True,
        acts=("sigmoid", "tanh"), clip: float | None = None):
    """The GRU over `steps`: z, r = f(.); n = g(W_h x + r * (R_h h + b_rh) + b_wh) (linear_before_reset, Keras's
    reset_after) or g(W_h x + R_h (r h) + b_rh + b_wh); h = n + z (h - n), which is (1 - z) n + z h.
    Returns the h of each step."""
    f_act, g_act = acts
    H = gates.hidden
    shape = (rows, H)
    h, hs = h0, []
    for t, x_t in enumerate(steps):
        xh = None if h is None else b.op("concat", [x_t, h], (rows, features + H), f"xh{t}", axis=1)
        z = _activate(b, f_act, _fc(b, gates, "z", x_t, xh, rows, f"t{t}/z"), shape, f"t{t}/z_act", clip)
        wx = b.op("fully_connected", [x_t, b.const("h_w", gates.w["h"]),
                                      b.const("h_wb", _zero_if_none(gates.wb["h"], H))], shape, f"t{t}/h_x")
        if h is None:  # zero state: R h vanishes, only its bias is left
            rb = gates.rb["h"]
            if rb is not None and linear_before_reset:
                r = _activate(b, f_act, _fc(b, gates, "r", x_t, None, rows, f"t{t}/r"), shape, f"t{t}/r_act", clip)
                n_pre = b.op("add", [wx, b.op("mul", [r, b.const("h_rb_row", rb.reshape(1, H))], shape,
                                              f"t{t}/r_rb")], shape, f"t{t}/n_pre")
            elif rb is not None:
                n_pre = b.op("add", [wx, b.const("h_rb_row", rb.reshape(1, H))], shape, f"t{t}/n_pre")
            else:
                n_pre = wx
        else:
            r = _activate(b, f_act, _fc(b, gates, "r", x_t, xh, rows, f"t{t}/r"), shape, f"t{t}/r_act", clip)
            if linear_before_reset:
                rh = b.op("fully_connected", [h, b.const("h_r", gates.r["h"]),
                                              b.const("h_rb", _zero_if_none(gates.rb["h"], H))], shape,
                          f"t{t}/h_h")
                rh = b.op("mul", [r, rh], shape, f"t{t}/r_h")
            else:
                reset = b.op("mul", [r, h], shape, f"t{t}/r_times_h")
                rh = b.op("fully_connected", [reset, b.const("h_r", gates.r["h"]),
                                              b.const("h_rb", _zero_if_none(gates.rb["h"], H))], shape,
                          f"t{t}/h_h")
            n_pre = b.op("add", [wx, rh], shape, f"t{t}/n_pre")
        n = _activate(b, g_act, n_pre, shape, f"t{t}/n", clip)
        if h is None:  # h = (1 - z) n
            h = b.op("sub", [n, b.op("mul", [z, n], shape, f"t{t}/z_n")], shape, f"t{t}/h")
        else:
            h = b.op("add", [n, b.op("mul", [z, b.op("sub", [h, n], shape, f"t{t}/h_minus_n")], shape,
                                     f"t{t}/z_d")], shape, f"t{t}/h")
        hs.append(h)
    return hs


def _zero_if_none(bias, H):
    return np.zeros(H, F32) if bias is None else bias


def _fc(b: Builder, gates: Gates, g: str, x_t: str, xh: str | None, rows: int, tag: str) -> str:
    """W x_t + R h + biases as one fully_connected (of [x_t, h] when there is a previous state)."""
    weights = gates.w[g] if xh is None else np.concatenate([gates.w[g], gates.r[g]], axis=1)
    kind = "w" if xh is None else "wr"  # the input weights alone (zero state), or beside the recurrent ones
    return b.op("fully_connected", [x_t if xh is None else xh, b.const(f"{g}_{kind}", weights),
                                    b.const(f"{g}_bias", _bias(gates, g))],
                (rows, gates.hidden), tag)


def join(b: Builder, pieces: list[str], rows: int, hidden: int, shape: tuple[int, ...], batch_first: bool,
         tag: str, into: str | None = None) -> str:
    """[B, H] pieces, in the order of the output's other axes, as one tensor of `shape`: [B, ..., H]
    (batch_first) or [..., B, H]; `into` names an existing tensor to write."""
    if batch_first:
        flat = b.op("concat", pieces, (rows, len(pieces) * hidden), f"{tag}_all", axis=1) if len(pieces) > 1 else pieces[0]
    else:
        flat = b.op("concat", pieces, (len(pieces) * rows, hidden), f"{tag}_all", axis=0) if len(pieces) > 1 else pieces[0]
    return b.op("reshape", [flat], shape, tag, into=into, shape=shape)
