"""Scale buckets (small / medium / large) and their aggregation, as TokBench reports them.

Each instance carries a ``ratio`` (its size relative to the image's longer side); per resolution three
edges ``e0 < e1 < e2`` split instances into small = [e0, e1), medium = [e1, e2), large = [e2, inf).
Instances below ``e0`` are still scored but belong to no bucket ("below"). The headline number is the
unweighted mean of the three bucket means (TokBench's "Mean"); the pooled instance mean over the
bucketed instances is reported beside it. Edges come from TokBench's ``compute_all_metrics.py``
@855802d (the face edges are the newer ones the published leaderboard uses). TokBench's large bucket
stops at 1 (exclusive); here it is open-ended, which only matters for ratios >= 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

BUCKETS: tuple[str, str, str] = ("small", "medium", "large")
BELOW = "below"
UNKNOWN = "unknown"

TEXT_EDGES: dict[int, tuple[float, float, float]] = {
    256: (0.02, 0.03, 0.04),
    512: (0.01, 0.02, 0.03),
    1024: (0.005, 0.01, 0.02),
}
FACE_EDGES: dict[int, tuple[float, float, float]] = {
    256: (0.1, 0.2, 0.3),
    512: (0.05, 0.1, 0.2),
    1024: (0.02, 0.05, 0.1),
}
EDGES: dict[str, dict[int, tuple[float, float, float]]] = {"text": TEXT_EDGES, "face": FACE_EDGES}


def parse_edges(value: Any) -> tuple[float, float, float]:
    """``"0.02/0.03/0.04"`` or a 3-sequence -> three increasing positive floats."""
    parts = value.replace(",", "/").split("/") if isinstance(value, str) else list(value)
    try:
        edges = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        raise ValueError(f"edges {value!r}: expected three numbers like '0.02/0.03/0.04'") from None
    positive = all(math.isfinite(e) and e > 0 for e in edges)
    if len(edges) != 3 or not positive or not edges[0] < edges[1] < edges[2]:
        raise ValueError(f"edges {value!r}: expected three increasing positive numbers like '0.02/0.03/0.04'")
    return edges[0], edges[1], edges[2]


def edges_for(kind: str, resolution: int, override: Any = None) -> tuple[float, float, float]:
    """The bucket edges of ``kind`` ("text" or "face") at ``resolution``, or ``override`` if given."""
    if override is not None:
        return parse_edges(override)
    table = EDGES[kind]
    if resolution not in table:
        known = ", ".join(str(r) for r in sorted(table))
        raise ValueError(
            f"TokBench defines {kind} scale buckets only at {known}, not {resolution}; pass the "
            f"suite option edges=e0/e1/e2 to choose them"
        )
    return table[resolution]


def bucket_of(ratio: float | None, edges: Sequence[float]) -> str:
    """small/medium/large for ``ratio``; "below" under the first edge; "unknown" without a ratio."""
    if ratio is None or not isinstance(ratio, (int, float)) or math.isnan(ratio):
        return UNKNOWN
    e0, e1, e2 = edges
    if ratio < e0:
        return BELOW
    if ratio < e1:
        return "small"
    if ratio < e2:
        return "medium"
    return "large"


def bucket_ranges(edges: Sequence[float]) -> dict[str, list[float | None]]:
    e0, e1, e2 = edges
    return {"small": [e0, e1], "medium": [e1, e2], "large": [e2, None]}


def _mean(values: Sequence[float]) -> float | None:
    return float(math.fsum(values) / len(values)) if values else None


def macro_mean(bucket_means: Iterable[float | None]) -> float | None:
    """Unweighted mean of the bucket means; None when any bucket is empty (TokBench's numpy gives NaN)."""
    values = list(bucket_means)
    if not values or any(v is None for v in values):
        return None
    return float(math.fsum(values) / len(values))  # type: ignore[arg-type]


def _scaled(value: float | None, scale: float) -> float | None:
    return None if value is None else value * scale


def summarize(
    records: Sequence[Mapping[str, Any]], fields: Mapping[str, str], edges: Sequence[float], scale: float = 1.0
) -> dict[str, Any]:
    """Bucket ``records`` (scored instances with a ``ratio``) and average each field.

    ``fields`` maps a metric name to the record key holding its per-instance value. Returns
    ``{"metrics": {name, name_small, name_medium, name_large, name_pooled}, "buckets": {bucket:
    {"n", "range", name...}}, "counts": {...}, "all": {name: mean over every scored instance}}``.
    """
    groups: dict[str, list[Mapping[str, Any]]] = {b: [] for b in (*BUCKETS, BELOW, UNKNOWN)}
    for r in records:
        groups[bucket_of(r.get("ratio"), edges)].append(r)
    bucketed = [r for b in BUCKETS for r in groups[b]]
    ranges = bucket_ranges(edges)
    metrics: dict[str, float | None] = {}
    buckets: dict[str, dict[str, Any]] = {b: {"n": len(groups[b]), "range": ranges[b]} for b in BUCKETS}
    for name, key in fields.items():
        means = {b: _mean([float(r[key]) for r in groups[b]]) for b in BUCKETS}
        for b in BUCKETS:
            buckets[b][name] = _scaled(means[b], scale)
            metrics[f"{name}_{b}"] = _scaled(means[b], scale)
        metrics[name] = _scaled(macro_mean(means.values()), scale)
        metrics[f"{name}_pooled"] = _scaled(_mean([float(r[key]) for r in bucketed]), scale)
    every = {name: _scaled(_mean([float(r[key]) for r in records]), scale) for name, key in fields.items()}
    counts = {
        "scored": len(records),
        "bucketed": len(bucketed),
        "below": len(groups[BELOW]),
        "no_ratio": len(groups[UNKNOWN]),
    }
    return {"metrics": metrics, "buckets": buckets, "counts": counts, "all": every}


def per_dataset(
    records: Sequence[Mapping[str, Any]], fields: Mapping[str, str], edges: Sequence[float], scale: float = 1.0
) -> dict[str, dict[str, Any]]:
    """``summarize`` per ``dataset`` field (records without one go under "-"), compactly."""
    names = sorted({str(r.get("dataset", "-")) for r in records})
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        subset = [r for r in records if str(r.get("dataset", "-")) == name]
        s = summarize(subset, fields, edges, scale)
        out[name] = {
            "n": s["counts"]["scored"],
            "n_bucketed": s["counts"]["bucketed"],
            "all_instances": s["all"],
            **s["metrics"],
        }
    return out
