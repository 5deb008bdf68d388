"""Intervals and paired tests against their definitions, scipy, and coverage over many seeds."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from tokbench.metrics.buckets import summarize
from tokbench.stats.estimand import Estimand, bucketed_estimands
from tokbench.stats.fid import fid_kid_intervals
from tokbench.stats.intervals import IntervalSettings, interval_of, wilson
from tokbench.stats.paired import Unmatched, holm, mcnemar, pair_strata, paired_test, sign_flip

FAST = IntervalSettings(resamples=499)


def _band(p: float, trials: int) -> float:
    """Three binomial standard errors of a rate ``p`` over ``trials``."""
    return 3 * math.sqrt(p * (1 - p) / trials)


def _coverage(draw, truth: float, seeds: int, settings: IntervalSettings = FAST) -> float:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(12345)
    hits = 0
    for s in range(seeds):
        found = interval_of(draw(rng), IntervalSettings(settings.method, 0.95, settings.resamples, s))
        assert not isinstance(found, str), found
        hits += found.low <= truth <= found.high
    return hits / seeds


def test_coverage_of_one_bernoulli_bucket() -> None:
    seeds = 600
    got = _coverage(lambda rng: [(rng.random(56) < 0.85).astype(float)], 0.85, seeds)
    assert abs(got - 0.95) <= _band(0.95, seeds), got


def test_coverage_of_bounded_scores() -> None:
    seeds = 200  # Beta(8, 2): skewed towards its bound, like T-NED or SSIM
    got = _coverage(lambda rng: [rng.beta(8, 2, 40)], 0.8, seeds)
    assert abs(got - 0.95) <= _band(0.95, seeds), got


def test_coverage_of_the_stratified_macro_mean() -> None:
    seeds, ps, ns = 200, (0.6, 0.8, 0.95), (30, 50, 80)

    def draw(rng: np.random.Generator) -> list[np.ndarray]:
        return [(rng.random(n) < p).astype(float) for p, n in zip(ps, ns, strict=True)]

    got = _coverage(draw, float(np.mean(ps)), seeds)
    assert abs(got - 0.95) <= _band(0.95, seeds), got


def test_wilson_matches_its_formula_and_all_correct_is_not_a_point() -> None:
    lo, hi = wilson(56, 56)
    z = stats.norm.ppf(0.975)
    assert lo == pytest.approx(1 / (1 + z * z / 56)) and hi == 1.0
    assert interval_of([np.ones(56)], FAST) and not isinstance(interval_of([np.ones(56)], FAST), str)


def test_no_interval_is_explained() -> None:
    assert "no instance" in str(interval_of([np.array([]), np.ones(3)], FAST))
    assert "single instance" in str(interval_of([np.array([0.5])], FAST))
    assert "equal" in str(interval_of([np.full(5, 0.3)], FAST))


def test_intervals_are_seeded() -> None:
    x = np.random.default_rng(0).random(30)
    assert interval_of([x], FAST) == interval_of([x], FAST)
    assert interval_of([x], FAST) != interval_of([x], IntervalSettings(resamples=499, seed=1))


def test_estimands_reproduce_summarize() -> None:
    rng = np.random.default_rng(3)
    records = [
        {"image_id": f"i{i}", "index": 0, "ratio": float(r), "acc": float(rng.random() < 0.7), "ned": rng.random()}
        for i, r in enumerate(rng.uniform(0.01, 0.1, 300))
    ]
    fields = {"t_acc": "acc", "t_ned": "ned"}
    summary = summarize(records, fields, (0.02, 0.03, 0.04), scale=100.0)
    for name, est in bucketed_estimands(fields, 100.0).items():
        assert est.point([{**r, "bucket": _bucket(r["ratio"])} for r in records]) == pytest.approx(
            summary["metrics"][name], rel=1e-12
        )


def _bucket(ratio: float) -> str:
    return "below" if ratio < 0.02 else "small" if ratio < 0.03 else "medium" if ratio < 0.04 else "large"


def test_estimand_round_trip_and_bad_input_named() -> None:
    est = Estimand("acc", (("small",), ("medium", "large")), scale=100.0, dataset="ic13")
    assert Estimand.from_dict(est.to_dict(), "x") == est
    with pytest.raises(ValueError, match=r"f\.json: 'groups'"):
        Estimand.from_dict({"field": "acc", "groups": [[]]}, "f.json")


def test_mcnemar_agrees_with_scipy_and_hand_formula() -> None:
    a = np.array([1] * 30 + [0] * 12 + [1] * 3 + [0] * 5, dtype=float)
    b = np.array([1] * 30 + [1] * 12 + [0] * 3 + [0] * 5, dtype=float)  # 3 worse, 12 better
    p, test = mcnemar(a, b)
    assert test == "mcnemar-exact" and p == pytest.approx(stats.binomtest(12, 15, 0.5).pvalue)
    a2, b2 = np.r_[np.ones(10), np.zeros(30)], np.r_[np.zeros(10), np.ones(30)]  # 10 worse, 30 better
    p2, test2 = mcnemar(a2, b2)
    assert test2 == "mcnemar-chi2" and p2 == pytest.approx(stats.chi2.sf((20 - 1) ** 2 / 40, 1))
    assert mcnemar(a, a) == (1.0, "mcnemar-exact")


def test_sign_flip_agrees_with_scipy_permutation_test() -> None:
    rng = np.random.default_rng(7)
    x, y = rng.random(11), rng.random(11) + 0.2
    p, test = sign_flip([y - x], 999, 0)
    ref = stats.permutation_test(
        (x, y), lambda u, v, axis: np.mean(v - u, axis=axis), permutation_type="samples", n_resamples=10**6
    )
    assert test == "sign-flip-exact" and p == pytest.approx(ref.pvalue, rel=1e-9)
    # beyond exact enumeration: Monte Carlo, within its own error of scipy's exact value
    x, y = rng.random(15), rng.random(15) + 0.1
    exact = stats.permutation_test(
        (x, y), lambda u, v, axis: np.mean(v - u, axis=axis), permutation_type="samples", n_resamples=10**6
    ).pvalue
    d = np.r_[y - x, np.zeros(5)]  # zero differences change nothing, but push the count past 16
    mc, test = sign_flip([d], 20000, 0)
    assert test == "sign-flip-exact" and mc == pytest.approx(exact, rel=1e-9)
    long = rng.random(40) - 0.4
    mc, test = sign_flip([long], 20000, 0)
    ref_p = stats.permutation_test(
        (np.zeros(40), long), lambda u, v, axis: np.mean(v - u, axis=axis), permutation_type="samples", rng=1
    ).pvalue
    assert test == "sign-flip" and abs(mc - ref_p) <= 4 * math.sqrt(ref_p * (1 - ref_p) / 9999) + 1e-3


def test_false_positive_rate_on_identical_models_is_at_alpha() -> None:
    rng = np.random.default_rng(11)
    trials, alpha = 400, 0.05
    rejected = {"sign-flip": 0, "mcnemar": 0}
    for s in range(trials):
        base = rng.beta(5, 2, 60)  # a per-instance difficulty both models share
        a, b = base + rng.normal(0, 0.05, 60), base + rng.normal(0, 0.05, 60)
        rejected["sign-flip"] += sign_flip([b - a], 499, s)[0] < alpha
        pa, pb = (rng.random(60) < base).astype(float), (rng.random(60) < base).astype(float)
        rejected["mcnemar"] += mcnemar(pa, pb)[0] < alpha
    assert rejected["sign-flip"] / trials <= alpha + _band(alpha, trials)
    assert rejected["sign-flip"] / trials >= alpha - _band(alpha, trials)
    assert rejected["mcnemar"] / trials <= alpha + _band(alpha, trials)  # exact McNemar is conservative


def test_holm_by_hand() -> None:
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # 2 x 0.5 caps at 1, and the order holds


def test_pairing_refuses_unmatched_instances_with_counts() -> None:
    est = Estimand("v")
    a = [{"image_id": f"i{k}", "index": 0, "v": 1.0} for k in range(5)]
    b = [{"image_id": f"i{k}", "index": 0, "v": 0.5} for k in range(1, 7)]
    with pytest.raises(Unmatched, match="1 only in A, 2 only in B, 4 in both"):
        pair_strata(est, a, b)
    sa, sb = pair_strata(est, a, list(reversed(a)))
    assert np.array_equal(sa[0], sb[0])


def test_paired_difference_interval_holds_the_difference() -> None:
    rng = np.random.default_rng(5)
    a = [rng.random(40), rng.random(30)]
    b = [x + 0.3 + rng.normal(0, 0.1, x.size) for x in a]
    t = paired_test(a, b, FAST, 100.0)
    assert t.interval is not None and t.interval.low <= t.difference <= t.interval.high
    assert t.difference == pytest.approx(100 * np.mean([(y - x).mean() for x, y in zip(a, b, strict=True)]))
    assert t.test == "sign-flip" and t.p_value < 0.01


def test_fid_interval_over_cached_features() -> None:
    from tokbench.metrics.fid import fid_from_features

    rng = np.random.default_rng(0)
    orig = rng.normal(size=(40, 64))
    recon = orig + rng.normal(0, 0.5, size=(40, 64))
    found, how = fid_kid_intervals(orig, recon, FAST, {"subsets": 10, "subset_size": 1000, "seed": 0})
    value = fid_from_features(orig, recon)
    rfid = found["rfid"]
    assert not isinstance(rfid, str) and rfid.low <= value <= rfid.high and rfid.method == "percentile-bias-shifted"
    assert how["resamples"] == 200 and how["unit"] == "image"


def test_exhaustive_sign_flip_definition() -> None:
    d = np.array([0.3, -0.1, 0.25, 0.05])
    flips = [abs(np.dot(s, d)) >= abs(d.sum()) - 1e-12 for s in itertools.product((1, -1), repeat=4)]
    assert sign_flip([d], 100, 0)[0] == pytest.approx(np.mean(flips))
