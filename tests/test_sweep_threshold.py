"""The sweep's logistic fit against known curves, scipy's optimiser, and its own edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tokbench.sweep.threshold import Fit, fit, status, thresholds

SIZES = np.repeat(np.geomspace(3, 40, 12), 24)
STRATA = np.repeat(np.arange(12), 24)


def _draw(curve: Fit, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random(SIZES.size) < curve.rate(SIZES)).astype(float)


def test_fit_recovers_known_threshold_within_its_interval() -> None:
    truth = Fit(mid=math.log(9.0), slope=4.0, top=0.98)
    found = thresholds(SIZES, _draw(truth, 3), None, STRATA, resamples=200, seed=0)
    for level in ("50", "90"):
        t = truth.size_at(int(level) / 100)
        entry = found[f"model_{level}"]
        assert entry["low"] is not None and entry["high"] is not None
        assert entry["low"] <= t <= entry["high"], (level, t, entry)
        assert entry["high"] / entry["low"] < 2.0  # an interval that says something
    # and the interval excludes a clearly wrong answer
    wrong = 2 * (truth.size_at(0.5) or math.nan)
    assert not found["model_50"]["low"] <= wrong <= found["model_50"]["high"]


def test_fit_is_the_maximum_likelihood_scipy_finds() -> None:
    from scipy.optimize import minimize

    y = _draw(Fit(math.log(7.0), 3.0, 0.9), 5)
    ours = fit(SIZES, y)
    x = np.log(SIZES)

    def nll(t: np.ndarray) -> float:
        p = np.clip(t[2] / (1 + np.exp(-t[1] * (x - t[0]))), 1e-12, 1 - 1e-12)
        return -float(np.sum(y * np.log(p) + (1 - y) * np.log1p(-p)))

    ref = minimize(
        nll, [2.0, 2.0, 0.8], method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 20000}
    )
    assert nll(np.array([ours.mid, ours.slope, ours.top])) <= ref.fun + 1e-6
    assert ours.size_at(0.5) == pytest.approx(
        math.exp(ref.x[0] + math.log(0.5 / ref.x[2] / (1 - 0.5 / ref.x[2])) / ref.x[1]), rel=1e-3
    )


def test_a_curve_that_tops_out_never_reaches_90() -> None:
    found = thresholds(SIZES, _draw(Fit(math.log(8.0), 5.0, 0.7), 1), None, STRATA, resamples=100, seed=0)
    assert found["model_90"]["value"] is None and found["model_90"]["status"] == "never"
    assert found["model_90"]["high"] is None
    assert found["model_50"]["status"] == "ok"


def test_identical_outcomes_give_the_ceiling_and_ratio_one() -> None:
    y = _draw(Fit(math.log(10.0), 4.0, 0.95), 2)
    found = thresholds(SIZES, y, y.copy(), STRATA, resamples=100, seed=0)
    assert found["model_50"] == found["ceiling_50"]
    assert found["rel_50"]["value"] == 1.0 and found["rel_50"]["low"] == found["rel_50"]["high"] == 1.0


def test_worse_outcomes_give_a_larger_threshold_than_the_ceiling() -> None:
    ceiling = _draw(Fit(math.log(6.0), 4.0, 0.97), 4)
    model = _draw(Fit(math.log(18.0), 4.0, 0.97), 4)
    found = thresholds(SIZES, model, ceiling, STRATA, resamples=200, seed=0)
    assert found["rel_50"]["value"] == pytest.approx(3.0, rel=0.25)
    assert found["rel_50"]["low"] > 1.5
    assert found["model_50"]["low"] > found["ceiling_50"]["high"]


def test_status_and_bad_input() -> None:
    assert [status(v, 3, 40) for v in (None, 2.0, 41.0, 10.0)] == ["never", "below sweep", "above sweep", "ok"]
    all_ok = thresholds(SIZES, np.ones(SIZES.size), None, STRATA, resamples=0, seed=0)
    assert all_ok["model_50"]["status"] == "below sweep"
    with pytest.raises(ValueError, match="0 or 1"):
        fit(SIZES, np.full(SIZES.size, 0.5))
    with pytest.raises(ValueError, match="> 0"):
        fit(-SIZES, np.ones(SIZES.size))


def _exact(curve: Fit) -> np.ndarray:
    """Outcomes whose success count at each size is the curve's rate, rounded (no sampling noise)."""
    per = SIZES.size // 12
    counts = np.round(per * curve.rate(np.geomspace(3, 40, 12))).astype(int)
    return np.concatenate([np.r_[np.ones(k), np.zeros(per - k)] for k in counts])


def test_a_curve_still_rising_at_the_largest_size_is_not_reached_rather_than_never() -> None:
    rising = thresholds(SIZES, _exact(Fit(math.log(30.0), 4.0, 0.4)), None, STRATA, resamples=0, seed=0)
    flat = thresholds(SIZES, _exact(Fit(math.log(8.0), 5.0, 0.4)), None, STRATA, resamples=0, seed=0)
    assert rising["model_50"]["value"] is None and rising["model_50"]["status"] == "not reached within sweep"
    assert flat["model_50"]["value"] is None and flat["model_50"]["status"] == "never"
    assert status(None, 3, 40, Fit(math.log(30.0), 4.0, 0.4)) == "not reached within sweep"
    assert status(None, 3, 40, Fit(math.log(8.0), 5.0, 0.4)) == "never"
