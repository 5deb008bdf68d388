"""Pooled results: several data sets scored as one, as TokBench's ``compute_all_metrics.py`` does.

The reference concatenates the per-instance results of every set before bucketing, then averages per
bucket; the pooled result here is the suite's own ``aggregate`` over the concatenated records of the
per-set results (in the order the sets were given), so its numbers are that arithmetic exactly, and the
per-set values stay in it as a breakdown (``extra.pooled``). Two ways in:

- a run over several sets (``--dataset a,b`` or a group) writes each set's result and the pooled one;
- :func:`pool_files` pools result files after the fact (``tokbench report --pool``, ``tokbench pool``),
  from their per-instance records, when they were made alike (same model, suite and its options, protocol,
  resolution and interval settings); otherwise it refuses and names what differs.

A record without a ``dataset`` field (suites that do not name one) gets its set's name, so pooled records
say where they came from. Example crops are shown for image ids that are unique across the sets.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from tokbench.data.dataset import Dataset, Sample
from tokbench.errors import ResultError
from tokbench.hashing import sha256_file
from tokbench.results import Result, read_instances, read_result, result_path, write_result

if TYPE_CHECKING:
    from tokbench.build import RunContext
    from tokbench.suite import Item, Suite


READ_COUNTS = ("image_conversions", "stored_as")  # result counts of how images were read and stored


class PoolRefused(ResultError):
    """Result files that cannot be pooled; the message names the field that differs."""


@dataclass
class SetPart:
    """One set's pass of a run, kept for the pooled result."""

    dataset: Dataset
    records: dict[str, list[dict[str, Any]]]
    skipped_images: list[dict[str, str]]
    bits: list[float]
    reading: dict[str, Counter[str]]
    seen: dict[str, Sample]
    results: dict[str, Path] = field(default_factory=dict)  # suite name -> the set's result file


def pool_records(parts: list[tuple[str, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """The records of every (set name, records) part, concatenated in order, each naming its set."""
    return [r if "dataset" in r else {**r, "dataset": name} for name, records in parts for r in records]


def pooled_dataset(name: str, datasets: list[Dataset]) -> Dataset:
    """A dataset standing for ``datasets`` together (its identity lists theirs)."""
    return Dataset(
        name,
        [s for d in datasets for s in d.samples],
        {"pooled": [{"name": d.name, **d.identity} for d in datasets]},
        [(f"{d.name}/{where}", why) for d in datasets for where, why in d.skipped],
    )


def breakdown(parts: Sequence[tuple[str, Mapping[str, Any], Path | None]]) -> dict[str, Any]:
    """``extra.pooled``: the sets in order, each with its result file and metrics."""
    return {
        "sets": [name for name, _, _ in parts],
        "arithmetic": "the suite's aggregate over the concatenated per-instance records of the sets, in order",
        "per_set": {
            name: {"result": path.name if path else None, "sha256": sha256_file(path) if path else None, "metrics": m}
            for name, m, path in parts
        },
    }


def write_pooled(ctx: RunContext, suite: Suite, resolution: int, size: int, parts: list[SetPart]) -> Path:
    """The pooled result of ``suite`` over the run's sets (their per-set results already written)."""
    import time

    from tokbench import record
    from tokbench.reconstruct import reload_item
    from tokbench.results import read_result

    assert ctx.pooled_name is not None
    t0 = time.perf_counter()
    records = pool_records([(p.dataset.name, p.records[suite.name]) for p in parts])
    aggregate = suite.aggregate(records, resolution)
    timings = {"aggregate_s": time.perf_counter() - t0, "total_s": time.perf_counter() - ctx.started}
    skipped = [{**s, "image": f"{p.dataset.name}/{s['image']}"} for p in parts for s in p.skipped_images]
    reading = {k: sum((p.reading[k] for p in parts), Counter()) for k in ("conversions", "stored_as")}
    dataset = ctx.dataset
    ctx.dataset = pooled_dataset(ctx.pooled_name, [p.dataset for p in parts])
    try:
        bits = [b for p in parts for b in p.bits]
        result = record.make_result(ctx, suite, resolution, size, aggregate, records, skipped, bits, timings, reading)
        per_set = [
            (p.dataset.name, dict(read_result(p.results[suite.name])["metrics"]), p.results[suite.name]) for p in parts
        ]
        result["extra"] = {**result["extra"], "pooled": breakdown(per_set)}
        return record.write(ctx, result, suite, records, _unique_reload(ctx, parts, size, resolution, reload_item))
    finally:
        ctx.dataset = dataset


def _unique_reload(
    ctx: RunContext, parts: list[SetPart], size: int, resolution: int, reload: Callable[..., Item | None]
) -> Callable[[str], Item | None]:
    ids = Counter(i for p in parts for i in p.seen)
    samples = {i: s for p in parts for i, s in p.seen.items() if ids[i] == 1}
    return lambda image_id: reload(ctx, samples.get(image_id), size, resolution)


# what must be equal for results to pool, with how a refusal names it
_SAME: tuple[tuple[str, str], ...] = (
    ("model.id", "model"),
    ("model.key", "model identity (weights, code, precision)"),
    ("suite.name", "suite"),
    ("suite.version", "suite version"),
    ("suite.options", "suite options"),
    ("protocol", "protocol"),
    ("resolution", "resolution"),
    ("canvas_size", "canvas size"),
    ("dataset.limit", "--limit"),
)


def _get(result: dict[str, Any], dotted: str) -> Any:
    value: Any = result
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def refusal(results: list[tuple[Path, dict[str, Any]]]) -> str | None:
    """Why these results cannot be pooled, or None when they can."""
    from tokbench.stats.stored import stored_settings

    if len(results) < 2:
        return "pooling needs at least two result files"
    (first_path, first), rest = results[0], results[1:]
    for path, other in rest:
        for key, what in _SAME:
            if _get(first, key) != _get(other, key):
                return f"{what} differs: {first_path} has {_get(first, key)!r}, {path} has {_get(other, key)!r}"
        if stored_settings(first) != stored_settings(other):
            return f"interval settings differ: {stored_settings(first)!r} vs {stored_settings(other)!r}"
    names = [str(_get(r, "dataset.name")) for _, r in results]
    if len(set(names)) != len(names):
        return f"a data set appears twice ({', '.join(names)})"
    if any(_get(r, "run.imported") for _, r in results):
        return "imported results are pooled already (tokbench import pools every file it is given)"
    return None


def pool_files(paths: list[Path], output_dir: Path, name: str | None = None) -> Path:
    """Pool compatible native result files into one result under ``output_dir``; return its path."""
    from tokbench.stats.attach import intervals_for
    from tokbench.stats.intervals import IntervalSettings
    from tokbench.stats.stored import stored_settings
    from tokbench.submission.recompute import build_suite

    results: list[tuple[Path, dict[str, Any]]] = [(p, dict(read_result(p))) for p in paths]
    why = refusal(results)
    if why is not None:
        raise PoolRefused(f"cannot pool {', '.join(str(p) for p in paths)}: {why}")
    first = results[0][1]
    sets = [str(r["dataset"]["name"]) for _, r in results]
    named = [(n, p, r) for n, (p, r) in zip(sets, results, strict=True)]
    records = pool_records([(n, read_instances(p)) for n, p, _ in named])
    try:
        suite, dropped = build_suite(first["suite"]["name"], dict(first["suite"].get("options") or {}))
    except (LookupError, ValueError) as e:
        raise PoolRefused(f"cannot pool: {e}") from None
    if dropped:
        raise PoolRefused(f"cannot pool: this tokbench's {first['suite']['name']} suite no longer takes {dropped}")
    resolution = int(first["resolution"])
    aggregate = suite.aggregate(records, resolution)
    settings = stored_settings(first)
    intervals: dict[str, Any] = {"method": "none"}
    if settings.get("method", "none") != "none":
        intervals = intervals_for(suite, records, aggregate, IntervalSettings(**settings))
    pooled_name = name or "+".join(sets)
    counts = [r["counts"] for _, r in results]
    kept = ("schema", "tokbench", "model", "suite", "protocol", "metric_specs")
    result: dict[str, Any] = dict(
        **{k: v for k, v in first.items() if k in kept},
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        dataset={
            "name": pooled_name,
            "identity": {"pooled": [{"name": n, **(r["dataset"].get("identity") or {})} for n, _, r in named]},
            "limit": first["dataset"].get("limit"),
        },
        resolution=resolution,
        canvas_size=int(first["canvas_size"]),
        metrics=aggregate.get("metrics", {}),
        buckets=aggregate.get("buckets", {}),
        extra={**aggregate.get("extra", {}), "pooled": breakdown([(n, dict(r["metrics"]), p) for n, p, r in named])},
        intervals=intervals,
        counts={
            "images": sum(int(c["images"]) for c in counts),
            "images_used": sum(int(c["images_used"]) for c in counts),
            "images_skipped": dict(sum((Counter(c.get("images_skipped") or {}) for c in counts), Counter())),
            "instances_used": sum(1 for r in records if "skip" not in r),
            "instances_skipped": dict(Counter(str(r["skip"]) for r in records if "skip" in r)),
            **{k: dict(sum((Counter(c.get(k) or {}) for c in counts), Counter())) for k in READ_COUNTS},
        },
        skipped=[{**s, "image": f"{n}/{s['image']}"} for n, _, r in named for s in r.get("skipped") or []],
        rate=_pooled_rate([r for _, r in results]),
        run={**(first.get("run") or {}), "pooled_after_the_fact": True},
        environment=first.get("environment") or {},
        timings={},
        cache={},
    )
    path = result_path(output_dir, str(first["model"]["id"]), pooled_name, str(first["suite"]["name"]), resolution)
    write_result(path, cast(Result, result), records)
    return path


def _pooled_rate(results: list[dict[str, Any]]) -> dict[str, float | None]:
    """Mean bits per image over every image used (the per-set means weighted by their images), when
    every set has one; None otherwise."""
    bits = [(r.get("rate") or {}).get("bits_per_image_mean") for r in results]
    used = [int(r["counts"]["images_used"]) for r in results]
    if any(b is None for b in bits) or not sum(used):
        return {"bits_per_image_mean": None, "bpp_mean": None}
    mean = math.fsum(float(b or 0) * n for b, n in zip(bits, used, strict=True)) / sum(used)
    size = int(results[0]["canvas_size"])
    return {"bits_per_image_mean": mean, "bpp_mean": mean / (size * size)}


def pool_for_report(paths: list[str | Path], output_dir: Path) -> list[Path]:
    """``tokbench report --pool``: per (model, suite, resolution), the native results of two or more sets
    found under ``paths`` pooled into ``output_dir``; a group that cannot pool is refused with the reason."""
    from tokbench.report.collect import collect, dedupe

    found = collect(paths)
    groups: dict[tuple[str, str, int], list[Path]] = {}
    for entry in dedupe(found.entries, found.notes):
        pooled = "pooled" in (entry.result["dataset"].get("identity") or {})
        if entry.path is None or pooled or (entry.result.get("run") or {}).get("imported"):
            continue
        groups.setdefault((entry.model, entry.suite, entry.resolution), []).append(entry.path)
    return [pool_files(sorted(files), output_dir) for files in groups.values() if len(files) > 1]
