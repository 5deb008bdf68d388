"""Sweep records -> curves, thresholds and the grid-phase gap, on synthetic records."""

from __future__ import annotations

import math

import numpy as np

from tokbench.sweep.generate import sizes
from tokbench.sweep.summary import summarize
from tokbench.sweep.threshold import Fit


def _records(aligned: Fit, offset: Fit, ceiling: Fit, seed: int = 0) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    recs: list[dict[str, object]] = []
    for level, size in enumerate(sizes("text", "default")):
        for phase, curve in (("aligned", aligned), ("offset", offset)):
            for _ in range(16):
                acc = float(rng.random() < float(curve.rate(size)))
                ceil = float(rng.random() < float(ceiling.rate(size)))
                recs.append({"kind": "text", "size": size, "level": level, "phase": phase, "acc": acc,
                             "ned": acc, "ceil_acc": ceil, "ceil_ned": ceil})  # fmt: skip
    recs.append({"kind": "text", "skip": "unreadable bbox"})
    return recs


def test_a_grid_phase_sensitive_model_shows_a_phase_gap() -> None:
    good, bad = Fit(math.log(6.0), 5.0, 0.98), Fit(math.log(16.0), 5.0, 0.98)
    out = summarize(_records(good, bad, good), resamples=100, seed=0)
    m, text = out["metrics"], out["extra"]["text"]
    assert m["text_phase_gap"] > 20
    assert m["text_50_phase_ratio"] > 2.0
    aligned, offset = (text["phase"]["thresholds"][p]["model_50"] for p in ("aligned", "offset"))
    assert aligned["high"] < offset["low"]
    assert text["counts"] == {"scored": 384, "skipped": 1}
    assert len(text["curves"]) == 12 and text["curves"][0]["n"] == 32


def test_a_phase_blind_model_equal_to_its_ceiling() -> None:
    curve = Fit(math.log(8.0), 5.0, 0.98)
    recs = _records(curve, curve, curve)
    for r in recs:  # the model reads exactly what the ceiling reads
        if "acc" in r:
            r["acc"], r["ned"] = r["ceil_acc"], r["ceil_ned"]
    m = summarize(recs, resamples=100, seed=0)["metrics"]
    assert m["text_50_px"] == m["text_50_ceiling_px"] and m["text_50_rel"] == 1.0
    assert abs(m["text_phase_gap"]) < 10
