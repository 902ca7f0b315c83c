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
        value = _checked_dtype(spec, np.asarray(value), where)
        if tuple(value.shape) != tuple(spec.shape):
            if tuple(value.shape) == (1, *spec.shape):  # an extra batch axis of 1, not any reshape
                value = value.reshape(spec.shape)
            else:
                raise DataError(f"{where}: input {spec.name!r} must have shape {list(spec.shape)}, got {list(value.shape)}")
        out.append(np.ascontiguousarray(value))
    return out


def _checked_dtype(spec: TensorSpec, value: np.ndarray, where: str) -> np.ndarray:
    """The array in the input's dtype. Integers of another width are accepted when every value fits; a float
    input must be finite. Anything else is refused with what was expected."""
    want = np.dtype(spec.dtype)
    if value.dtype.kind in "iub" and want.kind in "iu" and value.dtype != want:
        info = np.iinfo(want)
        if value.size and (value.min() < info.min or value.max() > info.max):
            raise DataError(f"{where}: input {spec.name!r} is {spec.dtype}: values must lie in [{info.min}, "
                            f"{info.max}], got {value.dtype} values from {value.min()} to {value.max()}")
        value = value.astype(want)
    if value.dtype != want:
        hint = ""
        if spec.scale is not None and value.dtype.kind == "f":
            hint = (f" (quantize real values first: round(x / {spec.scale:g}) + {spec.zero_point}, clipped to the "
                    f"{spec.dtype} range)")
        raise DataError(f"{where}: input {spec.name!r} must be {spec.dtype}, got {value.dtype}{hint}")
    if want.kind == "f" and not np.isfinite(value).all():
        bad = np.argwhere(~np.isfinite(value))[0]
        raise DataError(f"{where}: input {spec.name!r} holds {int((~np.isfinite(value)).sum())} NaN or infinite "
                        f"value(s), the first at index {tuple(int(i) for i in bad)}")
    return value
