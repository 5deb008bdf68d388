"""The stored confidence intervals (``tokbench.result/3``) as report tables and charts show them.

One style everywhere: ``62.10 [55.00, 69.30]``, the bounds themselves rather than ``± half-width``,
because bootstrap and Wilson intervals are asymmetric (a rate near 100 % has almost no room above it)
and a symmetric ``±`` would claim room that is not there. Only intervals stored in a result are shown:
published rows and ``/1`` / ``/2`` results have none, and a malformed one (a bound missing, ``null``,
not finite, or low > high) shows none rather than a made-up one.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, TypeGuard

if TYPE_CHECKING:
    from tokbench.report.collect import Entry
    from tokbench.report.tables import Table

Bounds = tuple[float, float]


def _finite(v: Any) -> TypeGuard[float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def stored_interval(e: Entry, metric: str) -> Bounds | None:
    """``(low, high)`` of ``metric``'s aggregate as ``e``'s result file stores it, else None."""
    block = e.result.get("intervals")
    metrics = block.get("metrics") if isinstance(block, dict) else None
    iv = metrics.get(metric) if isinstance(metrics, dict) else None
    low, high = (iv.get("low"), iv.get("high")) if isinstance(iv, dict) else (None, None)
    if not (_finite(low) and _finite(high)) or low > high:
        return None
    return float(low), float(high)


def attach(table: Table) -> None:
    """Fill ``table.intervals`` from the results behind its cells, with one footnote saying what they are."""
    levels: set[float] = set()
    for (row, key), e in table.cells.items():
        found = stored_interval(e, key)
        if found is not None:
            table.intervals[(row, key)] = found
            level = (e.result.get("intervals") or {}).get("confidence")
            if _finite(level):
                levels.add(float(level))
    if table.intervals:
        stated = " / ".join(f"{100 * c:g} %" for c in sorted(levels))
        table.footnotes.append(
            f"[low, high]: the {stated + ' ' if stated else ''}confidence interval each result file stores "
            "(tokbench.result/3; method, resamples and seed in the file); a cell without one has none stored"
        )
