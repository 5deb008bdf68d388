"""Streaming n-gram counting and the entropy family of a token stream (pure numpy).

n-grams are turned into one int64 key per window: an exact mixed-radix number when
``base ** n`` fits in int64, otherwise a 64-bit hash (a collision among 10^7 types has
probability ~1e-5; the result records which keying was used). Keys are merged into sorted
``(key, count)`` arrays in buffered batches, so the final counts do not depend on how the
stream was chunked, and memory grows with the number of types, not of images.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

#: boundary symbols of the n-gram language model; codes are always >= 0
BOS = -1
EOS = -2
_INT64_MAX = 2**63 - 1
_FLUSH_MIN = 1 << 18  # windows buffered before the first merge

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_STEP = np.uint64(0x9E3779B97F4A7C15)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijection on uint64 that spreads every input bit."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def exact_base(id_bound: int | None, n: int, shift: int = 0) -> int | None:
    """The radix for exact keys of n-grams over ids ``[-shift, id_bound)``, or None if they overflow."""
    if id_bound is None:
        return None
    base = int(id_bound) + shift
    return base if base**n <= _INT64_MAX else None


def pack_rows(rows: np.ndarray, base: int | None, shift: int = 0) -> np.ndarray:
    """One int64 key per row of ``rows`` [m, n]: exact (``base`` given) or a 64-bit hash."""
    rows = np.asarray(rows, dtype=np.int64)
    m, n = rows.shape
    if base is not None:
        key = np.zeros(m, dtype=np.int64)
        for j in range(n):
            key = key * base + (rows[:, j] + shift)
        return key
    # the length seeds the hash so an n-gram and an (n+1)-gram never share a key by construction
    h = np.full(m, ((n + 1) * int(_STEP)) & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            h = _mix64(h * _STEP + rows[:, j].view(np.uint64))
    return h.view(np.int64)


def windows(seq: np.ndarray, n: int) -> np.ndarray:
    """The [len-n+1, n] n-gram windows of one sentence (empty when it is shorter than n)."""
    seq = np.asarray(seq, dtype=np.int64)
    if seq.size < n:
        return np.empty((0, n), dtype=np.int64)
    return sliding_window_view(seq, n)


def merge_sorted(
    keys: np.ndarray, counts: np.ndarray, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Sum counts of equal keys; returns keys sorted ascending (one representative row per key)."""
    if keys.size == 0:
        return keys, counts, rows
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    start = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    summed = np.add.reduceat(counts[order], start)
    return k[start], summed, (rows[order][start] if rows is not None else None)


class NgramCounter:
    """Counts of n-gram types over sentences fed one at a time (n-grams never cross sentences)."""

    def __init__(self, n: int, id_bound: int | None, shift: int = 0, keep_rows: bool = False) -> None:
        self.n = n
        self.shift = shift
        self.base = exact_base(id_bound, n, shift)
        self.keep_rows = keep_rows
        self.n_windows = 0
        self._keys = np.empty(0, dtype=np.int64)
        self._counts = np.empty(0, dtype=np.int64)
        self._rows = np.empty((0, n), dtype=np.int64) if keep_rows else None
        self._buf_keys: list[np.ndarray] = []
        self._buf_rows: list[np.ndarray] = []
        self._buffered = 0

    @property
    def exact(self) -> bool:
        return self.base is not None

    def update(self, seq: np.ndarray) -> None:
        """Add the n-grams of one sentence."""
        self.add_rows(windows(seq, self.n))

    def add_rows(self, rows: np.ndarray) -> None:
        """Add pre-built n-gram windows [m, n] (e.g. padded with boundary symbols)."""
        if len(rows) == 0:
            return
        self._buf_keys.append(pack_rows(rows, self.base, self.shift))
        if self.keep_rows:
            self._buf_rows.append(np.array(rows, dtype=np.int64))
        self._buffered += len(rows)
        self.n_windows += len(rows)
        # merging at least as much as is already stored keeps the total cost O(N log N)
        if self._buffered >= max(_FLUSH_MIN, self._keys.size):
            self._flush()

    def _flush(self) -> None:
        if not self._buf_keys:
            return
        keys = np.concatenate([self._keys, *self._buf_keys])
        counts = np.concatenate([self._counts, np.ones(self._buffered, dtype=np.int64)])
        rows = np.concatenate([self._rows, *self._buf_rows]) if self.keep_rows else None
        self._keys, self._counts, self._rows = merge_sorted(keys, counts, rows)
        self._buf_keys, self._buf_rows, self._buffered = [], [], 0

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``(keys, counts, rows)`` of every type seen, keys ascending (rows None unless kept)."""
        self._flush()
        return self._keys, self._counts, self._rows

    def counts(self) -> np.ndarray:
        return self.result()[1]


# -- the entropy family ------------------------------------------------------------------------


def entropy_bits(counts: np.ndarray) -> float:
    """Plug-in Shannon entropy (bits) of the distribution given by ``counts``."""
    c = np.asarray(counts, dtype=np.float64)
    c = c[c > 0]
    total = c.sum()
    if total == 0:
        return math.nan
    p = c / total
    return float(max(0.0, -np.sum(p * np.log2(p))))


def miller_madow_bits(counts: np.ndarray) -> float:
    """Miller–Madow bias-corrected entropy: H + (V_obs - 1) / (2 N ln 2)."""
    c = np.asarray(counts)
    c = c[c > 0]
    n = float(c.sum())
    if n == 0:
        return math.nan
    return entropy_bits(c) + (c.size - 1) / (2.0 * n * math.log(2))


def gini(counts: np.ndarray, size: float) -> float:
    """Gini coefficient of the counts over ``size`` categories (unseen ones count as zeros)."""
    c = np.sort(np.asarray(counts, dtype=np.float64)[np.asarray(counts) > 0])
    total = c.sum()
    if total == 0 or size < 1:
        return math.nan
    # ascending ranks of the observed counts sit after the size - V zeros
    ranks = (size - c.size) + np.arange(1, c.size + 1, dtype=np.float64)
    return float(2.0 * np.sum(ranks * c) / (size * total) - (size + 1.0) / size)


def top_share(counts: np.ndarray, k: int) -> float:
    """Share of all tokens held by the ``k`` most frequent types."""
    c = np.asarray(counts, dtype=np.float64)
    total = c.sum()
    if total == 0 or k < 1:
        return math.nan
    k = min(int(k), c.size)
    return float(np.sum(np.partition(c, c.size - k)[c.size - k :]) / total)
