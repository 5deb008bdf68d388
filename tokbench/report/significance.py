"""Paired tests between the two results of a pair (A vs B, baseline vs NEW), for ``compare`` and ``check``.

Instances are matched by identity (dataset, image, instance) through the estimands the results store
(``tokbench.result/3``); B - A per metric gets a paired-bootstrap interval and a p-value
(:mod:`tokbench.stats.paired`), and Holm's correction runs over every p-value of one command (the
family: all metrics of all pairs it tests). A metric with no estimand (older results, rFID / KID,
token statistics) gets a reason instead of a test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tokbench.report.collect import Entry
from tokbench.results import BadResult, read_instances
from tokbench.stats.intervals import IntervalSettings
from tokbench.stats.paired import PairedTest, Unmatched, holm, min_detectable, pair_strata, paired_test
from tokbench.stats.stored import stored_estimands

ALPHA = 0.05
CORRECTION = "holm"


@dataclass
class Tested:
    """One metric's paired test, Holm-adjusted p-value and minimum detectable difference."""

    test: PairedTest
    p_adjusted: float = 1.0
    alpha: float = ALPHA

    @property
    def significant(self) -> bool:
        return self.p_adjusted < self.alpha

    @property
    def mdd(self) -> float:
        return min_detectable(self.test.se, self.alpha)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.test.to_dict(),
            "p_adjusted": self.p_adjusted,
            "correction": CORRECTION,
            "alpha": self.alpha,
            "significant": self.significant,
            "min_detectable_difference": self.mdd,
        }


@dataclass
class PairTests:
    """Tests of the metrics of one pair; ``refused`` says why its instances could not be paired."""

    tested: dict[str, Tested] = field(default_factory=dict)
    untested: dict[str, str] = field(default_factory=dict)
    refused: str | None = None


def _records(e: Entry) -> list[dict[str, Any]] | str:
    if e.path is None:
        return "published rows have no per-instance records"
    try:
        return read_instances(e.path)
    except BadResult as ex:
        return str(ex)


def paired_tests_of(a: Entry, b: Entry, metrics: list[str], settings: IntervalSettings, alpha: float) -> PairTests:
    """Paired tests of ``metrics`` between ``a`` and ``b`` (not yet Holm-adjusted: see :func:`adjust`)."""
    out = PairTests()
    where_a, where_b = str(a.path or a.model), str(b.path or b.model)
    try:
        est_a, est_b = stored_estimands(a.result, where_a), stored_estimands(b.result, where_b)
    except ValueError as e:
        out.refused = str(e)
        return out
    wanted = [m for m in metrics if m in est_a and est_a[m] == est_b.get(m)]
    for m in metrics:
        if m not in wanted:
            out.untested[m] = (
                "the two results estimate it differently"
                if m in est_a and m in est_b
                else "no per-instance estimand (a result older than tokbench.result/3, or not a mean of records)"
            )
    if not wanted:
        return out
    records_a, records_b = _records(a), _records(b)
    for side, recs in (("A", records_a), ("B", records_b)):
        if isinstance(recs, str):
            out.untested.update(dict.fromkeys(wanted, f"{side}: {recs}"))
            return out
    assert not isinstance(records_a, str) and not isinstance(records_b, str)
    for m in wanted:
        est = est_a[m]
        try:
            strata_a, strata_b = pair_strata(est, records_a, records_b)
        except Unmatched as e:
            out.refused = f"{m}: {e}"
            return out
        if any(s.size == 0 for s in strata_a):
            out.untested[m] = "a group has no instance"
            continue
        out.tested[m] = Tested(paired_test(strata_a, strata_b, settings, est.scale), alpha=alpha)
    return out


def adjust(all_tests: list[PairTests]) -> None:
    """Holm-adjust every p-value of one command together."""
    flat = [t for pt in all_tests for t in pt.tested.values()]
    for t, p in zip(flat, holm([t.test.p_value for t in flat]), strict=True):
        t.p_adjusted = p
