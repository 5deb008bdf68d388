"""Rate–distortion arithmetic: Bjøntegaard known answers, the envelope, equivalent rates, grid choices, rates."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tokbench.errors import ConfigError
from tokbench.rd.bjontegaard import bd_metric, bd_rate
from tokbench.rd.command import split_models
from tokbench.rd.equivalent import envelope, equivalent_rate
from tokbench.rd.grid import Measured, choose, log_grid, parse_grid
from tokbench.rd.rate import model_rates, split_latent_bits

RATES = [0.05, 0.1, 0.2, 0.4, 0.8]
PSNR = [24.0, 27.5, 30.0, 33.2, 35.0]


def test_bd_rate_identical_curves_is_zero() -> None:
    d = bd_rate((RATES, PSNR), (RATES, PSNR))
    assert d.value == pytest.approx(0.0, abs=1e-12)
    assert not d.crossing
    assert bd_metric((RATES, PSNR), (RATES, PSNR)).value == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("factor", [0.5, 1.3, 2.0])
def test_bd_rate_constant_rate_factor_gives_that_factor(factor: float) -> None:
    d = bd_rate((RATES, PSNR), ([r * factor for r in RATES], PSNR))
    assert d.value == pytest.approx((factor - 1) * 100, rel=1e-12)
    assert d.overlap == pytest.approx((PSNR[0], PSNR[-1]))


def test_bd_rate_lower_is_better_metric() -> None:
    fid = [40.0, 25.0, 15.0, 9.0, 6.0]
    d = bd_rate((RATES, fid), ([r * 2 for r in RATES], fid), higher_is_better=False)
    assert d.value == pytest.approx(100.0, rel=1e-12)


def test_bd_metric_constant_offset() -> None:
    d = bd_metric((RATES, PSNR), (RATES, [p + 1.5 for p in PSNR]))
    assert d.value == pytest.approx(1.5, rel=1e-12)


def test_bd_partial_overlap_uses_common_range_only() -> None:
    # the test curve covers 27.5..35 only; with log-rate linear in the metric (PCHIP exact on lines)
    # the mean log-rate difference over 27.5..35 is known in closed form
    m = np.linspace(20, 35, 7)
    ref = ([math.exp(0.2 * x - 6) for x in m], list(m))
    mt = np.linspace(27.5, 40, 6)
    test = ([math.exp(0.25 * x - 7) for x in mt], list(mt))
    d = bd_rate(ref, test)
    lo, hi = 27.5, 35.0
    mean = ((0.25 - 0.2) * (hi**2 - lo**2) / 2 - 1 * (hi - lo)) / (hi - lo)  # integral of (0.05 m - 1)
    assert d.overlap == pytest.approx((lo, hi))
    assert d.value == pytest.approx((math.exp(mean) - 1) * 100, rel=1e-9)


def test_bd_crossing_curves_are_flagged_with_the_crossing_point() -> None:
    # log-rates linear in the metric, crossing at m = 30 with opposite slopes around it: the mean
    # log-rate difference is 0 (BD-rate 0 %) although the test curve is worse below 30 and better above
    m = list(np.linspace(20, 40, 9))
    ref = ([math.exp(0.1 * x - 5) for x in m], m)
    test = ([math.exp(0.1 * x - 5 + 0.02 * (x - 30)) for x in m], m)
    d = bd_rate(ref, test)
    assert d.value == pytest.approx(0.0, abs=1e-9)
    assert d.crossing
    assert len(d.crossings) == 1 and d.crossings[0] == pytest.approx(30.0, abs=0.1)
    assert not bd_rate(ref, ref).crossing


def test_bd_needs_two_points_and_overlap() -> None:
    assert bd_rate(([0.1], [30.0]), (RATES, PSNR)).value is None
    far = bd_rate((RATES, PSNR), (RATES, [p + 50 for p in PSNR]))
    assert far.value is None and "no metric range" in (far.reason or "")


def test_envelope_drops_points_not_better_than_cheaper_ones() -> None:
    env = envelope([0.1, 0.2, 0.3, 0.4, 0.4], [30.0, 29.0, 31.0, 31.0, 32.0])
    assert env == [(0.1, 30.0), (0.3, 31.0), (0.4, 32.0)]
    assert envelope([0.1, 0.2], [9.0, 5.0], higher_is_better=False) == [(0.1, 9.0), (0.2, 5.0)]
    with pytest.raises(ValueError, match="not a rate-distortion point"):
        envelope([0.0], [1.0])


def test_equivalent_rate_is_exact_on_a_log_linear_curve() -> None:
    # v = 10 + 4 ln r: linear in log-bpp, so interpolation on the envelope is exact anywhere inside
    rates = [0.02, 0.05, 0.13, 0.4, 1.0]
    env = envelope(rates, [10 + 4 * math.log(r) for r in rates])
    for r in (0.02, 0.031, 0.07, 0.2, 0.77, 1.0):
        eq = equivalent_rate(env, 10 + 4 * math.log(r))
        assert eq.status == "within" and eq.bpp == pytest.approx(r, rel=1e-12)
    saving = equivalent_rate(env, 10 + 4 * math.log(0.2)).saving(0.05)
    assert saving is not None and saving[0] == "=" and saving[1] == pytest.approx(4.0)


def test_equivalent_rate_beyond_the_curve_is_a_bound_never_extrapolated() -> None:
    env = envelope([0.1, 0.4], [20.0, 26.0])
    low = equivalent_rate(env, 18.0)
    high = equivalent_rate(env, 40.0)
    assert (low.status, low.bpp, low.bound) == ("below", None, 0.1)
    assert (high.status, high.bpp, high.bound) == ("above", None, 0.4)
    assert low.saving(0.2) == ("<", 0.5)
    assert high.saving(0.2) == (">", 2.0)
    # a lower-is-better metric (rFID): a higher score is worse, so it lies below the curve
    fid_env = envelope([0.1, 0.4], [30.0, 10.0], higher_is_better=False)
    assert equivalent_rate(fid_env, 50.0, higher_is_better=False).status == "below"
    assert equivalent_rate(fid_env, 20.0, higher_is_better=False).status == "within"


def test_grid_choice_keeps_to_the_rate_and_records_unreachable_targets() -> None:
    pts = [
        Measured(0.1, 1, 0.35, 30.0),  # over budget: not a candidate however good
        Measured(0.1, 2, 0.098, 24.0),
        Measured(0.1, 4, 0.095, 25.0),
        Measured(0.03, 1, 0.2, 22.0),
        Measured(0.03, 4, 0.05, 21.0),
    ]
    got = choose(pts, higher_is_better=True)
    assert [g["target_bpp"] for g in got] == [0.03, 0.1]
    assert got[0]["status"] == "unreachable" and got[0]["chosen"] is None
    assert got[1]["chosen"] == {"down": 4, "bpp": 0.095, "value": 25.0}
    assert [c["keeps_to_target"] for c in got[1]["candidates"]] == [False, True, True]


def test_grid_parsing() -> None:
    assert log_grid(0.01, 1.0, 4) == [0.01, 0.0178, 0.0316, 0.0562, 0.1, 0.178, 0.316, 0.562, 1.0]
    assert parse_grid("0.3,0.1") == [0.1, 0.3]
    with pytest.raises(ConfigError, match="--grid"):
        parse_grid("0.1,-1")


def test_model_rates_say_where_they_come_from() -> None:
    lang = {"rate.bpp_nominal": 0.125, "rate.bpp_entropy": 0.1}
    rates = model_rates("discrete", 0.125, lang, None)
    assert rates["nominal"]["bpp"] == 0.125 and "adapter" in rates["nominal"]["source"]
    assert rates["entropy"]["bpp"] == 0.1
    assert model_rates("continuous", None, None, None) == {}
    assert model_rates("continuous", None, None, 0.5)["declared"]["bpp"] == 0.5
    assert model_rates("discrete", None, lang, None)["nominal"]["source"].startswith("language")


def test_latent_bits_is_taken_off_the_model_spec() -> None:
    assert split_latent_bits("vae:variant=f8,latent_bits=16") == ("vae:variant=f8", 16)
    assert split_latent_bits("my.py:C:latent_bits=8") == ("my.py:C", 8)
    assert split_latent_bits("kmeans-vq:K=256") == ("kmeans-vq:K=256", None)
    with pytest.raises(ConfigError, match="latent_bits"):
        split_latent_bits("vae:latent_bits=x")


def test_model_list_splits_on_model_names_not_options() -> None:
    got = split_models("kmeans-vq:K=256,p=8,kmeans-vq:K=1024,identity,jpeg:bpp=0.1,down=4")
    assert got == ["kmeans-vq:K=256,p=8", "kmeans-vq:K=1024", "identity", "jpeg:bpp=0.1,down=4"]


def _doc(spec: str) -> dict[str, object]:
    env = [[0.1, 20.0], [0.4, 26.0]]
    eq = {"status": "within", "bpp": 0.2, "bound": None, "saving": {"relation": "=", "ratio": 1.6}}
    block = {
        "label": "PSNR",
        "codecs": {"jpeg": {"curve": env, "envelope": env}},
        "models": [
            {"spec": spec, "value": 23.0, "rates": {"nominal": {"bpp": 0.125}}, "equivalent": {"nominal": {"jpeg": eq}}}
        ],
    }
    return {
        "schema": "tokbench.rd/1",
        "config": {"dataset": "samples"},
        "sections": [{"resolution": 256, "metrics": {"psnr": block}}],
    }


def test_leaderboard_section_escapes_names_and_refuses_other_files(tmp_path: Path) -> None:
    import json

    from tokbench.rd import board
    from tokbench.report.collect import CollectError

    hostile = "x.py:T:a=|<b>=1"
    (tmp_path / "a.rd.json").write_text(json.dumps(_doc(hostile)))
    docs = board.load([tmp_path])
    md = board.markdown(docs)
    assert "0.2 bpp (1.6×)" in md and "\\|" in md and "|<b>" not in md
    assert "&lt;b&gt;" in board.html(docs) and "<b>=" not in board.html(docs)
    assert (
        board.csv_files(docs)["rd-256.csv"]
        .splitlines()[1]
        .startswith("x.py:T:a=|<b>=1,nominal,0.125,psnr,23.0,jpeg,within")
    )
    (tmp_path / "b.rd.json").write_text("{}")
    with pytest.raises(CollectError, match="b.rd.json: not a tokbench rd file"):
        board.load([tmp_path])
