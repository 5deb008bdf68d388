"""Token innovation: vocabulary growth over a seeded image order, and Heaps' law.

The image order of permutation r is the ascending order of a key hashed from (seed, r, image
id), so it does not depend on the order or chunking in which images are fed. For each type
we keep only the smallest key of an image containing it: the type is "seen within the first
m images" exactly when that key is <= the m-th smallest image key. Memory: one key per type
and permutation, plus per image its keys and token count (the curve needs the order
statistics of the image keys).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

from tokbench.metrics.language_counts import exact_base, pack_rows, windows
from tokbench.metrics.language_zipf import linear_fit

_FLUSH_MIN = 1 << 16


def image_keys(image_id: str, seed: int, count: int) -> np.ndarray:
    """``count`` uniform keys in [0, 1) fixed by (seed, image id): one per permutation."""
    out = np.empty(count, dtype=np.float64)
    for r in range(count):
        digest = hashlib.sha256(f"tokbench.language.order:{seed}:{r}:{image_id}".encode()).digest()
        out[r] = int.from_bytes(digest[:8], "little") / 2.0**64
    return out


def log_grid(m_max: int) -> list[int]:
    """1, 2, 5, 10, 20, 50, ... up to ``m_max``, with ``m_max`` itself last."""
    grid: list[int] = []
    decade = 1
    while decade <= m_max:
        grid += [m for m in (decade, 2 * decade, 5 * decade) if m <= m_max]
        decade *= 10
    if not grid or grid[-1] != m_max:
        grid.append(m_max)
    return grid


class InnovationCurve:
    """Vocabulary growth V(m) of n-gram types over R seeded image orders."""

    def __init__(self, n: int, id_bound: int | None, permutations: int) -> None:
        self.n = n
        self.base = exact_base(id_bound, n)
        self.permutations = permutations
        self._types = np.empty(0, dtype=np.int64)
        self._first = np.empty((0, permutations), dtype=np.float64)
        self._buf_types: list[np.ndarray] = []
        self._buf_first: list[np.ndarray] = []
        self._buffered = 0
        self._img_keys: list[np.ndarray] = []
        self._img_tokens: list[int] = []

    def update(self, seq: np.ndarray, keys: np.ndarray) -> None:
        """Add one image: its sentence and its ``permutations`` order keys."""
        types = np.unique(pack_rows(windows(seq, self.n), self.base))
        self._img_keys.append(np.asarray(keys, dtype=np.float64))
        self._img_tokens.append(int(np.asarray(seq).size))
        if types.size:
            self._buf_types.append(types)
            self._buf_first.append(np.broadcast_to(keys, (types.size, self.permutations)))
            self._buffered += types.size
            if self._buffered >= max(_FLUSH_MIN, self._types.size):
                self._flush()

    def _flush(self) -> None:
        if not self._buf_types:
            return
        types = np.concatenate([self._types, *self._buf_types])
        first = np.concatenate([self._first, *self._buf_first])
        order = np.argsort(types, kind="stable")
        t = types[order]
        start = np.flatnonzero(np.r_[True, t[1:] != t[:-1]])
        self._types = t[start]
        self._first = np.minimum.reduceat(first[order], start, axis=0)
        self._buf_types, self._buf_first, self._buffered = [], [], 0

    def _growth(self) -> tuple[np.ndarray, np.ndarray]:
        """V_r(m) and N_r(m) (tokens) for every permutation r and m = 1..M, shape [R, M]."""
        self._flush()
        keys = np.stack(self._img_keys) if self._img_keys else np.empty((0, self.permutations))
        tokens = np.asarray(self._img_tokens, dtype=np.float64)
        vocab = np.empty((self.permutations, keys.shape[0]))
        ntok = np.empty_like(vocab)
        for r in range(self.permutations):
            order = np.argsort(keys[:, r], kind="stable")
            vocab[r] = np.searchsorted(np.sort(self._first[:, r]), keys[order, r], side="right")
            ntok[r] = np.cumsum(tokens[order])
        return vocab, ntok

    def compute(self, codebook_size: float, quantile: float = 0.9) -> dict[str, Any]:
        """Curve points at log-spaced m, innovation rate, m_q and the Heaps fit."""
        vocab, ntok = self._growth()
        m_total = vocab.shape[1]
        if m_total == 0:
            return {"images": 0}
        mean_v = vocab.mean(axis=0)
        grid = log_grid(m_total)
        idx = np.asarray(grid) - 1

        def v_at(m: int) -> float:
            return float(mean_v[m - 1]) if m > 0 else 0.0

        rates = [(v_at(m) - v_at(m // 2)) / (m - m // 2) for m in grid]
        final = v_at(m_total)
        m_q = int(np.argmax(mean_v >= quantile * final - 1e-9)) + 1 if final > 0 else 0
        # Heaps on the log-spaced points of every permutation: log V = log K_H + beta log N
        x = np.log10(ntok[:, idx].ravel())
        y = np.log10(np.maximum(vocab[:, idx].ravel(), 1.0))
        ok = np.isfinite(x)
        beta, intercept, r2 = linear_fit(x[ok], y[ok])
        return {
            "images": m_total,
            "types_final": final,
            "innovation_rate": rates[-1],
            "m_quantile": quantile,
            "m_q": m_q,
            "vocab_share_at_100": v_at(min(100, m_total)) / final if final > 0 else math.nan,
            "heaps": {
                "beta": beta,
                "k": 10.0**intercept if math.isfinite(intercept) else math.nan,
                "r2": r2,
                "points": "log-spaced m of every permutation",
            },
            "curve": {
                "m": grid,
                "types": [v_at(m) for m in grid],
                "coverage": [v_at(m) / codebook_size for m in grid],
                "tokens": [float(ntok[:, m - 1].mean()) for m in grid],
                "innovation_rate": rates,
            },
        }
