"""Per-model charts: scores versus scale bucket, and the token-language curves found in ``extra``.

The language suite's curve keys are not fixed, so curves are found by shape: a list of
``[x, y]`` pairs, a dict of two equal-length number lists (``x``/``y``, ``rank``/``count`` …),
a dict from numeric keys to numbers (``{"1": 5, "10": 40}``), under any key whose path
contains ``rank`` (rank-frequency) or ``innovation`` / ``growth`` (vocabulary growth).
"""

from __future__ import annotations

import math
from typing import Any

from tokbench.metric_spec import BUCKETS
from tokbench.report.collect import Entry
from tokbench.report.intervals import stored_interval
from tokbench.report.metrics import SpecBook
from tokbench.report.svg import Series, line_chart

Curve = tuple[list[float], list[float]]
_X_KEYS = ("x", "rank", "ranks", "m", "images", "n_images", "n")
_NOISE = ("streams", "stream", "ngrams")
_Y_KEYS = ("y", "count", "counts", "freq", "frequency", "frequencies", "v", "types", "vocab", "value", "values")


def scale_charts(entries: list[Entry], book: SpecBook, intervals: bool = True) -> list[str]:
    """For each declared bucketed family (T-ACC, T-NED, F-Sim …): bucket means (S, M, L), one line per
    resolution; with ``intervals``, an error bar where the result stores a bucket's interval."""
    charts = []
    for fam in book.families():
        series = []
        several = len({e.dataset for e in entries if f"{fam}_small" in e.metrics}) > 1
        for e in sorted(entries, key=lambda e: (e.resolution, e.dataset)):
            ys = [_num(e.metrics.get(f"{fam}_{b}")) for b in BUCKETS]
            bars = [stored_interval(e, f"{fam}_{b}") if intervals else None for b in BUCKETS]
            if any(y is not None for y in ys):
                label = f"@{e.resolution}" + (f" {e.dataset}" if several else "")
                series.append(Series(label, [0, 1, 2], ys, errors=bars if any(bars) else None))
        if series:
            s = book.spec(fam)
            y_range = (0.0, 100.0) if s.unit == "%" else (0.0, 1.0)
            charts.append(
                line_chart(
                    series,
                    f"{s.label} versus scale",
                    "scale bucket",
                    f"{s.label}{' (%)' if s.unit == '%' else ''}",
                    categories=["small", "medium", "large"],
                    y_range=y_range,
                )
            )
    return charts


def language_charts(entries: list[Entry]) -> list[str]:
    """Rank-frequency (log-log) and innovation (log x) curves from the language results' ``extra``."""
    rank, growth = language_series(entries)
    charts = []
    if rank:
        charts.append(line_chart(rank[:12], "Rank-frequency", "rank", "count", log_x=True, log_y=True))
    if growth:
        charts.append(
            line_chart(
                growth[:12], "Token innovation (vocabulary growth)", "images seen", "distinct tokens", log_x=True
            )
        )
    return charts


def language_series(entries: list[Entry]) -> tuple[list[Series], list[Series]]:
    """The rank-frequency and the innovation curves found in the entries' ``extra``."""
    rank: list[Series] = []
    growth: list[Series] = []
    for e in sorted(entries, key=lambda e: e.resolution):
        for path, (xs, ys) in find_curves(e.result.get("extra") or {}):
            words = [p.lower() for p in path if _keyword(p)]
            rest = " ".join(f"n={p}" if p.isdigit() else p for p in path if not _keyword(p) and p not in _NOISE)
            label = f"@{e.resolution} {rest}"
            if any("rank" in w for w in words):
                rank.append(Series(label.strip(), xs, ys))
            elif any("innov" in w or "growth" in w for w in words):
                growth.append(Series(label.strip(), xs, ys))
    return rank, growth


def _keyword(part: str) -> bool:
    p = part.lower()
    if "range" in p or "bound" in p:  # e.g. zipf_ols.rank_range: a fit's range, not a curve
        return False
    return "rank" in p or "innov" in p or "growth" in p or p in ("curves", "curve")


def find_curves(obj: Any, path: tuple[str, ...] = (), depth: int = 0) -> list[tuple[tuple[str, ...], Curve]]:
    """Every curve-shaped value under ``obj`` whose key path names a rank or innovation curve."""
    if depth > 6:
        return []
    wanted = any(_keyword(p) and p.lower() not in ("curves", "curve") for p in path)
    curve = as_curve(obj, allow_plain=wanted)
    if curve is not None:
        return [(path, curve)] if wanted else []
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += find_curves(v, path + (str(k),), depth + 1)
    return out


def as_curve(value: Any, allow_plain: bool = False) -> Curve | None:
    """``(xs, ys)`` when ``value`` looks like a curve, else None."""
    if isinstance(value, list) and len(value) >= 2:
        if all(isinstance(p, (list, tuple)) and len(p) == 2 and all(_num(v) is not None for v in p) for p in value):
            return [float(p[0]) for p in value], [float(p[1]) for p in value]
        if all(isinstance(p, dict) and len(p) == 2 and all(_num(v) is not None for v in p.values()) for p in value):
            pairs = [list(p.values()) for p in value]
            return [float(p[0]) for p in pairs], [float(p[1]) for p in pairs]
        if allow_plain and len(value) >= 3 and all(_num(v) is not None for v in value):
            return [float(i + 1) for i in range(len(value))], [float(v) for v in value]
        return None
    if isinstance(value, dict) and value:
        lists = {
            k: v
            for k, v in value.items()
            if isinstance(v, list) and len(v) >= 2 and all(_num(x) is not None for x in v)
        }
        if len(lists) >= 2 and len({len(v) for v in lists.values()}) == 1:
            keys = list(lists)
            xk = next((k for k in keys if k.lower() in _X_KEYS), keys[0])
            yk = next((k for k in keys if k != xk and k.lower() in _Y_KEYS), next(k for k in keys if k != xk))
            return [float(v) for v in lists[xk]], [float(v) for v in lists[yk]]
        if len(value) >= 2 and all(_num(v) is not None for v in value.values()):
            try:
                points = sorted((float(k), float(v)) for k, v in value.items())
            except ValueError:
                return None
            return [p[0] for p in points], [p[1] for p in points]
    return None


def _num(v: Any) -> float | None:
    """A finite float, else None (NaN, infinities and ints beyond the float range are no points)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        f = float(v)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None
