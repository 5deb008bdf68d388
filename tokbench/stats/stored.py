"""Intervals and estimands as result files hold them (``tokbench.result/3``; older files have none)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokbench.stats.estimand import Estimand


def stored_intervals(result: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    """Metric name -> (low, high) of a result (checked by ``read_result``); empty for older files."""
    block = result.get("intervals")
    metrics = block.get("metrics") if isinstance(block, dict) else None
    if not isinstance(metrics, dict):
        return {}
    return {name: (float(iv["low"]), float(iv["high"])) for name, iv in metrics.items()}


def stored_estimands(result: Mapping[str, Any], where: str) -> dict[str, Estimand]:
    """Metric name -> estimand of a result; ValueError naming ``where`` and the field when malformed."""
    block = result.get("intervals")
    found = block.get("estimands") if isinstance(block, dict) else None
    if not isinstance(found, dict):
        return {}
    return {name: Estimand.from_dict(v, f"{where}: field intervals.estimands.{name}") for name, v in found.items()}


def stored_settings(result: Mapping[str, Any]) -> dict[str, Any]:
    """How a result's intervals were made (method, confidence, resamples, seed); empty for older files."""
    block = result.get("intervals")
    if not isinstance(block, dict):
        return {}
    return {k: block[k] for k in ("method", "confidence", "resamples", "seed") if k in block}
