"""Target against reference on the same inputs: bit-exact rate, max abs error, cosine, top-1 agreement."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from edgeai.errors import DataError
from edgeai.runtime.session import TensorSpec


@dataclass(frozen=True)
class Agreement:
    output: str
    samples: int
    bit_exact: int  # samples whose output equals the reference exactly
    max_abs_error: float  # in the output's own units (LSB for integer outputs)
    max_abs_error_real: float | None  # dequantized, when the output is quantized
    min_cosine: float
    top1_agreement: int

    @property
    def bit_exact_rate(self) -> float:
        return self.bit_exact / self.samples if self.samples else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "bit_exact_rate": self.bit_exact_rate}


def random_inputs(specs: list[TensorSpec], count: int, seed: int = 0,
                  float_range: tuple[float, float] | None = None) -> list[list[np.ndarray]]:
    """Inputs spanning each input's whole range: every int8 code, or the float range of its quantization."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(count):
        batch = []
        for s in specs:
            if s.dtype in ("int8", "uint8", "int16"):
                info = np.iinfo(s.dtype)
                batch.append(rng.integers(info.min, info.max + 1, size=s.shape, dtype=s.dtype))
            elif s.dtype == "float32":
                lo, hi = float_range or (-1.0, 1.0)
                batch.append(rng.uniform(lo, hi, size=s.shape).astype(np.float32))
            else:
                raise DataError(f"cannot make random inputs of dtype {s.dtype} for {s.name!r}")
        batches.append(batch)
    return batches


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 1.0 if na == nb else 0.0
    return float(a @ b / (na * nb))


def compare(specs: list[TensorSpec], got: list[list[np.ndarray]], want: list[list[np.ndarray]]) -> list[Agreement]:
    result = []
    for i, spec in enumerate(specs):
        exact, max_err, max_real, min_cos, top1 = 0, 0.0, 0.0, 1.0, 0
        for g, w in zip(got, want):
            a, b = np.asarray(g[i]), np.asarray(w[i])
            if a.shape != b.shape:
                b = b.reshape(a.shape)
            exact += int(np.array_equal(a, b))
            diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
            diff[np.isnan(diff) & ~(np.isnan(a.astype(np.float64)) & np.isnan(b.astype(np.float64)))] = np.inf
            max_err = max(max_err, float(diff.max()) if diff.size else 0.0)
            if spec.scale:
                max_real = max(max_real, float(diff.max()) * spec.scale if diff.size else 0.0)
            if spec.scale is not None:
                a_real = (a.astype(np.float64) - spec.zero_point) * spec.scale
                b_real = (b.astype(np.float64) - spec.zero_point) * spec.scale
            else:
                a_real, b_real = a, b
            min_cos = min(min_cos, _cosine(a_real, b_real))
            top1 += int(np.argmax(a.reshape(-1)) == np.argmax(b.reshape(-1)))
        result.append(Agreement(spec.name, len(got), exact, max_err, max_real if spec.scale else None, min_cos, top1))
    return result
