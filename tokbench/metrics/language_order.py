"""Linearisation of token grids into sentences: raster (row-major), column-major or Hilbert.

1-D token arrays keep their native order. A grid ``[h, w]`` is read row by row (``raster``,
as Chan et al. 2024), column by column, or along a Hilbert curve over the smallest power-of-two
square covering it (positions outside the grid are skipped, so for non-power-of-two sides the
path has jumps). Extra trailing axes ``[h, w, ...]`` are read in C order within a position.
"""

from __future__ import annotations

import numpy as np

ORDERS = ("raster", "column", "hilbert")
_ALIASES = {"row": "raster", "rows": "raster", "row-major": "raster", "col": "column", "column-major": "column"}


def canonical_order(order: str) -> str:
    """``order`` with aliases ("row" -> "raster") resolved; ValueError when unknown."""
    name = _ALIASES.get(order, order)
    if name not in ORDERS:
        raise ValueError(f"unknown token order {order!r}; expected one of {', '.join(ORDERS)} (or 'row')")
    return name


def hilbert_index(y: np.ndarray, x: np.ndarray, side: int) -> np.ndarray:
    """Position of each cell (y, x) along the Hilbert curve filling a ``side`` x ``side`` square
    (``side`` a power of two)."""
    x = np.array(x, dtype=np.int64)
    y = np.array(y, dtype=np.int64)
    d = np.zeros_like(x)
    s = side // 2
    while s > 0:
        rx = (x & s) > 0
        ry = (y & s) > 0
        d += s * s * ((3 * rx.astype(np.int64)) ^ ry.astype(np.int64))
        # rotate the quadrant so the sub-curve has the canonical orientation
        flip = ~ry & rx
        x = np.where(flip, side - 1 - x, x)
        y = np.where(flip, side - 1 - y, y)
        swap = ~ry
        x, y = np.where(swap, y, x), np.where(swap, x, y)
        s //= 2
    return d


def grid_order(h: int, w: int, order: str) -> np.ndarray:
    """Flat (row-major) indices of an ``h x w`` grid in reading order."""
    order = canonical_order(order)
    if order == "raster":
        return np.arange(h * w)
    if order == "column":
        return np.arange(h * w).reshape(h, w).T.ravel()
    side = 1
    while side < max(h, w):
        side *= 2
    yy, xx = np.divmod(np.arange(h * w), w)
    return np.argsort(hilbert_index(yy, xx, side), kind="stable")


def linearize(codes: np.ndarray, order: str = "raster") -> np.ndarray:
    """One image's codes of one level as a 1-D int64 sentence."""
    a = np.asarray(codes)
    if not np.issubdtype(a.dtype, np.integer):
        if a.size and not np.all(np.equal(np.mod(a, 1), 0)):
            raise ValueError(f"token codes must be integers, got dtype {a.dtype}")
        a = a.astype(np.int64)
    if a.ndim <= 1:
        return a.reshape(-1).astype(np.int64)
    h, w = a.shape[:2]
    cells = a.reshape(h * w, -1)
    return cells[grid_order(h, w, order)].reshape(-1).astype(np.int64)
