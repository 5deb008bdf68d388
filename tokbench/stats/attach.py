"""The ``intervals`` block of a result: one interval beside every aggregate, made in one place.

Suites say what their aggregates estimate (:meth:`tokbench.suite.Suite.estimands`); here each estimand
is rebuilt from the records, its point estimate checked against the metric the suite reported (a
mismatch is named, never papered over), and its interval computed. Suites whose statistics are not
means of records (rFID, KID) add their own (:meth:`tokbench.suite.Suite.resampled_intervals`).

Layout (``tokbench.result/3``)::

    "intervals": {"method", "confidence", "resamples", "seed",
                  "metrics": {name: {"low", "high", "method"}},
                  "per_dataset": {dataset: {name: {...}}}, "all_instances": {name: {...}},
                  "estimands": {name: Estimand.to_dict()}, "unavailable": {name: reason},
                  "resampled": {how rFID / KID were resampled}}
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tokbench.stats.estimand import Estimand
from tokbench.stats.intervals import Interval, IntervalSettings, interval_of

if TYPE_CHECKING:
    from tokbench.suite import Suite


def interval_dict(found: Interval) -> dict[str, Any]:
    return {"low": found.low, "high": found.high, "method": found.method}


def _one(
    name: str, est: Estimand, value: Any, records: list[dict[str, Any]], settings: IntervalSettings
) -> dict[str, Any] | str:
    """The interval of one aggregate, or why there is none."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "no value"
    point = est.point(records)
    if point is None or not math.isclose(point, value, rel_tol=1e-9, abs_tol=1e-12):
        return f"the records give {point!r}, not the reported {value!r} (a tokbench bug: please report it)"
    found = interval_of(est.strata(records), settings, est.scale)
    return found if isinstance(found, str) else interval_dict(found)


def _found(results: dict[str, dict[str, Any] | str]) -> dict[str, Any]:
    """The intervals found; a per-dataset or all-instance mean without one simply has none."""
    return {n: v for n, v in results.items() if not isinstance(v, str)}


def intervals_for(
    suite: Suite, records: list[dict[str, Any]], aggregate: dict[str, Any], settings: IntervalSettings
) -> dict[str, Any]:
    """The ``intervals`` block for ``suite``'s ``aggregate`` of ``records``."""
    estimands = suite.estimands()
    metrics = aggregate.get("metrics") or {}
    extra = aggregate.get("extra") or {}
    out: dict[str, Any] = {**settings.to_dict(), "metrics": {}, "unavailable": {}}
    for name, est in estimands.items():
        if metrics.get(name) is None:
            continue
        found = _one(name, est, metrics[name], records, settings)
        if isinstance(found, str):
            out["unavailable"][name] = found
        else:
            out["metrics"][name] = found
    per_dataset = extra.get("per_dataset")
    if isinstance(per_dataset, dict) and estimands:
        out["per_dataset"] = {}
        for ds, values in per_dataset.items():
            if not isinstance(values, dict):
                continue
            if len(per_dataset) == 1:  # one data set: its records are all records, its intervals the same
                out["per_dataset"][ds] = {n: v for n, v in out["metrics"].items() if n in values}
                continue
            out["per_dataset"][ds] = _found(
                {n: _one(n, replace(e, dataset=ds), values.get(n), records, settings) for n, e in estimands.items()}
            )
    every = extra.get("all_instances")
    if isinstance(every, dict) and estimands:
        out["all_instances"] = _found(
            {
                n: _one(n, replace(estimands[n], groups=None), v, records, settings)
                for n, v in every.items()
                if n in estimands
            }
        )
    resampled, how = suite.resampled_intervals(records, settings)
    for name, iv in resampled.items():
        if metrics.get(name) is None:
            continue
        if isinstance(iv, str):
            out["unavailable"][name] = iv
        else:
            out["metrics"][name] = interval_dict(iv)
    if how:
        out["resampled"] = how
    out["estimands"] = {name: est.to_dict() for name, est in estimands.items() if name in metrics}
    return out
