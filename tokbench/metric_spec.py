"""A metric's declaration, made where the metric is computed: name, direction, unit, precision,
default release-gate tolerance and table group.

Suites declare their metrics (:meth:`tokbench.suite.Suite.metric_specs`); the runner writes the
declarations into every result (``metric_specs``, schema ``tokbench.result/2``), and the report,
``check`` and ``compare`` read them from there, so a new metric needs no edit anywhere else.

A tolerance is the largest allowed *drop* in the bad direction: a number in the metric's own unit
(``"0.5"`` = half a percentage point for T-ACC) or a relative one written ``"2%"`` (of the baseline).

A name holding one ``*`` is a pattern for names made at run time (``*.utilization`` covers
``level0.utilization`` and ``joint.utilization``); a ``*`` in its label stands for the matched part.
Patterns are tried in declaration order after the exact names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from tokbench.errors import ConfigError

HIGHER = "higher"
LOWER = "lower"
DIRECTIONS = (HIGHER, LOWER, None)


@dataclass(frozen=True)
class MetricSpec:
    """How one metric reads: ``direction`` None = no known better side; ``decimals`` None = 4 significant
    digits; ``tolerance`` None = not gated by default; ``group`` = the table it belongs to (usually the
    suite's name; "" = none, listed among the report's other metrics)."""

    name: str
    label: str = ""
    direction: str | None = None
    unit: str = ""
    decimals: int | None = None
    tolerance: str | None = None
    group: str = ""

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ValueError(f"metric name must be a non-empty string, got {self.name!r}")
        if self.name.count("*") > 1:
            raise ValueError(f"metric pattern {self.name!r}: at most one '*'")
        if self.direction not in DIRECTIONS:
            raise ValueError(
                f"metric {self.name!r}: direction must be 'higher', 'lower' or None, got {self.direction!r}"
            )
        if self.decimals is not None and (
            not isinstance(self.decimals, int) or isinstance(self.decimals, bool) or not 0 <= self.decimals <= 12
        ):
            raise ValueError(f"metric {self.name!r}: decimals must be an integer 0-12 or None, got {self.decimals!r}")
        if self.tolerance is not None:
            try:
                parse_tolerance(self.tolerance)
            except ConfigError as e:
                raise ValueError(f"metric {self.name!r}: {e}") from None
        if not self.label:
            object.__setattr__(self, "label", self.name)

    def format(self, value: float | None) -> str:
        """The value as a table shows it ("–" when missing)."""
        if value is None or value != value:
            return "–"
        if self.decimals is None:
            return f"{value:.4g}"
        return f"{value:.{self.decimals}f}"

    @property
    def arrow(self) -> str:
        return {HIGHER: "↑", LOWER: "↓"}.get(self.direction or "", "")

    @property
    def is_pattern(self) -> bool:
        return "*" in self.name

    def matched(self, name: str) -> str | None:
        """What this pattern's ``*`` stands for in ``name``, or None when ``name`` does not match."""
        head, _, tail = self.name.partition("*")
        if len(name) < len(head) + len(tail) or not (name.startswith(head) and name.endswith(tail)):
            return None
        return name[len(head) : len(name) - len(tail)]

    def for_name(self, name: str, part: str) -> MetricSpec:
        """This pattern made concrete for ``name``, whose ``*`` part is ``part``."""
        return replace(self, name=name, label=self.label.replace("*", part))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> MetricSpec:
        """A spec from a result file; ValueError naming the field when it is malformed."""
        if not isinstance(data, dict):
            raise ValueError(f"a metric declaration is an object, got {type(data).__name__}")
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"metric declaration has unknown field(s) {', '.join(sorted(map(str, unknown)))}")
        for key in ("name", "label", "unit", "group"):
            if key in data and not isinstance(data[key], str):
                raise ValueError(f"metric declaration field {key!r} must be a string")
        if data.get("tolerance") is not None and not isinstance(data["tolerance"], str):
            raise ValueError("metric declaration field 'tolerance' must be a string or null")
        return cls(**data)


class MetricSpecs:
    """One suite's (or one result's) declarations, in order: exact names first, then patterns."""

    def __init__(self, specs: Iterable[MetricSpec]) -> None:
        self.specs = list(specs)
        self._exact: dict[str, MetricSpec] = {}
        for s in self.specs:
            if not s.is_pattern:
                self._exact.setdefault(s.name, s)
        self._patterns = [s for s in self.specs if s.is_pattern]
        # an exact name's place among the declarations of its own group: the report's column order
        self._place: dict[str, int] = {}
        seen: Counter[str] = Counter()
        for s in self._exact.values():
            self._place[s.name] = seen[s.group]
            seen[s.group] += 1

    def find(self, name: str) -> MetricSpec | None:
        """The declaration covering ``name`` (a pattern's made concrete), or None when none does."""
        if name in self._exact:
            return self._exact[name]
        for pattern in self._patterns:
            part = pattern.matched(name)
            if part is not None:
                return pattern.for_name(name, part)
        return None

    def place(self, name: str) -> int | None:
        """Where an exactly declared name stands among its group's exact names; None for the rest."""
        return self._place.get(name)

    def exact(self) -> list[MetricSpec]:
        """The exactly named declarations, in order."""
        return list(self._exact.values())


@dataclass(frozen=True)
class Tolerance:
    """A largest allowed drop: ``value`` in the metric's unit, or percent of the baseline when ``relative``."""

    value: Decimal
    relative: bool
    text: str

    def allowed(self, baseline: Decimal) -> Decimal:
        return self.value * abs(baseline) / 100 if self.relative else self.value


def parse_tolerance(text: str) -> Tolerance:
    """``"0.5"`` or ``"2%"`` as a decimal tolerance (no binary rounding); ConfigError for anything else."""
    raw = str(text).strip()
    relative = raw.endswith("%")
    try:
        value = Decimal(raw[:-1] if relative else raw)
    except InvalidOperation:
        raise ConfigError(f"tolerance {text!r} is not a number (use e.g. 0.5 or 2%)") from None
    if not value.is_finite() or value < 0:
        raise ConfigError(f"tolerance {text!r} must be a finite number >= 0")
    return Tolerance(value, relative, raw)


BUCKETS = ("small", "medium", "large")
BUCKET_SHORT = {"small": "S", "medium": "M", "large": "L"}


def bucketed(
    name: str,
    label: str,
    direction: str,
    decimals: int,
    tol_mean: str,
    tol_bucket: str,
    unit: str = "",
    group: str = "",
) -> list[MetricSpec]:
    """A metric with a Mean and Small/Medium/Large variants (``t_acc``, ``t_acc_small`` …)."""
    out = [MetricSpec(name, label, direction, unit, decimals, tol_mean, group)]
    out += [
        MetricSpec(f"{name}_{b}", f"{label} {BUCKET_SHORT[b]}", direction, unit, decimals, tol_bucket, group)
        for b in BUCKETS
    ]
    return out
