"""``tokbench compare A B``: two result sets side by side, with deltas coloured by better / worse.

Where both results hold per-instance records (``tokbench.result/3``), each delta gets a paired-bootstrap
interval, a p-value (McNemar or sign-flip, :mod:`tokbench.stats.paired`) Holm-adjusted over every test
of the command, and the verdict better / worse / inconclusive at ``alpha``; elsewhere the verdict is the
sign of the delta, as before. Instance sets that do not match are refused with their counts.

Names from result files reach the terminal only as Rich ``Text`` (``escape.rich_text``): never parsed
as markup, control characters shown as escapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokbench.metric_spec import HIGHER, LOWER, MetricSpec
from tokbench.report.collect import differences
from tokbench.report.escape import rich_text
from tokbench.report.metrics import SpecBook, book_of
from tokbench.report.pairing import key_of, label_of, load_side, pair
from tokbench.report.significance import ALPHA, CORRECTION, PairTests, Tested, adjust, paired_tests_of
from tokbench.stats.intervals import IntervalSettings

BETTER, WORSE, EQUAL, UNKNOWN, INCONCLUSIVE = "better", "worse", "equal", "?", "inconclusive"


@dataclass
class Delta:
    pair: str
    spec: MetricSpec
    a: float | None
    b: float | None
    tested: Tested | None = None
    untested: str | None = None

    @property
    def metric(self) -> str:
        return self.spec.name

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def percent(self) -> float | None:
        d = self.delta
        return None if d is None or not self.a else 100.0 * d / abs(self.a)

    @property
    def verdict(self) -> str:
        """Whether B is better than A for this metric."""
        d = self.delta
        if d is None:
            return UNKNOWN
        if d == 0:
            return EQUAL
        if self.tested is not None and not self.tested.significant:
            return INCONCLUSIVE
        direction = self.spec.direction
        if direction == HIGHER:
            return BETTER if d > 0 else WORSE
        if direction == LOWER:
            return BETTER if d < 0 else WORSE
        return UNKNOWN


@dataclass
class Comparison:
    deltas: list[Delta] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    names: tuple[str, str] = ("A", "B")
    refused: list[str] = field(default_factory=list)  # pairs whose instances do not match
    stats: dict[str, Any] = field(default_factory=dict)  # alpha, correction, resamples, seed


# the fid suite's options that make an rFID another quantity (variant, preprocessing, reference statistics)
_UNLIKE_RFID = ("fid option variant", "fid option preprocess", "fid option reference")


def _num(v: object) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v else None


def compare_sets(
    a: list[str | Path], b: list[str | Path], alpha: float = ALPHA, resamples: int = 2000, seed: int = 0
) -> Comparison:
    settings = IntervalSettings(resamples=resamples, seed=seed)
    out = Comparison(stats={"alpha": alpha, "correction": CORRECTION, **settings.to_dict()})
    tests: list[PairTests] = []
    left, right = load_side(a, out.notes), load_side(b, out.notes)
    book: SpecBook = book_of(left + right)  # A first: its declarations hold where the two disagree
    out.notes += book.notes
    p = pair(left, right, ("A", "B"), by_model=True)
    out.names = (", ".join(sorted({e.model for e in left})) or "A", ", ".join(sorted({e.model for e in right})) or "B")
    for e in p.only_a:
        out.notes.append(f"only in A: {label_of(key_of(e))} ({e.where})")
    for e in p.only_b:
        out.notes.append(f"only in B: {label_of(key_of(e))} ({e.where})")
    for label, x, y in p.pairs:
        unlike = differences(x, y)
        rfid = [f"{k} {a!r} vs {b!r}" for k, a, b in unlike if k in _UNLIKE_RFID]
        if rfid:  # two rFIDs made another way are not one number apart (docs/fid.md)
            out.refused.append(f"{label}: rFIDs made differently ({'; '.join(rfid)})")
            continue
        for aspect, in_a, in_b in unlike:
            out.warnings.append(f"{label}: {aspect} differs ({in_a!r} vs {in_b!r}); deltas may not be meaningful")
        both = sorted(set(x.metrics) | set(y.metrics), key=book.order_key)
        found = paired_tests_of(x, y, [m for m in both if _num(x.metrics.get(m)) is not None], settings, alpha)
        if found.refused:
            out.refused.append(f"{label}: {found.refused}")
            continue
        tests.append(found)
        for metric in both:
            va, vb = _num(x.metrics.get(metric)), _num(y.metrics.get(metric))
            if va is not None or vb is not None:
                tested = found.tested.get(metric)
                out.deltas.append(Delta(label, book.spec(metric), va, vb, tested, found.untested.get(metric)))
    adjust(tests)
    return out


def print_comparison(c: Comparison) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if Console().is_terminal else 160, highlight=False)
    table = Table(title=rich_text(f"A = {c.names[0]}   B = {c.names[1]}"))
    numeric = ("A", "B", "Δ (B−A)", "Δ %", "95 % CI of Δ", "p (Holm)")
    for col in ("result", "metric", "", *numeric, "test", "B is"):
        table.add_column(col, justify="right" if col in numeric else "left")
    style = {BETTER: "green", WORSE: "red", EQUAL: "dim", UNKNOWN: "", INCONCLUSIVE: "yellow"}
    for d in c.deltas:
        s = d.spec
        delta = "–" if d.delta is None else f"{d.delta:+.4g}"
        pct = "–" if d.percent is None else f"{d.percent:+.2f}%"
        t = d.tested
        iv = None if t is None else t.test.interval
        ci = "–" if iv is None else f"[{iv.low:+.4g}, {iv.high:+.4g}]"
        p = "–" if t is None else f"{t.p_adjusted:.3g}"
        test = "–" if t is None else t.test.test
        cells = (d.pair, s.label, s.arrow or "?", s.format(d.a), s.format(d.b), delta, pct, ci, p, test, d.verdict)
        table.add_row(*(rich_text(x) for x in cells), style=style[d.verdict])
    console.print(table)
    if c.stats and any(d.tested for d in c.deltas):
        console.print(
            rich_text(
                f"paired by (dataset, image, instance); verdicts at alpha {c.stats['alpha']} after Holm's "
                f"correction over {sum(d.tested is not None for d in c.deltas)} tests; intervals: "
                f"{c.stats['method']} bootstrap, {c.stats['resamples']} resamples, seed {c.stats['seed']}",
                "dim",
            )
        )
    for w in c.warnings:
        console.print(rich_text("warning: ", "yellow") + rich_text(w))
    for n in c.notes:
        console.print(rich_text(f"note: {n}", "dim"))
