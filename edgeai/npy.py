""".npy files of model inputs, read only after their header has been checked: a header may claim any shape, and
numpy would try to allocate what it claims (10^12 elements) before finding the file too short."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeai.errors import DataError


@dataclass(frozen=True)
class NpyHeader:
    path: Path
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def elements(self) -> int:
        return math.prod(self.shape)


def read_header(path: str | Path) -> NpyHeader:
    """The shape and dtype an .npy file declares, after checking that the file holds that many bytes."""
    from numpy.lib import format as npy

    path = Path(path)
    try:
        with open(path, "rb") as f:
            if f.read(4) == b"PK\x03\x04":  # a zip: np.savez's archive
                raise DataError(f"{path}: an .npz archive; give one .npy file per model input (--input, once each)")
            f.seek(0)
            version = npy.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = npy.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = npy.read_array_header_2_0(f)
            else:
                raise ValueError(f".npy format version {version[0]}.{version[1]} is not read here (1.0 and 2.0 are)")
            data_bytes = path.stat().st_size - f.tell()
    except DataError:
        raise
    except (OSError, ValueError, EOFError) as e:  # EOFError: an empty file
        raise DataError(f"{path}: not a readable .npy file ({e})") from None
    header = NpyHeader(path, tuple(int(n) for n in shape), np.dtype(dtype))
    need = header.elements * header.dtype.itemsize
    if not header.dtype.hasobject and need > data_bytes:
        raise DataError(f"{path}: its header claims {header.dtype} {list(header.shape)} ({header.elements:,} elements, "
                        f"{need:,} bytes) but the file holds {max(data_bytes, 0):,} bytes of data: truncated or forged")
    return header


def load_input(header: NpyHeader, spec, where: str) -> np.ndarray:
    """The array of a checked header, refused before reading when it holds more elements than the model's input
    `spec` takes (a file may really be that big: nothing larger than the input is ever read)."""
    want = math.prod(spec.shape)
    if header.elements > want:
        raise DataError(f"{header.path}: holds {header.dtype} {list(header.shape)} ({header.elements:,} elements); "
                        f"{where}: input {spec.name!r} takes {list(spec.shape)} ({want:,} elements)")
    try:
        return np.load(header.path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"{header.path}: not a readable .npy file ({e})") from None
