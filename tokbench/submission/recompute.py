"""Every aggregate again from the per-instance records beside the result, with the suite's own code.

The suite named in the result is built with the result's options and its ``aggregate`` folds the
records of the ``.jsonl``: the same arithmetic the run did, so the numbers must come out equal (to
1e-9 relative: JSON keeps every float exactly, so only a summation order could move them). Compared:
metrics, buckets, the per-dataset and all-instance means, the suite's counts, the result's instance
counts, and the confidence intervals (``tokbench.result/3``), recomputed with the stored settings.
Suites whose aggregates need values the records file does not carry (rFID's Inception features, the
language suite's token codes) are said so in a note: their counts are still checked.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from tokbench.results import BadResult, public_record, read_instances
from tokbench.submission.findings import FileVerdict

REL_TOL = 1e-9
# the parts of a suite's ``extra`` that are folds of the records (the rest names backends, versions, paths)
_EXTRA_FOLDS = ("counts", "all_instances", "per_dataset", "empty_buckets")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12)
    return bool(a == b)


def differences(stated: Any, again: Any, where: str) -> list[str]:
    """Every place where ``stated`` and ``again`` differ, in the stated order, as messages."""
    if isinstance(stated, dict) and isinstance(again, dict):
        out: list[str] = []
        for key in [*stated, *(k for k in again if k not in stated)]:
            here = f"{where}.{key}" if where else str(key)
            if key not in again:
                out.append(f"{here}: the file states {_show(stated[key])}, its records give none")
            elif key not in stated:
                out.append(f"{here}: the records give {_show(again[key])}, the file states none")
            else:
                out += differences(stated[key], again[key], here)
        return out
    if isinstance(stated, list) and isinstance(again, list) and len(stated) == len(again):
        return [
            d for i, (x, y) in enumerate(zip(stated, again, strict=True)) for d in differences(x, y, f"{where}[{i}]")
        ]
    if _same(stated, again):
        return []
    return [f"{where}: the file states {_show(stated)}, its records give {_show(again)}"]


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _plain(value: dict[str, Any]) -> Any:
    """As the result file holds it: JSON-round-tripped (tuples to lists, NaN to null)."""
    return json.loads(json.dumps(public_record(value)))


def build_suite(name: str, options: dict[str, Any]) -> tuple[Any, list[str]]:
    """The registered suite ``name`` with ``options``; an option this tokbench's suite no longer takes
    (a file of an older version) is left out and named in the second item. Raises ``LookupError`` for a
    suite unknown here and ``ValueError`` when it cannot be built."""
    from tokbench.registry import SUITES

    if name not in SUITES.names():
        raise LookupError(f"suite {name!r} is not known to this tokbench")
    cls = SUITES.resolve(name)
    try:
        return cls(**options), []
    except Exception as first:
        kept = {}
        for key, value in options.items():
            try:
                cls(**{key: value})
                kept[key] = value
            except Exception:
                continue
        try:
            return cls(**kept), sorted(set(options) - set(kept))
        except Exception:
            raise ValueError(f"suite {name!r} cannot be built with the result's options: {first}") from None


def recompute(path: Path, result: dict[str, Any], verdict: FileVerdict) -> None:
    """Check ``result`` (read from ``path``) against the records beside it; findings go to ``verdict``."""
    jsonl = path.with_suffix(".jsonl")
    named = result.get("instances_file")
    if named is not None and named != jsonl.name:
        verdict.error("records", f"field instances_file names {named!r}, the records beside it are {jsonl.name!r}")
        return
    if not jsonl.is_file():
        verdict.error("records", f"no per-instance records file {jsonl.name} beside the result: nothing to check")
        return
    try:
        records = read_instances(path)
    except BadResult as e:
        verdict.error("records", str(e))
        return
    except (ValueError, UnicodeDecodeError) as e:
        verdict.error("records", f"{jsonl}: unreadable JSON lines ({type(e).__name__}: {str(e)[:120]})")
        return
    if result.get("instances_sha256") is None:
        verdict.note("records", "the records file is not bound to the result by a sha256 (written before /2)")
    if not all(isinstance(r, dict) for r in records):
        verdict.error("records", f"{jsonl.name}: every line must be a JSON object")
        return
    counts = result.get("counts") or {}
    found = {
        "instances_used": sum(1 for r in records if "skip" not in r),
        "instances_skipped": dict(Counter(str(r["skip"]) for r in records if "skip" in r)),
    }
    for problem in differences({k: counts.get(k) for k in found}, found, "counts")[:1]:
        verdict.error("recompute", problem)
    suite_info = result.get("suite") or {}
    try:
        suite, dropped = build_suite(str(suite_info.get("name")), dict(suite_info.get("options") or {}))
    except (LookupError, ValueError) as e:
        verdict.error("recompute", f"{e}: its aggregates cannot be recomputed")
        return
    if dropped:
        verdict.note(
            "recompute", f"option(s) {', '.join(dropped)} unknown to this tokbench's suite: recomputed without"
        )
    try:
        aggregate = suite.aggregate(records, int(result["resolution"]))
    except KeyError as e:
        key = str(e.args[0]) if e.args else ""
        if key.startswith("_"):  # a value kept in the run's cache, never written to the records file
            verdict.note(
                "recompute", f"aggregates not recomputed: the suite needs {key!r}, which records files do not carry"
            )
            return
        verdict.error("recompute", f"the records do not aggregate: record field {key!r} is missing")
        return
    except Exception as e:
        verdict.error("recompute", f"the records do not aggregate: {type(e).__name__}: {str(e)[:160]}")
        return
    _compare(result, _plain(aggregate), verdict)
    _intervals(result, suite, records, aggregate, verdict)


def _compare(result: dict[str, Any], again: dict[str, Any], verdict: FileVerdict) -> None:
    extra, again_extra = result.get("extra") or {}, again.get("extra") or {}
    parts = [
        ("metric", result.get("metrics") or {}, again.get("metrics") or {}),
        ("buckets", result.get("buckets") or {}, again.get("buckets") or {}),
        (
            "extra",
            {k: extra.get(k) for k in _EXTRA_FOLDS if k in extra or k in again_extra},
            {k: again_extra.get(k) for k in _EXTRA_FOLDS if k in extra or k in again_extra},
        ),
    ]
    for label, stated, recomputed in parts:
        found = differences(stated, recomputed, "")
        if found:
            more = f" (and {len(found) - 1} more difference(s))" if len(found) > 1 else ""
            verdict.error("recompute", f"{label} {found[0]}{more}")


def _intervals(
    result: dict[str, Any], suite: Any, records: list[dict[str, Any]], aggregate: dict[str, Any], verdict: FileVerdict
) -> None:
    block = result.get("intervals")
    if not isinstance(block, dict) or block.get("method") in (None, "none"):
        return
    from tokbench.stats.attach import intervals_for
    from tokbench.stats.intervals import IntervalSettings
    from tokbench.stats.stored import stored_settings

    try:
        settings = IntervalSettings(**stored_settings(result))
        again = _plain(intervals_for(suite, records, aggregate, settings))
    except Exception as e:
        verdict.error("recompute", f"the intervals cannot be recomputed: {type(e).__name__}: {str(e)[:160]}")
        return
    for part in ("metrics", "per_dataset", "all_instances"):
        found = differences(block.get(part) or {}, again.get(part) or {}, f"intervals.{part}")
        if found:
            more = f" (and {len(found) - 1} more difference(s))" if len(found) > 1 else ""
            verdict.error("recompute", f"{found[0]}{more}")
            return
