"""Synthetic bin images of industrial parts, deterministic from a seed (numpy only).

Each image is 32 x 32 grayscale in [0, 1], laid out NHWC ([N, 32, 32, 1]). A part is drawn as a shape in its
own coordinates (u, v), rotated, scaled and shifted into the image, on a bin floor with uneven lighting, small
clutter (chips, short wires, rings) and sensor noise. Pixels are rendered 2 x 2 supersampled, then averaged,
so edges are anti-aliased as a camera would blur them.

Sample i of a split is drawn from `np.random.default_rng([split_seed, i])`: a sample depends only on its split
and index, never on how many samples were asked for, and classes cycle (sample i has class i % 6).
"""

from __future__ import annotations

import numpy as np

CLASSES = ("bolt", "nut", "washer", "bracket", "spring", "empty")
SIZE = 32
SUPERSAMPLE = 2
SPLITS = {"train": 101, "val": 202, "test": 303}  # held-out = "test": never used for training or calibration

_n = SIZE * SUPERSAMPLE
_c = (np.arange(_n) + 0.5) / _n * 2.0 - 1.0
_X, _Y = np.meshgrid(_c, _c)  # image plane, [-1, 1] both ways; rows are y


def _local(cx, cy, angle, scale, grid=(_X, _Y)):
    """Image-plane grid -> a part's own coordinates (u along its length, v across), for a pose and scale."""
    dx, dy = grid[0] - cx, grid[1] - cy
    ca, sa = np.cos(angle), np.sin(angle)
    return (ca * dx + sa * dy) / scale, (-sa * dx + ca * dy) / scale


def _box(u, v, u0, u1, v0, v1):
    return (u >= u0) & (u <= u1) & (v >= v0) & (v <= v1)


def _part(name: str, u, v, rng) -> tuple[np.ndarray, np.ndarray]:
    """Coverage mask and a relative brightness pattern for one part in local coordinates (fits |u|, |v| <= 1)."""
    r = np.hypot(u, v)
    shade = np.ones_like(u)
    if name == "bolt":
        length, half = rng.uniform(0.6, 0.85), rng.uniform(0.11, 0.16)
        shaft = _box(u, v, -length + 0.25, length, -half, half)
        head = _box(u, v, -length, -length + 0.25, -2.2 * half, 2.2 * half)
        mask = shaft | head
        thread = (u > 0.0) & shaft
        shade = np.where(thread, 0.75 + 0.25 * np.cos(u * rng.uniform(35, 50)), 1.0)
    elif name == "nut":
        outer = rng.uniform(0.5, 0.65)  # apothem: flat sides at `outer`, corners at 1.15 x `outer`
        inner = outer * rng.uniform(0.3, 0.42)
        hexagon = np.maximum.reduce([np.abs(v), np.abs(0.5 * v + 0.866 * u), np.abs(0.5 * v - 0.866 * u)])
        mask = (hexagon <= outer) & (r >= inner)
        shade = np.where(r < inner + 0.1, 0.65, 1.0)  # the threaded bore is darker
    elif name == "washer":
        outer = rng.uniform(0.5, 0.7)  # a thin flat ring: the wide bore tells it from a nut
        inner = outer * rng.uniform(0.58, 0.7)
        mask = (r <= outer) & (r >= inner)
    elif name == "bracket":
        arm, t = rng.uniform(0.55, 0.75), rng.uniform(0.18, 0.26)
        mask = _box(u, v, -arm, arm, -arm, -arm + t) | _box(u, v, -arm, -arm + t, -arm, arm)
        for hu, hv in ((arm * 0.45, -arm + t / 2), (-arm + t / 2, arm * 0.45)):
            mask &= np.hypot(u - hu, v - hv) > t * 0.3  # mounting holes
    elif name == "spring":
        length, amp, turns = rng.uniform(0.6, 0.85), rng.uniform(0.2, 0.32), rng.integers(4, 7)
        phase = (u + length) / (2 * length) * turns
        zigzag = amp * (4 * np.abs(phase - np.floor(phase + 0.5)) - 1)
        mask = (np.abs(u) <= length) & (np.abs(v - zigzag) <= rng.uniform(0.06, 0.09))
    elif name == "empty":
        mask = np.zeros_like(u, bool)
    else:
        raise ValueError(f"unknown part {name!r}; classes are {CLASSES}")
    return mask, shade


def _clutter(img, rng, count, grid=(_X, _Y), size=(0.06, 0.16)):
    """Chips, short wires and small rings, much smaller than a part (`size`: their scale range on `grid`)."""
    for _ in range(count):
        cx, cy = rng.uniform(-0.95, 0.95, 2)
        u, v = _local(cx, cy, rng.uniform(0, np.pi), rng.uniform(*size), grid)
        kind = rng.integers(3)
        if kind == 0:
            mask = _box(u, v, -1, 1, -0.6, 0.6)
        elif kind == 1:
            mask = _box(u, v, -2.0, 2.0, -0.25, 0.25)
        else:
            r = np.hypot(u, v)
            mask = (r <= 1.0) & (r >= 0.5)
        img[mask] = rng.uniform(0.25, 0.8)


def render(label: int, rng: np.random.Generator) -> np.ndarray:
    """One [32, 32, 1] float32 image of part CLASSES[label]."""
    # Bin floor: base level, a linear lighting gradient and a soft spot light.
    angle = rng.uniform(0, 2 * np.pi)
    img = (rng.uniform(0.1, 0.35) + rng.uniform(0.0, 0.2) * (np.cos(angle) * _X + np.sin(angle) * _Y) / 2
           + rng.uniform(0.0, 0.15) * np.exp(-((_X - rng.uniform(-1, 1)) ** 2 + (_Y - rng.uniform(-1, 1)) ** 2)))
    _clutter(img, rng, rng.integers(0, 4) + (2 if CLASSES[label] == "empty" else 0))
    # The part: random pose and scale, metal brightness with a shading gradient.
    cx, cy = rng.uniform(-0.25, 0.25, 2)
    u, v = _local(cx, cy, rng.uniform(0, 2 * np.pi), rng.uniform(0.6, 0.95))
    mask, shade = _part(CLASSES[label], u, v, rng)
    metal = rng.uniform(0.55, 0.95) * shade * (1 + rng.uniform(-0.2, 0.2) * u)
    img = np.where(mask, metal, img)
    # Camera: average the supersamples, global gain, Gaussian noise, 8-bit-like range.
    img = img.reshape(SIZE, SUPERSAMPLE, SIZE, SUPERSAMPLE).mean(axis=(1, 3))
    img = img * rng.uniform(0.8, 1.2) + rng.normal(0, rng.uniform(0.01, 0.05), img.shape)
    return np.clip(img, 0.0, 1.0).astype(np.float32)[:, :, None]


def generate(split: str, count: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` images of `split` ("train", "val" or "test") and their labels: ([N, 32, 32, 1] float32, [N] int64)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {sorted(SPLITS)}")
    labels = np.arange(count, dtype=np.int64) % len(CLASSES)
    images = np.stack([render(int(k), np.random.default_rng([SPLITS[split], i])) for i, k in enumerate(labels)]) \
        if count else np.zeros((0, SIZE, SIZE, 1), np.float32)
    return images, labels
