"""Which declaration the report, ``check`` and ``compare`` use for each metric, and which table shows it.

Metrics declare themselves in the results (``metric_specs``, see :mod:`tokbench.metric_spec` and
:func:`tokbench.results.metric_specs_of`); nothing here names a metric. When results declare one metric
differently (a suite changed its tolerance between releases), the first result in the order given wins
everywhere and a note says which files disagree: ``report`` takes results in collection order,
``check`` puts the baseline first (the candidate's code cannot relax the gate it is judged by; a
deliberate change applies once the baseline is refreshed, or at once with ``--max-drop``), ``compare``
puts A first. A metric no result declares reads neutral: its name, 4 significant digits, no direction,
not gated, in the "other" table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from tokbench.metric_spec import BUCKET_SHORT, BUCKETS, MetricSpec

if TYPE_CHECKING:
    from tokbench.report.collect import Entry

# the report's layout: which declaration groups share a table, in column order; other groups go to OTHER
TABLES: dict[str, tuple[str, ...]] = {
    "tokbench": ("text", "face"),
    "recon": ("recon", "fid"),
    "language": ("language",),
}
OTHER = "other"
MAX_NAMED = 5  # metrics named in one conflict note


@dataclass
class SpecBook:
    """One declaration per metric name for a set of results; ``notes`` say where results disagreed."""

    specs: dict[str, MetricSpec] = field(default_factory=dict)
    places: dict[str, int | None] = field(default_factory=dict)  # place among its group's exact names
    notes: list[str] = field(default_factory=list)

    def spec(self, name: str) -> MetricSpec:
        """The declaration used for ``name``; a neutral one when no result declares it."""
        return self.specs.get(name) or MetricSpec(name)

    def table(self, name: str) -> str:
        """The table kind that shows ``name``: its group's, else ``other``."""
        group = self.spec(name).group
        return next((kind for kind, groups in TABLES.items() if group in groups), OTHER)

    def order_key(self, name: str) -> tuple[Any, ...]:
        """Tables in layout order; inside one, declared before undeclared, groups in layout order, exact
        names in declaration order, then names matched by a pattern (or undeclared) alphabetically."""
        kinds = [*TABLES, OTHER]
        table = self.table(name)
        groups = TABLES.get(table, ())
        group = self.spec(name).group
        group_rank = (groups.index(group), "") if group in groups else (len(groups), group)
        place = self.places.get(name)
        return (kinds.index(table), name not in self.specs, group_rank, place is None, place or 0, name)

    def family(self, name: str) -> tuple[str, str] | None:
        """``(base, sub)`` when ``name`` belongs to a bucketed family declared whole (``t_acc`` and
        ``t_acc_small/medium/large``): sub is S / M / L, or ``Mean`` for the base; None otherwise."""
        for bucket in BUCKETS:
            base = name.removesuffix(f"_{bucket}")
            if base != name and self._is_family(base):
                return base, BUCKET_SHORT[bucket]
        return (name, "Mean") if self._is_family(name) else None

    def _is_family(self, base: str) -> bool:
        head = self.specs.get(base)
        members = [self.specs.get(f"{base}_{b}") for b in BUCKETS]
        return (
            head is not None
            and self.places.get(base) is not None
            and all(m is not None and m.group == head.group and self.places.get(m.name) is not None for m in members)
        )

    def families(self) -> list[str]:
        """The bases of every declared bucketed family, in table order."""
        return [n for n in sorted(self.specs, key=self.order_key) if self.family(n) == (n, "Mean")]


def book_of(entries: Iterable[Entry]) -> SpecBook:
    """The declarations of ``entries``, the first entry's winning for a metric declared differently."""
    book = SpecBook()
    order = list(entries)
    owner: dict[str, int] = {}
    clashes: dict[tuple[int, int], list[tuple[str, MetricSpec]]] = {}
    for i, e in enumerate(order):
        decl = e.declarations
        # every exact declaration (a family's absent buckets still head their columns), and the names
        # this result has that only a pattern covers
        names = [s.name for s in decl.exact()] + [m for m in e.metrics if decl.place(m) is None]
        for name in names:
            spec = decl.find(name)
            if spec is None:
                continue
            if name not in book.specs:
                book.specs[name], book.places[name], owner[name] = spec, decl.place(name), i
            elif spec != book.specs[name]:
                clashes.setdefault((owner[name], i), []).append((name, spec))
    present = {m for e in order for m in e.metrics}
    for (first, other), items in clashes.items():
        shown = [(n, s) for n, s in items if n in present]  # disagreeing about a metric nobody has is moot
        if shown:
            book.notes.append(_clash_note(order[first], order[other], shown, book))
    return book


def _clash_note(first: Entry, other: Entry, items: list[tuple[str, MetricSpec]], book: SpecBook) -> str:
    parts = []
    for name, spec in items[:MAX_NAMED]:
        used = book.specs[name]
        diff = ", ".join(
            f"{f.name} {getattr(used, f.name)!r} vs {getattr(spec, f.name)!r}"
            for f in fields(MetricSpec)
            if getattr(used, f.name) != getattr(spec, f.name)
        )
        parts.append(f"{name} ({diff})")
    more = f" and {len(items) - MAX_NAMED} more" if len(items) > MAX_NAMED else ""
    return (
        f"{first.where} and {other.where} declare {'; '.join(parts)}{more} differently; "
        f"using the declaration of {first.where} (the first given)"
    )
