"""The committed sweep baselines (scripts/run_sweep_baselines.sh, EasyOCR + dlib at 256) keep the issue's
known answers: identity reads exactly as the OCR itself does, and the lossy baselines need larger text with
non-overlapping intervals. The live version of this check is tests/test_sweep_e2e.py (marked slow)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

SWEEP = Path(__file__).resolve().parents[1] / "results" / "sweep"


def _thresholds(model: str, kind: str) -> dict[str, Any]:
    result = json.loads((SWEEP / model / "sweep" / "sweep-256.json").read_text())
    return dict(result["extra"][kind]["thresholds"])


def _low(entry: dict[str, Any]) -> float:
    """An interval's lower bound; None: every resample's curve stayed below the level (no finite bound)."""
    return math.inf if entry["low"] is None else float(entry["low"])


@pytest.mark.parametrize("kind", ["text", "face"])
def test_identity_threshold_is_the_ceiling(kind: str) -> None:
    found = _thresholds("identity", kind)
    for level in ("50", "90"):
        assert found[f"model_{level}"]["value"] == pytest.approx(found[f"ceiling_{level}"]["value"])


@pytest.mark.parametrize("model", ["jpeg_down=4_quality=5", "kmeans-vq_K=256_p=8"])
def test_lossy_baselines_need_larger_text_with_non_overlapping_intervals(model: str) -> None:
    """Measured (2026-11-30): identity 6.96 px [6.24, 7.61]; kmeans-vq 30.9 px [28.5, 33.7] (4.4x its
    ceiling); jpeg q5 down 4 not reached within the sweep (12.5 % read at 40 px)."""
    found = _thresholds(model, "text")
    ceiling = found["ceiling_50"]
    assert ceiling["high"] is not None and _low(found["model_50"]) > ceiling["high"]
    assert _low(found["rel_50"]) > 1.0
