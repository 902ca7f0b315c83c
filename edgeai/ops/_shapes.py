"""Shape arithmetic shared by the windowed ops (convolutions and pools)."""

from __future__ import annotations

from edgeai.errors import ModelError


def check_window(node) -> None:
    """Strides, dilations and pool kernels of at least 1 (TFLite's and ONNX's rule); anything else has no output
    size, or one no kernel computes."""
    for key in ("strides", "dilations", "kernel"):
        values = node.attrs.get(key, (1,))
        if any(v < 1 for v in values):
            raise ModelError(f"node {node.name!r} ({node.op}): {key} {list(values)} must be at least 1")


def window_output(size: int, kernel: int, stride: int, dilation: int, pad_before: int, pad_after: int) -> int:
    effective = (kernel - 1) * dilation + 1
    return (size + pad_before + pad_after - effective) // stride + 1


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TFLite/ONNX SAME_UPPER: output = ceil(size / stride); the odd pixel goes after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    out = []
    for x, y in zip(((1,) * (len(b) - len(a))) + tuple(a), ((1,) * (len(a) - len(b))) + tuple(b)):
        if x != y and 1 not in (x, y):
            return None
        out.append(max(x, y))
    return tuple(out)


def check_bias(node, graph, channels: int) -> None:
    """An optional bias (input 2) holds one value per output channel: the kernels read exactly that many."""
    if len(node.inputs) > 2 and node.inputs[2]:
        shape = graph.tensor(node.inputs[2]).shape
        if tuple(shape) != (channels,):
            raise ModelError(f"node {node.name!r} ({node.op}): bias {list(shape)} must hold one value per output "
                             f"channel ({channels})")
