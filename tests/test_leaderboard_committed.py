"""The committed leaderboard is exactly what the documented command makes from the committed results."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tokbench.report.commands import report_cmd

ROOT = Path(__file__).resolve().parent.parent
BASELINES = ROOT / "results" / "baselines"
BOARD = ROOT / "results" / "leaderboard"


@pytest.mark.skipif(not BASELINES.is_dir(), reason="no committed baseline results")
def test_committed_leaderboard_is_regenerated_identically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the command in scripts/make_leaderboard.sh runs from the repo root
    assert report_cmd(["results/baselines"], "md,csv,html", tmp_path, with_published=True) == 0
    committed = sorted(p.name for p in BOARD.iterdir() if p.is_file())
    assert committed == sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    for name in committed:
        ours, theirs = (tmp_path / name).read_text(), (BOARD / name).read_text()
        if name.endswith(".html"):  # the page carries the time it was generated
            ours, theirs = (re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "", t) for t in (ours, theirs))
        assert ours == theirs, f"{name} differs: run scripts/make_leaderboard.sh and commit"


@pytest.mark.skipif(not BASELINES.is_dir(), reason="no committed baseline results")
def test_committed_site_is_regenerated_identically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert report_cmd(["results/baselines"], "site", tmp_path, with_published=True) == 0
    site = BOARD / "site"
    committed = sorted(p.relative_to(site) for p in site.rglob("*") if p.is_file())
    assert committed == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    for rel in committed:  # the site carries no build time: byte for byte
        assert (tmp_path / rel).read_bytes() == (site / rel).read_bytes(), (
            f"{rel} differs: run scripts/make_leaderboard.sh"
        )


@pytest.mark.skipif(not (ROOT / "results" / "sweep").is_dir(), reason="no committed sweep results")
def test_committed_sweep_thresholds_are_regenerated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # as scripts/make_leaderboard.sh runs it
    assert report_cmd(["results/sweep"], "md,csv", tmp_path, mix_protocols=True) == 0
    board = BOARD / "sweep"
    assert sorted(p.name for p in board.iterdir()) == sorted(p.name for p in tmp_path.iterdir())
    assert (board / "sweep-thresholds.md").is_file()
    for p in board.iterdir():
        assert (tmp_path / p.name).read_bytes() == p.read_bytes(), f"{p.name} differs: run scripts/make_leaderboard.sh"
