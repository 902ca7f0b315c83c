"""The integer LSTM layer (edgeai/ops/recurrent.py) → compilers/c/kernels/portable/lstm_s8.c, with the constants
LiteRT's 8x8_16 Prepare computes: the zero points folded into the biases (bias + zp * row sums), the effective
scales of each gate's two matrix products to Q3.12 (weight scale * activation scale / 2**-12, float32 as LiteRT
computes them) and of tanh(cell) * output gate (2**-30 / output scale), the cell clip in cell-state units."""

from __future__ import annotations

import math

import numpy as np

from compilers.c.calls import KernelCall, ScalarArg, TensorArg
from compilers.lowering._quant import scale_zp, tensor_quant
from compilers.lowering.registry import rule
from compilers.tvm.requant import quantize_multiplier
from edgeai.errors import ModelError

_PROTO = ("int32_t edgeai_lstm_s8(const int8_t* input, int8_t* output, int16_t* cell, int32_t batch, "
          "int32_t steps, int32_t features, int32_t hidden, int32_t time_major, const int8_t* input_weights, "
          "const int8_t* recurrent_weights, const int32_t* bias, const int32_t* multiplier, const int32_t* shift, "
          "const int32_t* params)")
GATE_SCALE = np.float32(2.0 ** -12)  # the gates' Q3.12 (without layer normalization)


def cell_log2(scale: float, what: str) -> int:
    """LiteRT's CheckedLog2: the cell state's scale must be a power of two."""
    log = round(math.log2(scale)) if scale > 0 else None
    if log is None or abs(math.log2(scale) - log) > 1e-3:
        raise ModelError(f"{what}: the cell state's scale {scale:g} is not a power of two")
    return log


def kernel_constants(w, r, bias, in_q, state_q, out_q, cell_scale: float, cell_clip: float, what: str) -> dict:
    """The kernel's constant arrays (lstm_s8.h). w, r: the four gates' input and recurrent weights, each an
    (int8 array, per-tensor scale) pair; bias: their int32 biases; in_q, state_q, out_q: (scale, zero point) of
    the input, the output state, the output."""
    folded, mults, shifts = [], [], []
    for (weights, w_scale), (act_scale, act_zp), gate_bias in (
            *((g, in_q, b) for g, b in zip(w, bias)), *((g, state_q, None) for g in r)):
        row_sums = weights.astype(np.int64).sum(axis=1)
        b = np.zeros(weights.shape[0], np.int64) if gate_bias is None else gate_bias.astype(np.int64)
        folded.append(b - act_zp * row_sums)
        m, s = quantize_multiplier(float(np.float32(w_scale) * np.float32(act_scale) / GATE_SCALE))
        mults.append(m)
        shifts.append(s)
    hidden_scale = float(np.float32(2.0 ** -15 / float(out_q[0]) * 2.0 ** -15))  # double, stored as float
    m, s = quantize_multiplier(hidden_scale)
    mults.append(m)
    shifts.append(s)
    log2 = cell_log2(cell_scale, what)
    if not (-30 <= log2 <= -9):
        raise ModelError(f"{what}: the cell state's scale 2**{log2} is outside LiteRT's range (2**-30 .. 2**-9)")
    clip = int(min(max(cell_clip / cell_scale, -32768.0), 32767.0)) if cell_clip > 0 else 0
    all_bias = np.concatenate(folded)
    if np.abs(all_bias).max(initial=0) >= 2 ** 31:
        raise ModelError(f"{what}: a bias with the zero point folded in does not fit int32")
    return {"input_weights": np.concatenate([a for a, _ in w]).astype(np.int8),
            "recurrent_weights": np.concatenate([a for a, _ in r]).astype(np.int8),
            "bias": all_bias.astype(np.int32), "multiplier": np.array(mults, np.int32),
            "shift": np.array(shifts, np.int32),
            "params": np.array([out_q[1], 30 + log2, 15 + log2, clip], np.int32)}


def _per_tensor(g, name, node) -> float:
    q = tensor_quant(g, name, node)
    if not q.per_tensor:
        raise ModelError(f"node {node.name!r} (lstm): weights {name!r} must be quantized per tensor (LiteRT's "
                         f"integer LSTM)")
    return q.scale[0]


@rule("lstm", "int8")
def lstm_int8_rule(ctx, node):
    g = ctx.graph
    what = f"node {node.name!r} (lstm)"
    x, y, cell = g.tensor(node.inputs[0]), g.tensor(node.outputs[0]), g.tensor(node.outputs[1])
    weights = [(np.asarray(g.tensor(n).data), _per_tensor(g, n, node)) for n in node.inputs[1:9]]
    bias = [np.asarray(g.tensor(n).data) for n in node.inputs[9:13]]
    out_q = scale_zp(g, node.outputs[0], node)
    c = kernel_constants(weights[:4], weights[4:], bias, scale_zp(g, node.inputs[0], node), out_q, out_q,
                         scale_zp(g, node.outputs[1], node)[0], node.attrs["cell_clip"], what)
    time_major = node.attrs["time_major"]
    steps, batch = (x.shape[0], x.shape[1]) if time_major else (x.shape[1], x.shape[0])
    symbol = ctx.c_kernel("portable/lstm_s8.c", "edgeai_lstm_s8", _PROTO)
    args = (TensorArg(x.name), TensorArg(y.name), TensorArg(cell.name), ScalarArg(batch), ScalarArg(steps),
            ScalarArg(x.shape[2]), ScalarArg(y.shape[2]), ScalarArg(int(time_major)),
            *(ctx.derived(c[k]) for k in ("input_weights", "recurrent_weights", "bias", "multiplier", "shift",
                                          "params")))
    return [KernelCall(node.name, node.op, symbol, args)]
