"""A tokbench suite in one file: copy it, rename the class and the metric, fill in ``process``.

Run your copy with ``tokbench run --model jpeg --suite my_suite.py:SharpnessSuite`` (or put it in
``suites/`` and add one line to ``tokbench/plugins.py`` to make it a built-in). Its metric then appears
in ``tokbench report``, ``check`` and ``compare`` with no other edit: the declaration below travels in
every result file.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tokbench.metric_spec import HIGHER, MetricSpec
from tokbench.suite import Item, Suite

_DEFAULTS: dict[str, Any] = {"where": "restored"}  # every option and its default; all are recorded


class SharpnessSuite(Suite):
    """How much of the original's fine detail (mean absolute Laplacian) the reconstruction keeps."""

    name = "sharpness"
    version = "1"  # bump when records change meaning: cached records of older versions are not reused

    def __init__(self, **options: Any) -> None:
        merged = self.merge_options(_DEFAULTS, options)  # an unknown option is an error naming the known ones
        if merged["where"] not in ("restored", "canvas"):
            from tokbench.errors import ConfigError

            raise ConfigError(f"sharpness: where must be 'restored' or 'canvas', got {merged['where']!r}")
        super().__init__(**merged)

    def metric_specs(self) -> list[MetricSpec]:
        # name, label, better direction, unit, decimals, default gate tolerance, table
        return [MetricSpec("sharpness_ratio", "Sharpness", HIGHER, "", 3, "0.02", "sharpness")]

    def process(self, items: list[Item]) -> list[list[dict[str, Any]]]:
        """One list of records per image (here one record each; a suite with instances returns several)."""
        out = []
        for item in items:
            a, b = (
                (item.canvas, item.canvas_recon)
                if self.options["where"] == "canvas"
                else (item.original, item.restored)
            )
            detail = _laplacian_energy(a)
            if detail == 0:  # a flat image has no detail to keep: counted as skipped, with its reason
                out.append([{"image_id": item.image_id, "skip": "flat image"}])
                continue
            out.append([{"image_id": item.image_id, "sharpness_ratio": _laplacian_energy(b) / detail}])
        return out

    def aggregate(self, records: list[dict[str, Any]], resolution: int) -> dict[str, Any]:
        used = [r["sharpness_ratio"] for r in records if "skip" not in r]
        return {"metrics": {"sharpness_ratio": float(np.mean(used)) if used else None}, "extra": {"n": len(used)}}


def _laplacian_energy(image: np.ndarray) -> float:
    gray = image.astype(np.float64).mean(axis=2)
    lap = 4 * gray[1:-1, 1:-1] - gray[:-2, 1:-1] - gray[2:, 1:-1] - gray[1:-1, :-2] - gray[1:-1, 2:]
    return float(np.abs(lap).mean()) if lap.size else 0.0
