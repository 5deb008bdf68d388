"""Intervals in result files, ``compare`` with paired tests, and the significance-aware ``check``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fakes import make_result
from tokbench.suites.recon import ReconSuite

from tokbench.report.commands import check_cmd, compare_cmd
from tokbench.report.compare import BETTER, INCONCLUSIVE, WORSE, compare_sets
from tokbench.results import read_result, result_path, write_result
from tokbench.stats.attach import intervals_for
from tokbench.stats.intervals import IntervalSettings


def _write(root: Path, model: str, psnr: np.ndarray, drop_first: bool = False) -> Path:
    """A recon result of per-image PSNRs, with intervals and estimands as the runner writes them."""
    suite = ReconSuite(lpips="none")
    records: list[dict[str, Any]] = [
        {"image_id": f"img{k:02d}.png", "psnr": float(v), "ssim": 0.9, "mse": 1.0, "n_values": 3}
        for k, v in enumerate(psnr)
    ][1 if drop_first else 0 :]
    metrics = {"psnr": float(np.mean([r["psnr"] for r in records]))}
    result = make_result(model=model, suite="recon", metrics=metrics)
    result["intervals"] = intervals_for(suite, records, {"metrics": metrics}, IntervalSettings(resamples=999))
    path = result_path(root, model, "ds", "recon", 256)
    write_result(path, result, records)
    return root


def _pair(tmp_path: Path, shift: float, noise: float, n: int = 12, **kw: bool) -> tuple[str, str]:
    rng = np.random.default_rng(0)
    base = rng.uniform(20, 30, n)
    old = _write(tmp_path / "old", "tok:v1", base)
    new = _write(tmp_path / "new", "tok:v2", base + shift + rng.normal(0, noise, n), **kw)
    return str(new), str(old)


def test_result_carries_an_interval_beside_each_aggregate(tmp_path: Path) -> None:
    new, _ = _pair(tmp_path, -0.1, 1.0)
    path = next(Path(new).rglob("*.json"))
    result = read_result(path)
    assert result["schema"] == "tokbench.result/3"
    iv = result["intervals"]
    assert iv["method"] == "bca" and iv["resamples"] == 999 and iv["seed"] == 0 and iv["confidence"] == 0.95
    lo, hi = iv["metrics"]["psnr"]["low"], iv["metrics"]["psnr"]["high"]
    assert lo < result["metrics"]["psnr"] < hi
    assert iv["estimands"]["psnr"] == {"field": "psnr", "scale": 1.0}


def test_a_bad_stored_interval_is_refused_naming_the_field(tmp_path: Path) -> None:
    new, _ = _pair(tmp_path, 0.0, 1.0)
    path = next(Path(new).rglob("*.json"))
    data = json.loads(path.read_text())
    data["intervals"]["metrics"]["psnr"] = {"low": 3, "high": 1}
    path.write_text(json.dumps(data))
    with pytest.raises(Exception, match="intervals.metrics.psnr"):
        read_result(path)


def test_check_passes_an_inconclusive_drop_with_its_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new, old = _pair(tmp_path, -0.1, 1.0)  # a 0.1 dB drop (tolerance 0.05) in 1 dB of noise, 12 images
    assert check_cmd(new, old, [], "text") == 0
    out = capsys.readouterr().out
    assert "inconclusive at this sample size" in out and "minimum detectable difference" in out
    assert check_cmd(new, old, [], "json") == 0
    row = json.loads(capsys.readouterr().out)["rows"][0]
    assert row["status"] == "inconclusive" and row["significance"]["test"] == "sign-flip-exact"
    assert row["significance"]["min_detectable_difference"] > 0.1  # why 0.1 could not be seen
    assert check_cmd(new, old, [], "text", tolerance_only=True) == 1  # the old gate, one option away


def test_check_fails_a_significant_drop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new, old = _pair(tmp_path, -1.0, 0.1)
    assert check_cmd(new, old, [], "github") == 1
    md = capsys.readouterr().out
    row = next(line for line in md.splitlines() if "**REGRESSED**" in line)
    cells = [c.strip() for c in row.split("|")]
    lo, hi = (float(x) for x in cells[6].strip("[]").split(","))
    assert lo <= float(cells[5]) <= hi < 0 and float(cells[7]) < 0.05  # the interval and the Holm p are shown


def test_check_refuses_unmatched_instances_with_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    new, old = _pair(tmp_path, -1.0, 0.1, drop_first=True)
    assert check_cmd(new, old, [], "text") == 2
    assert "cannot pair the instances" in capsys.readouterr().out
    assert compare_cmd(old, new) == 2
    assert "1 only in A, 0 only in B, 11 in both" in capsys.readouterr().err


def test_compare_gives_verdicts_with_intervals(tmp_path: Path) -> None:
    new, old = _pair(tmp_path, -1.0, 0.1)
    d = {x.metric: x for x in compare_sets([old], [new], resamples=999).deltas}["psnr"]
    assert d.verdict == WORSE and d.tested is not None and d.tested.test.interval is not None
    assert d.tested.test.interval.low <= d.delta <= d.tested.test.interval.high  # type: ignore[operator]
    d2 = {x.metric: x for x in compare_sets([new], [old], resamples=999).deltas}["psnr"]
    assert d2.verdict == BETTER
    flat_new, flat_old = _pair(tmp_path / "flat", -0.1, 1.0)
    d3 = {x.metric: x for x in compare_sets([flat_old], [flat_new], resamples=999).deltas}["psnr"]
    assert d3.verdict == INCONCLUSIVE


def test_identity_vs_jpeg_q5_is_significant_on_samples(tmp_path: Path) -> None:
    from tokbench.config import RunConfig
    from tokbench.runner import run

    for model, out in (("identity", "a"), ("jpeg:quality=5", "b")):
        cfg = RunConfig(
            model=model,
            suites=["recon"],
            limit=10,
            output_dir=str(tmp_path / out),
            suite_options={"recon": {"lpips": "none", "ms_ssim": False}},
            resamples=500,
        )
        run(cfg)
    c = compare_sets([tmp_path / "a"], [tmp_path / "b"], resamples=999)
    verdicts = {d.metric: d for d in c.deltas}
    for metric in ("psnr", "ssim"):
        assert verdicts[metric].verdict == WORSE
        assert verdicts[metric].tested is not None and verdicts[metric].tested.p_adjusted < 0.05
