"""A numpy interpreter of the edgeai IR, used only as a test oracle.

Every node computes in float64: integer inputs with a quantization are dequantized first, and an int8
output is quantized again (x / scale in float32 as ONNX QuantizeLinear does, round half to even, saturate). This is what the ONNX QDQ graph means, so it
agrees with onnxruntime to within a few LSB on int8 models; the compiled C is the bit-exact judge.
"""

from __future__ import annotations

import numpy as np

from edgeai.ir import Graph, Tensor


def _qparams(t: Tensor, ndim: int):
    q = t.quant
    scale, zp = np.asarray(q.scale, np.float64), np.asarray(q.zero_point, np.float64)
    if q.axis is not None and scale.size > 1:
        shape = [1] * ndim
        shape[q.axis] = -1
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    return scale, zp


def to_real(t: Tensor, value: np.ndarray) -> np.ndarray:
    if t.quant is None or t.dtype in ("float32",):
        return np.asarray(value, np.float64)
    scale, zp = _qparams(t, np.ndim(value))
    return (np.asarray(value, np.float64) - zp) * scale


def from_real(t: Tensor, value: np.ndarray, rounding: str = "half_even") -> np.ndarray:
    if t.dtype == "float32":
        return np.asarray(value, np.float32)
    if t.quant is not None:
        scale, zp = _qparams(t, np.ndim(value))
        value = np.float32(value) / np.float32(scale)  # in float32, as ONNX QuantizeLinear does
        value = np.rint(value) if rounding == "half_even" else np.sign(value) * np.floor(np.abs(value) + 0.5)
        value = value + zp
    info = np.iinfo(t.dtype)
    return np.clip(np.rint(value), info.min, info.max).astype(t.dtype)


def _activation(x, kind):
    bounds = {"none": (None, None), "relu": (0.0, None), "relu6": (0.0, 6.0), "relu_n1_to_1": (-1.0, 1.0)}[kind]
    return x if bounds == (None, None) else np.clip(x, *bounds)


def _windows(x, kernel, strides, dilations, padding, fill):
    """Yield (kh, kw, slice of the padded input the tap reads for every output pixel)."""
    pt, pl, pb, pr = padding
    x = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=fill)
    (kh, kw), (sh, sw), (dh, dw) = kernel, strides, dilations
    oh = (x.shape[1] - (kh - 1) * dh - 1) // sh + 1
    ow = (x.shape[2] - (kw - 1) * dw - 1) // sw + 1
    for i in range(kh):
        for j in range(kw):
            yield i, j, x[:, i * dh: i * dh + (oh - 1) * sh + 1: sh, j * dw: j * dw + (ow - 1) * sw + 1: sw, :]


def _conv2d(a, x, w, b=None):
    out = 0.0
    for i, j, tap in _windows(x, w.shape[1:3], a["strides"], a["dilations"], a["padding"], 0.0):
        out = out + np.tensordot(tap, w[:, i, j, :], axes=([3], [1]))
    return out + (b if b is not None else 0.0)


def _depthwise(a, x, w, b=None):
    x = np.repeat(x, a["depth_multiplier"], axis=3)
    out = 0.0
    for i, j, tap in _windows(x, w.shape[1:3], a["strides"], a["dilations"], a["padding"], 0.0):
        out = out + tap * w[0, i, j, :]
    return out + (b if b is not None else 0.0)


def _fully_connected(a, x, w, b=None):
    y = x.reshape(-1, w.shape[1]) @ w.T + (b if b is not None else 0.0)
    return y.reshape(x.shape[:-1] + (w.shape[0],)) if a["keep_num_dims"] else y


def _pool(a, x, kind):
    if kind == "max":
        taps = [t for _, _, t in _windows(x, a["kernel"], a["strides"], (1, 1), a["padding"], -np.inf)]
        return np.max(taps, axis=0)
    total = sum(t for _, _, t in _windows(x, a["kernel"], a["strides"], (1, 1), a["padding"], 0.0))
    count = sum(t for _, _, t in _windows(np.ones_like(x), a["kernel"], a["strides"], (1, 1), a["padding"], 0.0))
    return total / count


def _softmax(a, x):
    z = a["beta"] * (x - x.max(axis=a["axis"], keepdims=True))
    e = np.exp(z)
    return e / e.sum(axis=a["axis"], keepdims=True)


def _pad(a, x):
    r = x.ndim
    fill = {"constant_values": a["value"]} if a["mode"] == "constant" else {}
    return np.pad(x, [(a["pads"][i], a["pads"][i + r]) for i in range(r)], mode=a["mode"], **fill)


FLOAT_OPS = {
    "conv2d": lambda a, *xs: _conv2d(a, *xs),
    "depthwise_conv2d": lambda a, *xs: _depthwise(a, *xs),
    "fully_connected": lambda a, *xs: _fully_connected(a, *xs),
    "add": lambda a, x, y: x + y,
    "sub": lambda a, x, y: x - y,
    "mul": lambda a, x, y: x * y,
    "average_pool2d": lambda a, x: _pool(a, x, "average"),
    "max_pool2d": lambda a, x: _pool(a, x, "max"),
    "mean": lambda a, x: np.mean(x, axis=tuple(a["axes"]), keepdims=a["keepdims"]),
    "reshape": lambda a, x: x.reshape(a["shape"]),
    "transpose": lambda a, x: np.transpose(x, a["perm"]),
    "concat": lambda a, *xs: np.concatenate(xs, axis=a["axis"]),
    "pad": _pad,
    "relu": lambda a, x: np.maximum(x, 0.0),
    "relu6": lambda a, x: np.clip(x, 0.0, 6.0),
    "clip": lambda a, x: np.clip(x, a["min"], a["max"]),
    "sigmoid": lambda a, x: 1.0 / (1.0 + np.exp(-x)),
    "tanh": lambda a, x: np.tanh(x),
    "pow": lambda a, x: np.power(x, np.float32(a["exponent"])),
    "softmax": _softmax,
}


def run(graph: Graph, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Evaluate `graph` on `feeds` (graph input name -> array in the input's dtype); returns the outputs."""
    values = {t.name: t.data for t in graph.constants()}
    for name in graph.inputs:
        t = graph.tensor(name)
        values[name] = np.asarray(feeds[name]).astype(t.dtype).reshape(t.shape)
    for node in graph.nodes:
        ins = [graph.tensor(n) if n else None for n in node.inputs]
        out = graph.tensor(node.outputs[0])
        if node.op == "quantize":
            values[out.name] = from_real(out, np.asarray(values[ins[0].name], np.float64), node.attrs["rounding"])
        elif node.op == "dequantize":
            values[out.name] = to_real(ins[0], values[ins[0].name]).astype(np.float32)
        elif node.op == "reshape" and out.dtype != "float32":  # integers move unchanged
            values[out.name] = values[ins[0].name].reshape(out.shape)
        else:
            reals = [to_real(t, values[t.name]) if t is not None else None for t in ins]
            y = FLOAT_OPS[node.op](node.attrs, *[r for r in reals if r is not None])
            y = _activation(y, node.attrs.get("activation", "none"))
            values[out.name] = from_real(out, y)
        assert values[out.name].shape == out.shape, f"{node.name}: {values[out.name].shape} != {out.shape}"
    return {name: values[name] for name in graph.outputs}
