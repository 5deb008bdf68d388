"""``tokbench compare``: deltas, their signs, and better / worse by metric direction."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import write_fake

from tokbench.report.commands import compare_cmd
from tokbench.report.compare import BETTER, EQUAL, UNKNOWN, WORSE, compare_sets

A = {"psnr": 25.0, "ssim": 0.8, "lpips_alex": 0.3, "rfid": 5.0, "zipf_s": 1.0}
B = {"psnr": 26.5, "ssim": 0.7, "lpips_alex": 0.2, "rfid": 5.0, "zipf_s": 1.5}


def test_deltas_signs_and_verdicts(tmp_path: Path) -> None:
    write_fake(tmp_path / "a", model="tok:v1", suite="recon", metrics=A)
    write_fake(tmp_path / "b", model="tok:v2", suite="recon", metrics=B)
    c = compare_sets([tmp_path / "a"], [tmp_path / "b"])
    d = {x.metric: x for x in c.deltas}
    assert d["psnr"].delta == pytest.approx(1.5) and d["psnr"].percent == pytest.approx(6.0)
    assert d["psnr"].verdict == BETTER
    assert d["ssim"].delta == pytest.approx(-0.1) and d["ssim"].verdict == WORSE
    assert d["lpips_alex"].delta == pytest.approx(-0.1) and d["lpips_alex"].verdict == BETTER  # lower is better
    assert d["rfid"].delta == 0 and d["rfid"].verdict == EQUAL
    assert d["zipf_s"].verdict == UNKNOWN
    assert c.names == ("tok:v1", "tok:v2") and not c.warnings


def test_printed_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_fake(tmp_path / "a", model="tok:v1", suite="recon", metrics=A)
    write_fake(tmp_path / "b", model="tok:v2", suite="recon", metrics=B, protocol="center-crop")
    assert compare_cmd(str(tmp_path / "a"), str(tmp_path / "b")) == 0
    out = capsys.readouterr().out
    for text in ("PSNR", "+1.5", "+6.00%", "better", "worse", "LPIPS (alex)", "-0.1", "equal"):
        assert text in out, text
    assert "protocol differs ('tokbench-paper' vs 'center-crop')" in out


def test_sets_of_several_models_pair_by_model(tmp_path: Path) -> None:
    for model, psnr in (("x", 20.0), ("y", 22.0)):
        write_fake(tmp_path / "a", model=model, suite="recon", metrics={"psnr": psnr})
        write_fake(tmp_path / "b", model=model, suite="recon", metrics={"psnr": psnr - 1})
    c = compare_sets([tmp_path / "a"], [tmp_path / "b"])
    assert sorted((x.pair, x.delta) for x in c.deltas) == [("recon / ds @256 [x]", -1.0), ("recon / ds @256 [y]", -1.0)]


def test_nothing_to_compare_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_fake(tmp_path / "a", model="x", suite="recon", metrics={"psnr": 20.0})
    write_fake(tmp_path / "b", model="x", suite="face", metrics={"f_sim": 0.5})
    assert compare_cmd(str(tmp_path / "a"), str(tmp_path / "b")) == 2
    assert "nothing to compare" in capsys.readouterr().err
