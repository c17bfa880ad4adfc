"""Small synthetic datasets generated in-project: no downloads, no scikit-learn.

Each generator is seeded and returns torch tensors: features as float32,
class labels as int64.  Lessons reach them as `tutor.data.<name>` from
learner code and as `toy.<name>` in check expressions.
"""

from __future__ import annotations

import math

import numpy as np


def _torch():
    import torch

    return torch


def moons(n: int = 500, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles in 2-D; label 0 on top, 1 below."""
    torch = _torch()
    rng = np.random.default_rng(seed)
    n_top = n // 2
    n_bottom = n - n_top
    t_top = rng.uniform(0, math.pi, n_top)
    t_bottom = rng.uniform(0, math.pi, n_bottom)
    top = np.stack([np.cos(t_top), np.sin(t_top)], axis=1)
    bottom = np.stack([1 - np.cos(t_bottom), 0.5 - np.sin(t_bottom)], axis=1)
    X = np.concatenate([top, bottom]) + rng.normal(0, noise, (n, 2))
    y = np.concatenate([np.zeros(n_top), np.ones(n_bottom)])
    order = rng.permutation(n)
    return torch.from_numpy(X[order].astype(np.float32)), torch.from_numpy(y[order].astype(np.int64))


def circles(n: int = 500, noise: float = 0.05, factor: float = 0.5, seed: int = 0):
    """An outer circle (label 0) around an inner one (label 1) of relative radius `factor`."""
    torch = _torch()
    rng = np.random.default_rng(seed)
    n_out = n // 2
    n_in = n - n_out
    t_out = rng.uniform(0, 2 * math.pi, n_out)
    t_in = rng.uniform(0, 2 * math.pi, n_in)
    outer = np.stack([np.cos(t_out), np.sin(t_out)], axis=1)
    inner = factor * np.stack([np.cos(t_in), np.sin(t_in)], axis=1)
    X = np.concatenate([outer, inner]) + rng.normal(0, noise, (n, 2))
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    order = rng.permutation(n)
    return torch.from_numpy(X[order].astype(np.float32)), torch.from_numpy(y[order].astype(np.int64))


def blobs(n: int = 500, centers: int = 3, std: float = 1.0, dim: int = 2, spread: float = 5.0, seed: int = 0):
    """Gaussian blobs around `centers` random centres; labels are the blob index."""
    torch = _torch()
    rng = np.random.default_rng(seed)
    means = rng.uniform(-spread, spread, (centers, dim))
    y = rng.integers(0, centers, n)
    X = means[y] + rng.normal(0, std, (n, dim))
    return torch.from_numpy(X.astype(np.float32)), torch.from_numpy(y.astype(np.int64))


def two_blobs(n: int = 3000, distance: float = 2.0, std: float = 1.0, seed: int = 0):
    """Two overlapping 2-D Gaussian blobs for binary classification; labels as float32 0/1."""
    torch = _torch()
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    centres = np.array([[-distance / 2, 0.0], [distance / 2, 0.0]])
    X = centres[y] + rng.normal(0, std, (n, 2))
    return torch.from_numpy(X.astype(np.float32)), torch.from_numpy(y.astype(np.float32))


def dots_and_rings(n: int = 1000, size: int = 16, noise: float = 0.05, seed: int = 0):
    """Grayscale images (n, 1, size, size) holding one bright dot (label 0) or a ring (label 1)."""
    torch = _torch()
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    cx = rng.integers(4, size - 4, n)[:, None, None]
    cy = rng.integers(4, size - 4, n)[:, None, None]
    radius = rng.integers(2, 4, n)[:, None, None]
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    dist = np.hypot(rows[None] - cx, cols[None] - cy)
    ring = (np.abs(dist - radius) < 0.6).astype(np.float32)
    dot = (dist < 0.5).astype(np.float32)
    images = np.where(y[:, None, None] == 1, ring, dot)
    images = np.clip(images + noise * rng.normal(size=images.shape), 0.0, 1.0).astype(np.float32)
    return torch.from_numpy(images[:, None]), torch.from_numpy(y.astype(np.int64))


def slime(frames: int = 60, size: int = 32, agents: int = 6, seed: int = 0):
    """A spatio-temporal field (frames, size, size): blobs that drift, diffuse and aggregate.

    A stand-in for slime-mould imaging: a few Gaussian blobs move towards
    their common centre of mass with some wander, their mass spreading and
    merging as they meet.  Values are float32 in [0, 1].
    """
    torch = _torch()
    rng = np.random.default_rng(seed)
    pos = rng.uniform(4, size - 4, (agents, 2))
    vel = np.zeros((agents, 2))
    width = rng.uniform(1.5, 2.5, agents)
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    out = np.zeros((frames, size, size), dtype=np.float32)
    for t in range(frames):
        centre = pos.mean(axis=0)
        vel = 0.8 * vel + 0.08 * (centre - pos) + rng.normal(0, 0.15, pos.shape)
        pos = np.clip(pos + vel, 1, size - 2)
        width = np.minimum(width * 1.01, 4.0)
        d2 = (rows[None] - pos[:, 0, None, None]) ** 2 + (cols[None] - pos[:, 1, None, None]) ** 2
        field = np.exp(-d2 / (2 * width[:, None, None] ** 2)).sum(axis=0)
        out[t] = field / max(field.max(), 1e-6)
    return torch.from_numpy(out)


def dataset(name: str, split: str = "train"):
    """A stored dataset as tensors: images float32 in [0, 1] shaped (n, C, H, W), labels int64.

    `name` is mnist, fashion-mnist, cifar10 or cifar-like; get it first with
    `tutor data get NAME`.
    """
    torch = _torch()
    from engine.jobs import datasets

    # No hashing here, on the learner's clock: the trusted parent verified the
    # lesson's dataset before the run, once per session (engine.checks.checker).
    data = datasets.load(name, split, hashes=False)
    images = torch.from_numpy(data.images.astype(np.float32) / 255.0)
    if images.dim() == 3:
        images = images.unsqueeze(1)
    return images, torch.from_numpy(data.labels)
