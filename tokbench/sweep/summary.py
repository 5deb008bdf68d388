"""Sweep records -> curves (per size level, model beside ceiling, per grid phase), thresholds with
bootstrap intervals, and the grid-phase gap."""

from __future__ import annotations

from typing import Any

import numpy as np

from tokbench.sweep.threshold import LEVELS, thresholds

# kind -> (outcome the thresholds are fitted on, curve fields, metric prefix, size unit)
KINDS = {
    "text": ("acc", ("acc", "ned"), "text", "cap height px"),
    "face": ("same", ("f_sim", "same", "f_sim_pair"), "face", "inter-ocular px"),
}


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def curves(recs: list[dict[str, Any]], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """One row per size level: size, n, the model's and the ceiling's mean of each field, and the
    outcome by phase."""
    rows = []
    for level in sorted({r["level"] for r in recs}):
        at = [r for r in recs if r["level"] == level]
        row: dict[str, Any] = {"level": level, "size": _mean([r["size"] for r in at]), "n": len(at)}
        for f in fields:
            row[f] = _mean([r[f] for r in at if f in r])
            row[f"ceiling_{f}"] = _mean([r[f"ceil_{f}"] for r in at if f"ceil_{f}" in r])
            for phase in ("aligned", "offset"):
                row[f"{f}_{phase}"] = _mean([r[f] for r in at if f in r and r["phase"] == phase])
        rows.append(row)
    return rows


def _arrays(recs: list[dict[str, Any]], outcome: str) -> tuple[np.ndarray, ...]:
    sizes = np.array([r["size"] for r in recs], dtype=np.float64)
    y = np.array([r[outcome] for r in recs], dtype=np.float64)
    ceil = np.array([r[f"ceil_{outcome}"] for r in recs], dtype=np.float64)
    strata = np.array([r["level"] * 2 + (r["phase"] == "offset") for r in recs])
    return sizes, y, ceil, strata


def summarize(records: list[dict[str, Any]], resamples: int, seed: int) -> dict[str, Any]:
    """``metrics`` (flat, thresholds in canvas px) and ``extra`` (curves, thresholds with intervals,
    phase gap, counts) for every kind present."""
    metrics: dict[str, float | None] = {}
    extra: dict[str, Any] = {}
    for kind, (outcome, fields, prefix, unit) in KINDS.items():
        recs = [r for r in records if r.get("kind") == kind and "skip" not in r and outcome in r]
        if not any(r.get("kind") == kind for r in records):
            continue
        if len(recs) < 2:
            extra[kind] = {"unavailable": f"{len(recs)} scored {kind} instances with a '{outcome}' outcome"}
            continue
        sizes, y, ceil, strata = _arrays(recs, outcome)
        found = thresholds(sizes, y, ceil, strata, resamples, seed)
        by_phase = {}
        for phase in ("aligned", "offset"):
            sel = np.array([r["phase"] == phase for r in recs])
            by_phase[phase] = thresholds(sizes[sel], y[sel], None, strata[sel], resamples, seed)
        aligned, offset = (float(np.mean(y[np.array([r["phase"] == p for r in recs])])) for p in ("aligned", "offset"))
        for level in LEVELS:
            key = f"{round(level * 100)}"
            metrics[f"{prefix}_{key}_px"] = found[f"model_{key}"]["value"]
            metrics[f"{prefix}_{key}_ceiling_px"] = found[f"ceiling_{key}"]["value"]
            metrics[f"{prefix}_{key}_rel"] = found[f"rel_{key}"]["value"]
        metrics[f"{prefix}_phase_gap"] = 100.0 * (aligned - offset)
        a50, o50 = (by_phase[p]["model_50"]["value"] for p in ("aligned", "offset"))
        metrics[f"{prefix}_50_phase_ratio"] = None if a50 is None or o50 is None else o50 / a50
        extra[kind] = {
            "size_unit": unit,
            "outcome": outcome,
            "thresholds": found,
            "phase": {
                "aligned_rate": aligned,
                "offset_rate": offset,
                "gap_pp": metrics[f"{prefix}_phase_gap"],
                "thresholds": by_phase,
            },
            "curves": curves(recs, fields),
            "counts": {"scored": len(recs), "skipped": sum(1 for r in records if r.get("kind") == kind) - len(recs)},
        }
    return {"metrics": metrics, "extra": extra}
