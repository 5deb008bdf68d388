"""Sweep results in reports: the threshold table (Markdown, CSV, HTML) and the curve PNGs; reports
without a sweep result get none of it."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
from fakes import write_fake
from PIL import Image

from tokbench.report.commands import report_cmd
from tokbench.sweep.summary import summarize
from tokbench.sweep.threshold import Fit

HOSTILE = "=tok|<b>$\\x$"


def _extra(ceiling_mid: float, model_mid: float) -> dict[str, Any]:
    """A real summary of deterministic records: the model reads from ``model_mid`` px, the ceiling earlier."""
    model, ceiling = Fit(math.log(model_mid), 6.0, 0.98), Fit(math.log(ceiling_mid), 6.0, 0.98)
    recs = []
    for level, size in enumerate(np.geomspace(3, 40, 12)):
        for j in range(16):
            q = (j + 0.5) / 16  # instance j succeeds where the curve is above its quantile
            acc, ceil = float(model.rate(size) > q), float(ceiling.rate(size) > q)
            recs.append({"kind": "text", "size": float(size), "level": level, "phase": ("aligned", "offset")[j % 2],
                         "acc": acc, "ned": acc, "ceil_acc": ceil, "ceil_ned": ceil})  # fmt: skip
    return summarize(recs, resamples=50, seed=0)


def test_a_sweep_result_gets_its_threshold_table_curves_and_pngs(tmp_path: Path) -> None:
    summary = _extra(6.0, 12.0)
    write_fake(tmp_path / "res", model=HOSTILE, suite="sweep", dataset="sweep", metrics=summary["metrics"],
               extra=summary["extra"], suite_options={})  # fmt: skip
    out = tmp_path / "report"
    assert report_cmd([str(tmp_path / "res")], "md,csv,html,png", out) == 0
    md = (out / "sweep-thresholds.md").read_text()
    row = next(line for line in md.splitlines() if "| 50 % |" in line)
    px = summary["metrics"]["text_50_px"]
    assert 11.0 < px < 13.0 and f"{px:.2f} \\[" in row and "tok\\|\\<b\\>" in row
    rows = list(csv.DictReader((out / "sweep-thresholds.csv").open()))
    assert len(rows) == 2 and rows[0]["model"] == "'" + HOSTILE and float(rows[0]["px"]) == px
    html = (out / "report.html").read_text()
    assert "sweep thresholds (canvas px)" in html and "T-ACC versus size @256" in html and "<b>$" not in html
    [png] = (out / "plots").glob("*-sweep-text.png")
    assert Image.open(png).size == (1000, 400)


def test_a_report_without_sweep_results_has_no_sweep_output(tmp_path: Path) -> None:
    write_fake(tmp_path / "res", model="tok", suite="recon", metrics={"psnr": 30.0})
    out = tmp_path / "report"
    assert report_cmd([str(tmp_path / "res")], "md,csv,html,png", out) == 0
    assert not list(out.rglob("*sweep*"))
    assert "sweep thresholds" not in (out / "report.html").read_text()
