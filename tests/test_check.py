"""``tokbench check``: the release gate's verdicts, tolerance boundaries and refusals."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from fakes import write_fake

from tokbench.report.commands import check_cmd
from tokbench.report.gate import parse_tolerance, run_check

BASE = {"t_acc": 50.0, "t_acc_small": 20.0, "t_ned": 70.0, "f_sim": 0.93, "psnr": 25.0, "rfid": 10.0}


def _pair(
    tmp_path: Path, new: dict[str, float | None], base: dict[str, float] | None = None, **new_kwargs: object
) -> tuple[Path, Path]:
    old = write_fake(tmp_path / "old", model="tok:v1", suite="text", metrics=base or BASE)
    fresh = write_fake(tmp_path / "new", model="tok:v2", suite="text", metrics=new, **new_kwargs)  # type: ignore[arg-type]
    return fresh, old


def _check(tmp_path: Path, new: dict[str, float | None], max_drop: list[str] | None = None, **kw: object) -> int:
    fresh, old = _pair(tmp_path, new, **kw)  # type: ignore[arg-type]
    return check_cmd(str(fresh), str(old), max_drop or [], "json")


def test_improvement_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    better = {**BASE, "t_acc": 55.0, "psnr": 26.0, "rfid": 8.0}
    assert _check(tmp_path, better) == 0
    out = json.loads(capsys.readouterr().out)
    status = {r["metric"]: r["status"] for r in out["rows"]}
    assert status["t_acc"] == status["psnr"] == status["rfid"] == "improved" and status["f_sim"] == "same"
    assert out["verdict"] == "passed"


def test_regression_fails_with_a_readable_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fresh, old = _pair(tmp_path, {**BASE, "t_acc": 48.0, "rfid": 11.0})
    assert check_cmd(str(fresh), str(old), [], "text") == 1
    out = capsys.readouterr().out
    assert "REGRESSED" in out and "T-ACC" in out and "-2" in out and "rFID" in out and "+1" in out
    assert "2 regressed" in out
    assert check_cmd(str(fresh), str(old), [], "github") == 1
    md = capsys.readouterr().out
    assert md.startswith("## ❌ tokbench release gate: 2 regressions")
    assert "| text / ds @256 | T-ACC ↑ | 50 | 48 | -2 | – | – | 0.5 | **REGRESSED** |" in md


@pytest.mark.parametrize(
    ("metric", "old", "edge", "away", "max_drop"),
    [
        ("t_acc", 50.0, 49.5, -math.inf, []),  # default 0.5 points, higher is better
        ("f_sim", 0.93, 0.925, -math.inf, []),  # 0.93 - 0.925 is 0.005 exactly in decimal
        ("rfid", 10.0, 10.2, math.inf, []),  # default 2 % of the baseline, lower is better
        ("psnr", 25.0, 24.9, -math.inf, ["psnr=0.1"]),  # override
        ("psnr", 25.0, 24.75, -math.inf, ["psnr=1%"]),  # relative override
    ],
)
def test_tolerance_boundary_is_exact(
    tmp_path: Path, metric: str, old: float, edge: float, away: float, max_drop: list[str]
) -> None:
    base = {**BASE, metric: old}
    assert _check(tmp_path / "edge", {**base, metric: edge}, max_drop, base=base) == 0
    beyond = math.nextafter(edge, away)  # one float step past the tolerance
    assert _check(tmp_path / "beyond", {**base, metric: beyond}, max_drop, base=base) == 1


def test_tolerance_zero_and_parsing() -> None:
    assert parse_tolerance("2%").relative and parse_tolerance("0.5").value * 2 == 1
    for bad in ("x", "-1", "nan%", ""):
        with pytest.raises(ValueError):
            parse_tolerance(bad)


def test_unknown_direction_metrics_are_not_gated_unless_asked(tmp_path: Path) -> None:
    base = {**BASE, "level0.zipf_s": 1.0}
    assert _check(tmp_path / "a", {**base, "level0.zipf_s": 3.0}, base=base) == 0
    assert _check(tmp_path / "b", {**base, "level0.zipf_s": 1.2}, ["level0.zipf_s=0.1"], base=base) == 1
    assert _check(tmp_path / "c", {**base, "level0.zipf_s": 0.95}, ["level0.zipf_s=0.1"], base=base) == 0


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"protocol": "center-crop"}, "protocol differs: 'tokbench-paper'"),
        ({"identity": {"manifest_sha256": "changed"}}, "dataset identity manifest_sha256 differs"),
        ({"suite_options": {"ocr": "easyocr"}}, "text option ocr differs: 'parseq'"),
        ({"dataset": "other"}, "dataset differs: 'ds' (baseline) vs 'other' (new)"),
        ({"resolution": 512}, "resolution differs: 256 (baseline) vs 512 (new)"),
    ],
)
def test_incompatible_results_exit_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kwargs: dict, needle: str
) -> None:
    assert _check(tmp_path, dict(BASE), **kwargs) == 2
    out = json.loads(capsys.readouterr().out)
    assert any(needle in p for p in out["problems"]), out["problems"]


def test_missing_metric_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _check(tmp_path / "a", {k: v for k, v in BASE.items() if k != "f_sim"}) == 2
    assert "metric f_sim is missing" in capsys.readouterr().out
    assert _check(tmp_path / "b", {**BASE, "t_acc_small": None}) == 2  # null = no instances in the bucket


def test_bad_max_drop_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _check(tmp_path / "a", dict(BASE), ["t_acc"]) == 2
    assert "METRIC=VALUE" in capsys.readouterr().err
    assert _check(tmp_path / "b", dict(BASE), ["t_acc_typo=1"]) == 2
    assert "t_acc_typo" in capsys.readouterr().out


def test_folders_pair_by_suite_dataset_resolution(tmp_path: Path) -> None:
    for root, model, psnr in ((tmp_path / "old", "v1", 25.0), (tmp_path / "new", "v2", 25.01)):
        write_fake(root, model=model, suite="recon", metrics={"psnr": psnr})
        write_fake(root, model=model, suite="recon", resolution=512, metrics={"psnr": psnr + 2})
        write_fake(root, model=model, suite="text", metrics=dict(BASE))
    write_fake(tmp_path / "new", model="v2", suite="recon", dataset="extra", metrics={"psnr": 1.0})
    result = run_check([tmp_path / "new"], [tmp_path / "old"], [])
    assert result.exit_code == 0 and result.pairs == 3
    assert any("recon / extra @256: no baseline result" in n for n in result.notes)
    write_fake(tmp_path / "old", model="v1b", suite="recon", metrics={"psnr": 20.0})
    ambiguous = run_check([tmp_path / "new"], [tmp_path / "old"], [])
    assert ambiguous.exit_code == 2 and "baseline has 2 results for recon / ds @256" in ambiguous.problems[0]


def test_baseline_only_results_are_missing(tmp_path: Path) -> None:
    write_fake(tmp_path / "old", model="v1", suite="recon", metrics={"psnr": 25.0})
    write_fake(tmp_path / "old", model="v1", suite="face", metrics={"f_sim": 0.5})
    write_fake(tmp_path / "new", model="v2", suite="recon", metrics={"psnr": 25.0})
    result = run_check([tmp_path / "new"], [tmp_path / "old"], [])
    assert result.exit_code == 2 and "face / ds @256: in the baseline" in result.problems[0]
