"""One Session interface for every way of running a model: reference runtimes, host build, QEMU, a board."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence

import numpy as np

from edgeai.errors import DataError


@dataclass
class RunStats:
    """What the last run measured. Fields a backend cannot measure stay None."""

    wall_seconds: float | None = None
    instructions: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dtype: str
    shape: tuple[int, ...]
    scale: float | None = None
    zero_point: int | None = None


class Session(Protocol):
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    stats: RunStats

    def run(self, inputs: Sequence[np.ndarray] | dict[str, np.ndarray]) -> list[np.ndarray]: ...


def check_inputs(specs: list[TensorSpec], inputs, where: str) -> list[np.ndarray]:
    """Match the given arrays to the model's inputs; every mismatch is named."""
    if isinstance(inputs, np.ndarray):
        inputs = [inputs]
    if isinstance(inputs, dict):
        unknown = set(inputs) - {s.name for s in specs}
        if unknown:
            raise DataError(f"{where}: unknown input(s) {sorted(unknown)}; the model takes {[s.name for s in specs]}")
        missing = [s.name for s in specs if s.name not in inputs]
        if missing:
            raise DataError(f"{where}: missing input(s) {missing}")
        inputs = [inputs[s.name] for s in specs]
    inputs = list(inputs)
    if len(inputs) != len(specs):
        raise DataError(f"{where}: {len(inputs)} input(s) given, the model takes {len(specs)}")
    out = []
    for spec, value in zip(specs, inputs):
        value = np.asarray(value)
        if value.dtype != np.dtype(spec.dtype):
            raise DataError(f"{where}: input {spec.name!r} must be {spec.dtype}, got {value.dtype}")
        if tuple(value.shape) != tuple(spec.shape):
            if value.size == int(np.prod(spec.shape)) and value.ndim == len(spec.shape) + 1 and value.shape[0] == 1:
                value = value.reshape(spec.shape)
            else:
                raise DataError(f"{where}: input {spec.name!r} must have shape {list(spec.shape)}, got {list(value.shape)}")
        out.append(np.ascontiguousarray(value))
    return out
