"""Paired comparisons of two models on the same instances: the difference with a paired-bootstrap
interval, a p-value from a test suited to the values, Holm's correction across metrics, and the
minimum detectable difference.

Tests (the one used is recorded beside each p-value):

- ``mcnemar-exact`` / ``mcnemar-chi2``: an exact-match rate of one group (0/1 values on both sides):
  McNemar's test on the discordant pairs, exact binomial below 25 discordant pairs, else the chi-square
  with continuity correction (Edwards).
- ``sign-flip`` / ``sign-flip-exact``: anything else (bounded scores, a macro Mean over buckets): under
  "no difference" each pair's two values are exchangeable, so the sign of each difference is a fair
  coin; the statistic is the estimand's own weighted mean of differences. Exact enumeration up to 16
  non-zero differences, else ``resamples`` seeded random flips with p = (1 + hits) / (1 + resamples).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tokbench.stats.estimand import Estimand, InstanceKey, instance_key
from tokbench.stats.intervals import Interval, IntervalSettings, interval_of, is_binary

MCNEMAR_EXACT_BELOW = 25
SIGN_FLIP_EXACT_UP_TO = 16
POWER = 0.8  # the minimum detectable difference is found with this power


class Unmatched(ValueError):
    """Two record sets that do not hold the same instances: the message gives the counts."""


@dataclass(frozen=True)
class PairedTest:
    """B - A for one metric: the difference, its interval (or why none), p-value, test and SE."""

    difference: float
    interval: Interval | None
    interval_note: str | None
    p_value: float
    test: str
    n: int
    se: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "difference": self.difference,
            "interval": None if self.interval is None else self.interval.to_list(),
            "interval_method": None if self.interval is None else self.interval.method,
            "interval_note": self.interval_note,
            "p_value": self.p_value,
            "test": self.test,
            "n": self.n,
            "se": self.se,
        }


def pair_strata(
    est: Estimand, records_a: Sequence[Mapping[str, Any]], records_b: Sequence[Mapping[str, Any]]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per group, A's and B's values of the same instances in the same order; :class:`Unmatched` when
    the instance sets (or an instance's group) differ, naming the counts."""
    sides: list[dict[InstanceKey, tuple[int, float]]] = []
    for name, records in (("A", records_a), ("B", records_b)):
        keyed: dict[InstanceKey, tuple[int, float]] = {}
        for g, group in enumerate(est.selected(records)):
            for r in group:
                key = instance_key(r)
                if key in keyed:
                    raise Unmatched(f"{name} holds instance {key} twice")
                keyed[key] = (g, float(r[est.field]))
        sides.append(keyed)
    a, b = sides
    only_a, only_b = a.keys() - b.keys(), b.keys() - a.keys()
    if only_a or only_b:
        raise Unmatched(
            f"instances differ: {len(only_a)} only in A, {len(only_b)} only in B, {len(a.keys() & b.keys())} in both"
        )
    moved = sum(a[k][0] != b[k][0] for k in a)
    if moved:
        raise Unmatched(f"{moved} instance(s) fall in different buckets in A and B")
    n_groups = len(est.groups) if est.groups is not None else 1
    keys = sorted(a)
    out_a = [np.array([a[k][1] for k in keys if a[k][0] == g]) for g in range(n_groups)]
    out_b = [np.array([b[k][1] for k in keys if a[k][0] == g]) for g in range(n_groups)]
    return out_a, out_b


def paired_test(
    strata_a: Sequence[np.ndarray], strata_b: Sequence[np.ndarray], settings: IntervalSettings, scale: float = 1.0
) -> PairedTest:
    """B - A on paired strata (from :func:`pair_strata`)."""
    diffs = [b - a for a, b in zip(strata_a, strata_b, strict=True)]
    if not diffs or any(d.size == 0 for d in diffs):
        raise ValueError("a group has no paired instance")
    difference = scale * float(np.mean([d.mean() for d in diffs]))
    found = interval_of(diffs, settings, scale)
    interval, note = (None, found) if isinstance(found, str) else (found, None)
    if len(diffs) == 1 and is_binary(strata_a[0]) and is_binary(strata_b[0]):
        p, test = mcnemar(strata_a[0], strata_b[0])
    else:
        p, test = sign_flip(diffs, settings.resamples, settings.seed)
    return PairedTest(difference, interval, note, p, test, sum(d.size for d in diffs), standard_error(diffs, scale))


def mcnemar(a: np.ndarray, b: np.ndarray) -> tuple[float, str]:
    """Two-sided McNemar p-value of paired 0/1 outcomes, and which form was used."""
    from scipy.stats import binomtest, chi2

    worse, better = int(np.sum((a == 1) & (b == 0))), int(np.sum((a == 0) & (b == 1)))
    n = worse + better
    if n == 0:
        return 1.0, "mcnemar-exact"
    if n < MCNEMAR_EXACT_BELOW:
        return float(binomtest(better, n, 0.5).pvalue), "mcnemar-exact"
    stat = (abs(worse - better) - 1) ** 2 / n
    return float(chi2.sf(stat, 1)), "mcnemar-chi2"


def sign_flip(diffs: Sequence[np.ndarray], resamples: int, seed: int) -> tuple[float, str]:
    """Two-sided p-value of the paired sign-flip permutation test of the unweighted mean over groups of
    the group means of ``diffs``."""
    weights = np.concatenate([np.full(d.size, 1.0 / (len(diffs) * d.size)) for d in diffs])
    terms = weights * np.concatenate(diffs)
    terms = terms[terms != 0]  # a zero difference is the same under either sign
    if terms.size == 0:
        return 1.0, "sign-flip-exact"
    observed = abs(float(terms.sum()))
    # flipped sums equal to the observed one up to rounding count as "as extreme" (scipy does the same)
    tol = 1e-12 * max(observed, float(np.abs(terms).sum()))
    if terms.size <= SIGN_FLIP_EXACT_UP_TO:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=terms.size)))
        return float(np.mean(np.abs(signs @ terms) >= observed - tol)), "sign-flip-exact"
    rng = np.random.default_rng(seed)
    hits, done = 0, 0
    batch = max(1, 2_000_000 // terms.size)
    while done < resamples:
        k = min(batch, resamples - done)
        signs = rng.integers(0, 2, size=(k, terms.size)) * 2.0 - 1.0
        hits += int(np.sum(np.abs(signs @ terms) >= observed - tol))
        done += k
    return (1 + hits) / (1 + resamples), "sign-flip"


def standard_error(diffs: Sequence[np.ndarray], scale: float = 1.0) -> float:
    """Standard error of the mean over groups of group mean differences (groups independent)."""
    var = sum(float(np.var(d, ddof=1)) / d.size if d.size > 1 else 0.0 for d in diffs)
    return abs(scale) * math.sqrt(var) / len(diffs)


def min_detectable(se: float, alpha: float, power: float = POWER) -> float:
    """The smallest true difference a two-sided test at ``alpha`` finds with ``power``, by the normal
    approximation: (z_{1-alpha/2} + z_power) x SE."""
    from scipy.stats import norm

    return float((norm.ppf(1 - alpha / 2) + norm.ppf(power)) * se)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error rate), in the input order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
