"""``tokbench check``: the release gate. Compare NEW against a baseline, metric by metric.

A metric regresses when its drop in the bad direction exceeds its tolerance. Arithmetic is
decimal on the numbers as stored (``repr`` of the float), so a drop exactly equal to the
tolerance passes and anything more fails, free of binary rounding (0.93 - 0.925 is exactly
0.005). Outcome: 0 nothing regressed, 1 something regressed, 2 the sets cannot be compared
(different protocol / dataset / suite options, missing metrics, ambiguous pairs, unreadable files).

Significance (default): where both results hold per-instance records (``tokbench.result/3``), every
gated metric gets a paired test (:mod:`tokbench.report.significance`, Holm-adjusted over all of them),
and a drop beyond its tolerance fails only when it is also significant at ``alpha``; one that is not is
``inconclusive`` (it passes, with the minimum detectable difference at this sample size). Without
records, or with ``tolerance_only``, the tolerance alone decides, as before (a note says which).

Directions and default tolerances are the metrics' declarations in the results (``report.metrics``);
where baseline and NEW declare a metric differently, the baseline's holds, with a note.

A gated metric with a number on one side only cannot be gated, so it is a problem (exit 2): null
or absent in NEW, or null in the baseline. One absent from the baseline file altogether (a metric
the baseline's tokbench did not compute) is listed as ``new`` and not gated. Non-finite numbers
never get this far: ``read_result`` refuses files that hold them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from tokbench.errors import ConfigError, ResultError
from tokbench.metric_spec import HIGHER, LOWER, MetricSpec, Tolerance, parse_tolerance
from tokbench.report.collect import Entry, differences
from tokbench.report.metrics import SpecBook, book_of
from tokbench.report.pairing import Pairing, key_of, label_of, load_side, pair
from tokbench.report.significance import ALPHA, PairTests, Tested, adjust, paired_tests_of
from tokbench.stats.intervals import IntervalSettings

OK, IMPROVED, REGRESSED, SAME, INFO, NEW_METRIC = "ok", "improved", "REGRESSED", "same", "not gated", "new"
INCONCLUSIVE = "inconclusive"
INCONCLUSIVE_TEXT = "inconclusive at this sample size"


class GateError(ResultError):
    """Bad gate arguments (an unparsable or unknown ``--max-drop``)."""


def parse_overrides(pairs: list[str]) -> dict[str, Tolerance]:
    """``["t_acc=1", "rfid=5%"]`` -> tolerances by metric."""
    out = {}
    for p in pairs:
        name, sep, value = p.partition("=")
        if not sep or not name.strip():
            raise GateError(f"--max-drop {p!r} must look like METRIC=VALUE (e.g. t_acc=1.0 or rfid=5%)")
        try:
            out[name.strip()] = parse_tolerance(value)
        except ConfigError as e:
            raise GateError(f"--max-drop {p!r}: {e}") from None
    return out


@dataclass
class Row:
    pair: str
    metric: str
    baseline: float | None
    new: float | None
    tolerance: str
    status: str
    delta: Decimal | None = None
    drop: Decimal | None = None
    tested: Tested | None = None  # the paired test of NEW - baseline, where records allow one


@dataclass
class GateResult:
    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # why the sets cannot be compared
    notes: list[str] = field(default_factory=list)
    pairs: int = 0
    book: SpecBook = field(default_factory=SpecBook)  # how each metric reads (label, direction)

    @property
    def regressions(self) -> list[Row]:
        return [r for r in self.rows if r.status == REGRESSED]

    @property
    def exit_code(self) -> int:
        if self.problems:
            return 2
        return 1 if self.regressions else 0


def _dec(v: Any) -> Decimal | None:
    """The stored number as a decimal; None for null, non-numbers and non-finite values."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        if not math.isfinite(v):
            return None
    except OverflowError:  # an int beyond the float range
        return None
    return Decimal(repr(v))


def compare_metric(label: str, s: MetricSpec, old: Any, new: Any, tol: Tolerance | None) -> Row:
    """One metric's verdict. ``old``/``new`` are numbers (both present)."""
    metric = s.name
    a, b = _dec(old), _dec(new)
    assert a is not None and b is not None
    delta = b - a
    if s.direction == HIGHER:
        drop = -delta
    elif s.direction == LOWER:
        drop = delta
    else:
        drop = abs(delta)  # unknown direction: any change counts against the tolerance
    if tol is None:
        status = SAME if delta == 0 else INFO
    elif drop > tol.allowed(a):
        status = REGRESSED
    elif delta == 0:
        status = SAME
    elif s.direction in (HIGHER, LOWER) and drop < 0:
        status = IMPROVED
    else:
        status = OK
    return Row(label, metric, float(old), float(new), tol.text if tol else "–", status, delta, drop)


def check_pair(label: str, old: Entry, new: Entry, overrides: dict[str, Tolerance], out: GateResult) -> None:
    """Every metric of one pair, read through ``out.book``."""
    diffs = differences(old, new)
    if diffs:
        aspect, va, vb = diffs[0]
        more = f" (and {len(diffs) - 1} more)" if len(diffs) > 1 else ""
        out.problems.append(
            f"{label}: {aspect} differs: {va!r} (baseline {old.where}) vs {vb!r} (new {new.where}){more}"
        )
        return
    for metric in sorted(set(old.metrics) | set(new.metrics)):
        a, b = old.metrics.get(metric), new.metrics.get(metric)
        s = out.book.spec(metric)
        tol = overrides.get(metric)
        if tol is None and s.tolerance is not None:
            tol = parse_tolerance(s.tolerance)
        if _dec(a) is None and _dec(b) is None:
            continue
        if _dec(b) is None:
            state = "null" if metric in new.metrics else "missing"
            if tol is not None:
                out.problems.append(
                    f"{label}: metric {metric} is {state} in the new result ({new.where}) "
                    f"but {a!r} in the baseline ({old.where})"
                )
            else:
                out.notes.append(f"{label}: {metric} is {state} in the new result (not gated)")
            continue
        if _dec(a) is None:
            if tol is not None and metric in old.metrics:
                out.problems.append(
                    f"{label}: gated metric {metric} is null in the baseline ({old.where}) "
                    f"but {b!r} in the new result ({new.where}): nothing to gate against; "
                    "refresh the baseline"
                )
                continue
            if tol is not None:
                out.notes.append(f"{label}: {metric} is not in the baseline ({old.where}): listed, not gated")
            out.rows.append(Row(label, metric, None, float(cast(float, b)), tol.text if tol else "–", NEW_METRIC))
            continue
        out.rows.append(compare_metric(label, s, a, b, tol))


def run_check(
    new: list[str | Path],
    baseline: list[str | Path],
    max_drop: list[str],
    tolerance_only: bool = False,
    alpha: float = ALPHA,
) -> GateResult:
    """Compare every paired result; reasons to refuse go to ``problems``."""
    overrides = parse_overrides(max_drop)
    out = GateResult()
    new_entries = load_side(new, out.notes)
    old_entries = load_side(baseline, out.notes)
    if not new_entries:
        out.problems.append(f"no result files in NEW ({', '.join(map(str, new))})")
    if not old_entries:
        out.problems.append(f"no result files in the baseline ({', '.join(map(str, baseline))})")
    out.book = book_of(old_entries + new_entries)  # the baseline first: its declarations hold
    out.notes += out.book.notes
    p: Pairing = pair(new_entries, old_entries, ("NEW", "baseline"))
    out.problems += p.ambiguous
    unmatched_new = list(p.only_a)
    for e in p.only_b:
        twin = next((n for n in unmatched_new if n.suite == e.suite), None)
        if twin is None:
            out.problems.append(f"{label_of(key_of(e))}: in the baseline ({e.where}) but not in NEW")
            continue
        unmatched_new.remove(twin)
        what = [
            f"{name} differs: {a!r} (baseline) vs {b!r} (new)"
            for name, a, b in (("dataset", e.dataset, twin.dataset), ("resolution", e.resolution, twin.resolution))
            if a != b
        ]
        out.problems.append(f"{e.suite}: {'; '.join(what)} ({e.where} vs {twin.where})")
    for e in unmatched_new:
        out.notes.append(f"{label_of(key_of(e))}: no baseline result, not checked ({e.where})")
    if new_entries and old_entries and not p.pairs and not p.ambiguous:
        out.problems.append("no result in NEW has a baseline with the same suite, dataset and resolution")
    for label, n, o in p.pairs:
        check_pair(label, o, n, overrides, out)
    if not tolerance_only:
        _significance(p, out, alpha)
    out.pairs = len(p.pairs)
    known = {m for _, n, o in p.pairs for m in (*n.metrics, *o.metrics)}
    for metric in overrides:
        if p.pairs and metric not in known:
            out.problems.append(
                f"--max-drop names metric {metric!r}, which no paired result has "
                f"(known: {', '.join(sorted(known)[:20])})"
            )
    return out


def _significance(p: Pairing, out: GateResult, alpha: float) -> None:
    """Test every gated metric of every pair (baseline = A, NEW = B), Holm over all of them; a regression
    that is not significant becomes inconclusive."""
    found: dict[str, PairTests] = {}
    for label, n, o in p.pairs:
        gated = [r.metric for r in out.rows if r.pair == label and r.tolerance != "–" and r.baseline is not None]
        if not gated:
            continue
        tests = paired_tests_of(o, n, gated, IntervalSettings(), alpha)
        if tests.refused:
            out.problems.append(f"{label}: cannot pair the instances of baseline and NEW: {tests.refused}")
        found[label] = tests
    adjust(list(found.values()))
    untested: set[str] = set()
    for r in out.rows:
        pair_tests = found.get(r.pair)
        if pair_tests is None:
            continue
        r.tested = pair_tests.tested.get(r.metric)
        if r.status != REGRESSED:
            continue
        if r.tested is None:
            reason = pair_tests.untested.get(r.metric, pair_tests.refused or "not tested")
            if reason not in untested:
                untested.add(reason)
                out.notes.append(f"{r.pair}: significance not testable ({reason}): the tolerance alone decides")
        elif not r.tested.significant:
            r.status = INCONCLUSIVE
