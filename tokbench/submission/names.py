"""Names that would break a table or a page are refused, not just escaped.

Every report format escapes what it prints (:mod:`tokbench.report.escape`), so hostile text is shown,
never run. A leaderboard also needs names that stay one readable cell: a model, dataset, suite,
protocol or metric name holding a line break, a control or direction-override character, a pipe or
an angle bracket is refused here, naming the field. Free text (notes, warnings) may hold anything:
it is escaped wherever it is printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

MAX_NAME = 200
# C0 and C1 controls (line breaks, ESC, tab), DEL, line/paragraph separators, direction overrides
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_TABLE_BREAKERS = set("|<>`")
METRIC_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@+=-]{0,199}")


def name_problem(value: Any) -> str | None:
    """Why ``value`` cannot be a name in a table, or None."""
    if not isinstance(value, str) or not value:
        return "expected a non-empty string"
    if len(value) > MAX_NAME:
        return f"longer than {MAX_NAME} characters"
    bad = _INVISIBLE.search(value)
    if bad:
        return f"holds the control or line-break character U+{ord(bad.group()):04X}"
    breakers = sorted(_TABLE_BREAKERS.intersection(value))
    if breakers:
        return f"holds {' '.join(repr(c) for c in breakers)}, which would break a table or a page"
    if value != value.strip():
        return "starts or ends with white space"
    return None


def _named_fields(result: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(field, value) of every name a report prints, in a fixed order."""
    model, info = result.get("model") or {}, (result.get("model") or {}).get("info") or {}
    for key in ("id", "spec"):
        if model.get(key) is not None:
            yield f"model.{key}", model[key]
    for key in ("name", "family"):
        if info.get(key) is not None:
            yield f"model.info.{key}", info[key]
    yield "suite.name", (result.get("suite") or {}).get("name")
    yield "dataset.name", (result.get("dataset") or {}).get("name")
    protocol = (result.get("protocol") or {}).get("name")
    if protocol is not None:
        yield "protocol.name", protocol
    per_dataset = ((result.get("extra") or {}).get("per_dataset")) or {}
    if isinstance(per_dataset, dict):
        for name in per_dataset:
            yield f"extra.per_dataset key {name!r}", name
    for i, spec in enumerate(result.get("metric_specs") or []):
        if isinstance(spec, dict):
            for key in ("label", "unit", "group"):
                if spec.get(key):
                    yield f"metric_specs[{i}].{key}", spec[key]


def _metric_names(result: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for name in result.get("metrics") or {}:
        yield "metrics", name
    for name in result.get("buckets") or {}:
        yield "buckets", name
    for i, spec in enumerate(result.get("metric_specs") or []):
        if isinstance(spec, dict) and "name" in spec:
            yield f"metric_specs[{i}].name", spec["name"]


def name_problems(result: dict[str, Any]) -> list[str]:
    """One message per name in ``result`` that a leaderboard cannot show as one plain cell."""
    out = []
    for where, value in _named_fields(result):
        problem = name_problem(value)
        if problem:
            out.append(f"field {where}: {problem}")
    for where, name in _metric_names(result):
        if not isinstance(name, str) or not METRIC_NAME.fullmatch(name):
            out.append(f"{where}: name {name!r} is not a plain metric name (letters, digits and _ . : @ + = -)")
    return out
