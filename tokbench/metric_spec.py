"""A metric's declaration, made where the metric is computed: name, direction, unit, precision,
default release-gate tolerance and table group.

Suites declare their metrics (:meth:`tokbench.suite.Suite.metric_specs`); the runner writes the
declarations into every result (``metric_specs``, schema ``tokbench.result/2``), and the report,
``check`` and ``compare`` read them from there, so a new metric needs no edit anywhere else.

A tolerance is the largest allowed *drop* in the bad direction: a number in the metric's own unit
(``"0.5"`` = half a percentage point for T-ACC) or a relative one written ``"2%"`` (of the baseline).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

HIGHER = "higher"
LOWER = "lower"
DIRECTIONS = (HIGHER, LOWER, None)


@dataclass(frozen=True)
class MetricSpec:
    """How one metric reads: ``direction`` None = no known better side; ``decimals`` None = 4 significant
    digits; ``tolerance`` None = not gated by default; ``group`` = the table it belongs to."""

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
        if self.direction not in DIRECTIONS:
            raise ValueError(f"metric {self.name!r}: direction must be 'higher', 'lower' or None, "
                             f"got {self.direction!r}")
        if self.decimals is not None and not (isinstance(self.decimals, int) and 0 <= self.decimals <= 12):
            raise ValueError(f"metric {self.name!r}: decimals must be an integer 0-12 or None, got {self.decimals!r}")
        if self.tolerance is not None:
            parse_tolerance(self.tolerance, self.name)
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


def parse_tolerance(text: str, metric: str = "?") -> tuple[float, bool]:
    """``"0.5"`` -> (0.5, False); ``"2%"`` -> (2.0, True); ValueError for anything else."""
    raw = str(text).strip()
    relative = raw.endswith("%")
    try:
        value = float(raw[:-1] if relative else raw)
    except ValueError:
        raise ValueError(f"metric {metric!r}: tolerance {text!r} is not a number or a percentage") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"metric {metric!r}: tolerance {text!r} must be a finite number >= 0")
    return value, relative


BUCKETS = ("small", "medium", "large")
BUCKET_SHORT = {"small": "S", "medium": "M", "large": "L"}


def bucketed(name: str, label: str, direction: str, decimals: int, tol_mean: str, tol_bucket: str,
             unit: str = "", group: str = "") -> list[MetricSpec]:
    """A metric with a Mean and Small/Medium/Large variants (``t_acc``, ``t_acc_small`` …)."""
    out = [MetricSpec(name, label, direction, unit, decimals, tol_mean, group)]
    out += [MetricSpec(f"{name}_{b}", f"{label} {BUCKET_SHORT[b]}", direction, unit, decimals, tol_bucket, group)
            for b in BUCKETS]
    return out
