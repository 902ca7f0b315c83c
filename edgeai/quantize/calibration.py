"""Calibration data: read a folder of .npy/.npz files or images into samples the model accepts.

A sample is a dict {input name: float32 array of the model's input shape (batch 1)}. Accepted files:
- `.npy` holding one sample (the input shape, with or without the batch dimension) or a batch [N, ...];
- `.npz` with one array per model input name (same shape rules), for models with several inputs;
- images (.png, .jpg, .jpeg, .bmp) when Pillow is installed: resized to the input's H x W, RGB or grey as
  the input's channel count says, laid out NHWC or NCHW as the input's shape says, scaled to `image_range`.
Every error names the file and says what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from edgeai.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


@dataclass(frozen=True)
class InputSpec:
    """One model input: its name and static shape (batch pinned to 1)."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype = np.dtype(np.float32)


def load_calibration(source, inputs: Sequence[InputSpec], image_range=(0.0, 1.0), limit: int | None = None
                     ) -> list[dict[str, np.ndarray]]:
    """Samples from a folder path, a numpy array (one sample or a batch), or an iterable of arrays/dicts."""
    if isinstance(source, (str, Path)):
        samples = _from_folder(Path(source), inputs, image_range)
    elif isinstance(source, np.ndarray):
        samples = _split(source, inputs[0], "the calibration array")
        samples = [{inputs[0].name: s} for s in samples]
    else:
        samples = []
        for n, item in enumerate(source):
            where = f"calibration sample {n}"
            if isinstance(item, dict):
                samples.extend(_from_dict(item, inputs, where))
            else:
                if len(inputs) != 1:
                    raise DataError(f"{where}: the model has {len(inputs)} inputs "
                                    f"({', '.join(i.name for i in inputs)}); pass dicts keyed by input name")
                samples.extend({inputs[0].name: s} for s in _split(np.asarray(item), inputs[0], where))
    if not samples:
        raise DataError("the calibration set is empty: give at least one sample (a few hundred is typical)")
    return samples[:limit] if limit else samples


def _from_folder(folder: Path, inputs: Sequence[InputSpec], image_range) -> list[dict[str, np.ndarray]]:
    if not folder.is_dir():
        raise DataError(f"calibration folder {folder} does not exist or is not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    usable = [p for p in files if p.suffix.lower() in (".npy", ".npz", *IMAGE_SUFFIXES)]
    if not usable:
        raise DataError(f"calibration folder {folder} holds no .npy, .npz or image files "
                        f"({len(files)} other files); write one sample per .npy file, "
                        f"shape {_shape_text(inputs[0])}")
    samples = []
    for path in usable:
        suffix = path.suffix.lower()
        if suffix == ".npy":
            if len(inputs) != 1:
                raise DataError(f"{path}: the model has {len(inputs)} inputs; use .npz files keyed by input "
                                f"name ({', '.join(i.name for i in inputs)})")
            try:
                arr = np.load(path, allow_pickle=False)
            except Exception as exc:  # noqa: BLE001 - any unreadable file is a data error naming it
                raise DataError(f"{path}: not a readable .npy file ({exc})") from exc
            samples.extend({inputs[0].name: s} for s in _split(arr, inputs[0], str(path)))
        elif suffix == ".npz":
            try:
                with np.load(path, allow_pickle=False) as z:
                    data = {k: z[k] for k in z.files}
            except Exception as exc:  # noqa: BLE001
                raise DataError(f"{path}: not a readable .npz file ({exc})") from exc
            samples.extend(_from_dict(data, inputs, str(path)))
        else:
            if len(inputs) != 1:
                raise DataError(f"{path}: images calibrate single-input models only")
            samples.append({inputs[0].name: _image(path, inputs[0], image_range)})
    return samples


def _from_dict(data: dict, inputs: Sequence[InputSpec], where: str) -> list[dict[str, np.ndarray]]:
    missing = [i.name for i in inputs if i.name not in data]
    if missing:
        raise DataError(f"{where}: no array for model input(s) {', '.join(missing)} "
                        f"(has {', '.join(map(str, data)) or 'nothing'})")
    per_input = [_split(np.asarray(data[i.name]), i, f"{where} [{i.name}]") for i in inputs]
    counts = {len(p) for p in per_input}
    if len(counts) != 1:
        raise DataError(f"{where}: inputs hold different numbers of samples ({sorted(counts)})")
    return [{i.name: p[k] for i, p in zip(inputs, per_input)} for k in range(counts.pop())]


def _split(arr: np.ndarray, spec: InputSpec, where: str) -> list[np.ndarray]:
    """One sample (shape without batch, or with batch 1) or a batch [N, ...] -> list of [1, ...] samples."""
    if arr.dtype.kind != "f":
        raise DataError(f"{where}: dtype {arr.dtype}, expected floating point (the model input {spec.name!r} "
                        f"is float32); convert with .astype(np.float32) after scaling to the model's input range")
    per_sample = tuple(spec.shape[1:])
    if tuple(arr.shape) == per_sample and len(spec.shape) > 0:
        batch = arr[None]
    elif arr.ndim == len(spec.shape) and tuple(arr.shape[1:]) == per_sample:
        batch = arr
    else:
        raise DataError(f"{where}: shape {list(arr.shape)}, expected {_shape_text(spec)} for model input "
                        f"{spec.name!r} (one sample {list(per_sample)} or a batch [N, {', '.join(map(str, per_sample))}])")
    if batch.shape[0] == 0:
        raise DataError(f"{where}: holds zero samples")
    if not np.all(np.isfinite(batch)):
        bad = int(np.size(batch) - np.count_nonzero(np.isfinite(batch)))
        raise DataError(f"{where}: {bad} NaN or Inf value(s); calibration data must be finite")
    batch = batch.astype(np.float32, copy=False)
    return [batch[k:k + 1] for k in range(batch.shape[0])]


def _shape_text(spec: InputSpec) -> str:
    return f"[N, {', '.join(map(str, spec.shape[1:]))}]"


def _image(path: Path, spec: InputSpec, image_range) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError as exc:
        raise DataError(f"{path}: reading images needs Pillow (pip install pillow); "
                        f"or save the preprocessed inputs as .npy files") from exc
    shape = spec.shape
    if len(shape) != 4:
        raise DataError(f"{path}: model input {spec.name!r} has shape {list(shape)}, not an image [1, H, W, C]")
    nchw = shape[1] in (1, 3) and shape[3] not in (1, 3)
    h, w, c = (shape[2], shape[3], shape[1]) if nchw else (shape[1], shape[2], shape[3])
    if c not in (1, 3):
        raise DataError(f"{path}: model input {spec.name!r} has {c} channels; images give 1 or 3")
    try:
        with Image.open(path) as img:
            img = img.convert("L" if c == 1 else "RGB").resize((w, h), Image.BILINEAR)
            pixels = np.asarray(img, dtype=np.float32).reshape(h, w, c)
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"{path}: cannot read the image ({exc})") from exc
    lo, hi = image_range
    x = lo + pixels * ((hi - lo) / 255.0)
    if nchw:
        x = x.transpose(2, 0, 1)
    return x[None].astype(np.float32)
