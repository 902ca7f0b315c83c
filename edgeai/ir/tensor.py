"""Tensors of the graph IR: static shape, dtype, optional constant data and quantization."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DTYPES = ("int8", "uint8", "int16", "int32", "int64", "float32", "bool")


@dataclass(frozen=True)
class Quantization:
    """Affine quantization: real = scale * (q - zero_point), per tensor (axis None) or per `axis`."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int | None = None

    def __post_init__(self):
        if len(self.scale) != len(self.zero_point):
            raise ValueError(f"{len(self.scale)} scales but {len(self.zero_point)} zero points")
        if not self.scale:
            raise ValueError("quantization without a scale")
        if any(not (s > 0 and np.isfinite(s)) for s in self.scale):
            raise ValueError(f"scales must be positive and finite, got {self.scale[:4]}")
        if self.axis is None and len(self.scale) != 1:
            raise ValueError("several scales need an axis")

    @property
    def per_tensor(self) -> bool:
        return len(self.scale) == 1


@dataclass(frozen=True, eq=False)
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str
    data: np.ndarray | None = field(default=None, repr=False)
    quant: Quantization | None = None

    def __post_init__(self):
        if self.dtype not in DTYPES:
            raise ValueError(f"tensor {self.name!r}: unsupported dtype {self.dtype!r}")
        if any((not isinstance(d, (int, np.integer))) or d < 0 for d in self.shape):
            raise ValueError(f"tensor {self.name!r}: shape {self.shape} is not static")
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))
        if self.data is not None:
            data = np.asarray(self.data)
            if data.dtype != np.dtype(self.dtype) or tuple(data.shape) != self.shape:
                raise ValueError(
                    f"tensor {self.name!r}: data is {data.dtype}{list(data.shape)}, "
                    f"declared {self.dtype}{list(self.shape)}"
                )
            data = data.copy()
            data.setflags(write=False)  # constants are shared between graphs: nobody may change them
            object.__setattr__(self, "data", data)

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(self.dtype).itemsize

    def with_(self, **changes) -> "Tensor":
        values = dict(name=self.name, shape=self.shape, dtype=self.dtype, data=self.data, quant=self.quant)
        values.update(changes)
        return Tensor(**values)

    def describe(self) -> str:
        text = f"{self.dtype}[{','.join(map(str, self.shape))}]"
        if self.quant is not None:
            if self.quant.per_tensor:
                text += f" q(s={self.quant.scale[0]:.6g}, zp={self.quant.zero_point[0]})"
            else:
                text += f" q(axis={self.quant.axis}, {len(self.quant.scale)} ch)"
        return text
