"""The one registry of supported operators. Each op is data: its attributes, shape rule and MAC count."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from edgeai.errors import ModelError, UnsupportedOpError

REQUIRED = object()
ACTIVATIONS = ("none", "relu", "relu6", "relu_n1_to_1")
# Whose integer arithmetic an int8 node reproduces: TFLite's (fixed-point multipliers, two roundings; what
# LiteRT computes) or ONNX's (dequantize, the op in exact arithmetic, quantize once, halves to even; what a
# QDQ ONNX graph means). Every op accepts it; only int8 lowering rules read it.
NUMERICS = ("tflite", "onnx")


@dataclass(frozen=True)
class Attr:
    kind: type | tuple  # int, float, str, bool, or ("ints", n) for a tuple of n ints (n None: any length)
    default: Any = REQUIRED
    choices: tuple = ()


@dataclass(frozen=True)
class OpDef:
    name: str
    attrs: dict[str, Attr]
    infer_shapes: Callable  # (node, graph) -> list of output shapes
    num_inputs: tuple[int, int]  # min, max
    macs: Callable = field(default=lambda node, graph: 0)
    doc: str = ""

    def check_attrs(self, node_name: str, given: dict[str, Any]) -> dict[str, Any]:
        numerics = given.get("numerics", "tflite")
        if numerics not in NUMERICS:
            raise ModelError(f"node {node_name!r} ({self.name}): numerics {numerics!r} must be one of {list(NUMERICS)}")
        given = {k: v for k, v in given.items() if k != "numerics"}
        unknown = set(given) - set(self.attrs)
        if unknown:
            raise ModelError(f"node {node_name!r} ({self.name}): unknown attribute(s) {sorted(unknown)}")
        checked = {}
        for key, spec in self.attrs.items():
            if key not in given:
                if spec.default is REQUIRED:
                    raise ModelError(f"node {node_name!r} ({self.name}): attribute {key!r} is required")
                checked[key] = spec.default
                continue
            checked[key] = _coerce(node_name, self.name, key, spec, given[key])
        if numerics != "tflite":  # the default stays implicit, so printed graphs and caches do not change
            checked["numerics"] = numerics
        return checked


def _coerce(node_name, op, key, spec: Attr, value):
    def fail(why):
        raise ModelError(f"node {node_name!r} ({op}): attribute {key!r}={value!r} {why}")

    if isinstance(spec.kind, tuple) and spec.kind[0] == "ints":
        try:
            value = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            fail("is not a list of integers")
        if spec.kind[1] is not None and len(value) != spec.kind[1]:
            fail(f"needs {spec.kind[1]} values")
    elif spec.kind is bool:
        value = bool(value)
    elif spec.kind in (int, float, str):
        try:
            value = spec.kind(value)
        except (TypeError, ValueError):
            fail(f"is not a {spec.kind.__name__}")
    if spec.choices and value not in spec.choices:
        fail(f"must be one of {list(spec.choices)}")
    return value


_OPS: dict[str, OpDef] = {}


def register(op: OpDef) -> OpDef:
    if op.name in _OPS:
        raise RuntimeError(f"operator {op.name!r} registered twice")
    _OPS[op.name] = op
    return op


def get_op(name: str) -> OpDef:
    try:
        return _OPS[name]
    except KeyError:
        raise UnsupportedOpError(f"operator {name!r} is not supported (supported: {', '.join(sorted(_OPS))})") from None


def all_ops() -> dict[str, OpDef]:
    return dict(_OPS)
