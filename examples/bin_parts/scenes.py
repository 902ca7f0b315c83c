"""Synthetic bins at camera resolution with several parts each, and their FOMO centroid targets (numpy only).

A bin is 96 x 96 grayscale in [0, 1] (NHWC [N, 96, 96, 1]) holding 1 to 6 parts of the five part classes at
random positions anywhere in the frame, poses and scales (half-extent 9 to 17 px), each with a soft shadow,
among 6 to 24 pieces of clutter (chips, wires, rings) on a floor with a lighting gradient, a spot light and a
darker rim, then camera gain and noise. The parts are drawn by the same shape code as the 32 x 32 classifier's
images (data.py), on a 2 x 2 supersampled grid.

A label is a part's class and centroid in pixels (x right, y down, the centre of the image is (48, 48)): the
centroid of the part's pixels inside the frame (a part drawn later may cover some of them). Centroids are at
least MIN_GAP_PX apart, so no two parts share a cell of the FOMO grid (12 x 12 cells of 8 x 8 px); parts may
still touch and overlap.

Bin i of a split is drawn from `np.random.default_rng([split_seed, i])`, like data.py: it depends only on its
split and index, and the three splits never overlap.
"""

from __future__ import annotations

import numpy as np

from examples.bin_parts.data import _clutter, _local, _part

CLASSES = ("bolt", "nut", "washer", "bracket", "spring")  # FOMO class k + 1; class 0 is background
SIZE = 96
SUPERSAMPLE = 2
STRIDE = 8  # one FOMO cell = 8 x 8 px
GRID = SIZE // STRIDE
MAX_PARTS = 6
PART_HALF_EXTENT_PX = (9.0, 17.0)
MIN_GAP_PX = 16.0
SPLITS = {"train": 111, "val": 222, "test": 333}  # held-out = "test": never used for training or calibration

_n = SIZE * SUPERSAMPLE
_c = (np.arange(_n) + 0.5) / _n * 2.0 - 1.0
_GRID_XY = np.meshgrid(_c, _c)  # image plane, [-1, 1] both ways; rows are y
_X, _Y = _GRID_XY
_PX = SIZE / 2.0  # pixels per image-plane unit


def _floor(rng) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi)
    img = (rng.uniform(0.1, 0.35) + rng.uniform(0.0, 0.2) * (np.cos(angle) * _X + np.sin(angle) * _Y) / 2
           + rng.uniform(0.0, 0.15) * np.exp(-((_X - rng.uniform(-1, 1)) ** 2 + (_Y - rng.uniform(-1, 1)) ** 2)))
    rim = rng.uniform(0.04, 0.12)  # the bin's walls: a darker band along the frame
    edge = np.minimum(1 - np.abs(_X), 1 - np.abs(_Y))
    return img * np.where(edge < rim, rng.uniform(0.5, 0.8), 1.0)


def _place(rng, taken) -> tuple[float, float] | None:
    """A centroid at least MIN_GAP_PX from the others, anywhere in the frame but its outer 4 px; None if 50
    tries found none (the bin then holds fewer parts)."""
    for _ in range(50):
        c = rng.uniform(-1 + 4 / _PX, 1 - 4 / _PX, 2)
        if all(np.hypot(c[0] - x, c[1] - y) * _PX >= MIN_GAP_PX for x, y in taken):
            return float(c[0]), float(c[1])
    return None


def render_scene(rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[int, float, float]]]:
    """One bin: a [96, 96, 1] float32 image and its parts as (class, x px, y px) in drawing order."""
    img = _floor(rng)
    _clutter(img, rng, rng.integers(6, 25), _GRID_XY, size=(0.02, 0.05))
    parts, taken = [], []
    for _ in range(rng.integers(1, MAX_PARTS + 1)):
        pose = _place(rng, taken)
        if pose is None:
            continue
        label = int(rng.integers(len(CLASSES)))
        scale = rng.uniform(*PART_HALF_EXTENT_PX) / _PX
        u, v = _local(*pose, rng.uniform(0, 2 * np.pi), scale, _GRID_XY)
        mask, shade = _part(CLASSES[label], u, v, rng)
        if mask.sum() < 40:  # mostly outside the frame: not a part a camera would be asked about
            continue
        centroid = float((_X[mask].mean() + 1) * _PX), float((_Y[mask].mean() + 1) * _PX)
        if any(np.hypot(centroid[0] - x, centroid[1] - y) < MIN_GAP_PX for _, x, y in parts):
            continue  # its centroid (an L's lies off its metal) too close to another part's
        taken.append(pose)
        # Shadow: the part's mask moved away from the light, darkening the floor (and clutter) under it.
        dy, dx = rng.integers(1, 4, 2) * rng.choice([-1, 1], 2)
        shadow = np.roll(mask, (dy, dx), axis=(0, 1))
        img = np.where(shadow & ~mask, img * rng.uniform(0.55, 0.8), img)
        metal = rng.uniform(0.55, 0.95) * shade * (1 + rng.uniform(-0.2, 0.2) * u)
        img = np.where(mask, metal, img)
        parts.append((label, *centroid))
    img = img.reshape(SIZE, SUPERSAMPLE, SIZE, SUPERSAMPLE).mean(axis=(1, 3))
    img = img * rng.uniform(0.8, 1.2) + rng.normal(0, rng.uniform(0.01, 0.05), img.shape)
    return np.clip(img, 0.0, 1.0).astype(np.float32)[:, :, None], parts


def generate(split: str, count: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` bins of `split` ("train", "val" or "test"): images [N, 96, 96, 1] float32 and labels
    [N, MAX_PARTS, 3] float32 rows (class, x px, y px), unused rows have class -1."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {sorted(SPLITS)}")
    images = np.zeros((count, SIZE, SIZE, 1), np.float32)
    labels = np.full((count, MAX_PARTS, 3), -1.0, np.float32)
    for i in range(count):
        images[i], parts = render_scene(np.random.default_rng([SPLITS[split], i]))
        if parts:
            labels[i, :len(parts)] = parts
    return images, labels


def parts_of(labels: np.ndarray) -> list[tuple[int, float, float]]:
    """One bin's label rows without the padding: [(class, x, y), ...]."""
    return [(int(c), float(x), float(y)) for c, x, y in labels if c >= 0]


def fomo_target(labels: np.ndarray) -> np.ndarray:
    """[N, GRID, GRID] int64 cell classes: 0 background, k + 1 where a part of class k has its centroid."""
    target = np.zeros((len(labels), GRID, GRID), np.int64)
    for i, rows in enumerate(labels):
        for c, x, y in parts_of(rows):
            target[i, min(int(y // STRIDE), GRID - 1), min(int(x // STRIDE), GRID - 1)] = c + 1
    return target
