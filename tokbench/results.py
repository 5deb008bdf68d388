"""The typed result file: one JSON per (model, suite, dataset, resolution), plus a JSONL of
per-instance records beside it. Schema ``tokbench.result/3`` (documented in README):

- ``schema``, ``created``, ``tokbench``: {version, git_hash}
- ``model``: {spec, id, key, info (TokenizerInfo incl. weights_sha256)}
- ``suite``: {name, version, options};  ``dataset``: {name, identity (manifest/annotation hashes)}
- ``resolution``, ``canvas_size``, ``protocol`` (every preprocessing option)
- ``metrics`` (flat name -> number), ``buckets``, ``extra``
- ``counts``: {images, images_used, images_skipped: {reason: n}, instances_used,
  instances_skipped: {reason: n}};  ``skipped``: [{image, reason}]
- ``rate``: {bits_per_image_mean, bpp_mean};  ``run``: {device, precision, batch_size, seed,
  on_error};  ``environment``: {python, platform, packages};  ``timings``; ``cache``
- ``model.code`` / ``suite.code``: sha256 of the adapter's / suite's source files and package version;
  ``model.code.reconstruction``: of tokbench's reconstruction path (all part of the cache keys)
- ``instances_file``: the JSONL's file name; ``instances_sha256``: its sha256 (checked on read)
- ``metric_specs``: the suite's metric declarations (:class:`tokbench.metric_spec.MetricSpec` as objects),
  new in ``/2``; ``tokbench.result/1`` files, which lack them, are still read (see :func:`metric_specs_of`)
- ``intervals``: a confidence interval beside every aggregate, with method, resamples and seed, and what
  each aggregate estimates (:mod:`tokbench.stats.attach`), new in ``/3``; ``/1`` and ``/2`` files have none
"""

from __future__ import annotations

import functools
import json
import math
import re
from pathlib import Path
from typing import Any, TypedDict

from tokbench.cache import atomic_write_bytes
from tokbench.errors import ResultError
from tokbench.hashing import sha256_bytes
from tokbench.jsonio import read_json
from tokbench.metric_spec import MetricSpec

SCHEMA = "tokbench.result/3"
SCHEMAS = ("tokbench.result/1", "tokbench.result/2", SCHEMA)  # every schema read_result accepts


class _CountsRequired(TypedDict):
    images: int
    images_used: int
    images_skipped: dict[str, int]
    instances_used: int
    instances_skipped: dict[str, int]


class Counts(_CountsRequired, total=False):
    image_conversions: dict[str, int]  # read conversion -> images (EXIF applied/ignored, alpha, ...)
    stored_as: dict[str, int]  # storage step format -> images (protocol option store=reference)


class Result(TypedDict, total=False):
    schema: str
    created: str
    tokbench: dict[str, Any]
    model: dict[str, Any]
    suite: dict[str, Any]
    dataset: dict[str, Any]
    resolution: int
    canvas_size: int
    protocol: dict[str, Any]
    metrics: dict[str, float | None]
    buckets: dict[str, Any]
    extra: dict[str, Any]
    intervals: dict[str, Any]
    counts: Counts
    skipped: list[dict[str, str]]
    rate: dict[str, float | None]
    run: dict[str, Any]
    environment: dict[str, Any]
    timings: dict[str, float]
    cache: dict[str, Any]
    instances_file: str
    instances_sha256: str
    metric_specs: list[dict[str, Any]]


class BadResult(ResultError):
    """A result file that cannot be read or lacks required fields."""


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text).strip("_") or "x"


def result_path(out_dir: Path, model_id: str, dataset: str, suite: str, resolution: int) -> Path:
    return out_dir / slug(model_id) / slug(dataset) / f"{slug(suite)}-{resolution}.json"


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf -> None (strict JSON), numpy scalars -> Python."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            value = value.tolist()
            return _clean(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def public_record(record: dict[str, Any]) -> dict[str, Any]:
    """A record without its bulky ``_`` fields, JSON-safe."""
    return _clean({k: v for k, v in record.items() if not k.startswith("_")})


def instances_bytes(records: list[dict[str, Any]]) -> bytes:
    """The JSONL a result's per-instance records are written as."""
    return "".join(json.dumps(public_record(r), ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def write_result(path: Path, result: Result, records: list[dict[str, Any]]) -> None:
    """Write the JSONL first, then the JSON, each atomically; the JSON names the JSONL's sha256, so
    an instances file left from another run (a rerun killed between the two) is detected on read."""
    data = instances_bytes(records)
    jsonl = path.with_suffix(".jsonl")
    atomic_write_bytes(jsonl, data)
    result["instances_file"] = jsonl.name
    result["instances_sha256"] = sha256_bytes(data)
    atomic_write_bytes(path, (json.dumps(_clean(result), indent=1, ensure_ascii=False) + "\n").encode())


_REQUIRED = ("schema", "model", "suite", "dataset", "resolution", "protocol", "metrics", "counts")
MAX_DEPTH = 64  # results written by tokbench nest about 10 deep; deeper is hostile, not data
MAX_RESOLUTION = 1 << 16


class NotAResult(BadResult):
    """A file that is not a tokbench result at all (no JSON, another schema): a folder scan skips it."""


def read_result(path: Path) -> Result:
    """The result in ``path``, with every field the report, check and compare commands read checked
    for its JSON type; raises ``BadResult`` naming the file and the field."""
    try:
        data = read_json(path, NotAResult)
    except (NotAResult, RecursionError, ValueError) as e:
        if isinstance(e, RecursionError):
            message = f"{path}: JSON nested too deeply to read"
        elif isinstance(e, NotAResult):
            message = str(e)
        else:  # e.g. an integer literal longer than Python's 4300-digit limit
            message = f"{path}: unreadable JSON: {str(e).split(';')[0]}"
        # a damaged file that names our schema is a broken result, not some other JSON to skip
        raise (BadResult if _names_schema(path) else NotAResult)(message) from None
    if not isinstance(data, dict) or data.get("schema") not in SCHEMAS:
        raise NotAResult(f"{path}: not a tokbench result (schema {' or '.join(map(repr, SCHEMAS))} expected)")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise BadResult(f"{path}: missing field(s) {', '.join(missing)}")
    problem = _numbers_problem(data) or _fields_problem(data)
    if problem:
        raise BadResult(f"{path}: {problem}")
    return data  # type: ignore[return-value]


def _names_schema(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(1 << 20)
        return any(f'"{schema}"'.encode() in head for schema in SCHEMAS)
    except OSError:
        return False


def _kind(value: Any) -> str:
    """A value's JSON type, as messages name it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _numbers_problem(data: Any) -> str | None:
    """The first place nested deeper than ``MAX_DEPTH`` or holding a number no float can hold
    (NaN, Infinity, 1e999, a 400-digit integer): such values break every later comparison."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"field {where}: nested deeper than {MAX_DEPTH} levels"
        if isinstance(value, dict):
            stack += [(v, f"{where}.{k}" if where else str(k), depth + 1) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and not _finite(value):
            text = value if isinstance(value, float) else f"an integer of {len(str(abs(value)))} digits"
            return f"field {where}: not a finite number ({text})"
    return None


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an int beyond the float range
        return False


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# (field, accepted JSON types, may be null or absent, what a message says is expected); parents first
_SHAPES: list[tuple[str, tuple[type, ...], bool, str]] = [
    ("model", (dict,), False, "an object"),
    ("model.id", (str,), True, "a string"),
    ("model.spec", (str,), True, "a string"),
    ("model.info", (dict,), True, "an object"),
    ("suite", (dict,), False, "an object"),
    ("suite.name", (str,), False, "a string"),
    ("suite.version", (str, int, float), True, "a string or a number"),
    ("suite.options", (dict,), True, "an object"),
    ("dataset", (dict,), False, "an object"),
    ("dataset.name", (str,), False, "a string"),
    ("dataset.identity", (dict,), True, "an object"),
    ("protocol", (dict,), False, "an object"),
    ("protocol.name", (str,), True, "a string"),
    ("metrics", (dict,), False, "an object (metric name -> number or null)"),
    ("counts", (dict,), False, "an object"),
    ("counts.images_skipped", (dict,), True, "an object (reason -> count)"),
    ("counts.instances_skipped", (dict,), True, "an object (reason -> count)"),
    ("rate", (dict,), True, "an object"),
    ("instances_sha256", (str,), True, "a string"),
    ("rate.bpp_mean", (int, float), True, "a number"),
    ("buckets", (dict,), True, "an object"),
    ("extra", (dict,), True, "an object"),
    ("created", (str,), True, "a string"),
    ("metric_specs", (list,), True, "an array of metric declarations"),
    ("intervals", (dict,), True, "an object"),
    ("intervals.metrics", (dict,), True, "an object (metric name -> interval)"),
    ("intervals.estimands", (dict,), True, "an object (metric name -> estimand)"),
]


def _at(data: dict[str, Any], dotted: str) -> Any:
    value: Any = data
    for part in dotted.split(".") if dotted else []:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _fields_problem(data: dict[str, Any]) -> str | None:
    """The first field whose JSON type is not what readers of results expect, as a message."""
    for name, types, optional, expected in _SHAPES:
        parent, _, key = name.rpartition(".")
        holder = _at(data, parent)
        if not isinstance(holder, dict):  # an optional parent that is absent: nothing below it to check
            continue
        value = holder.get(key)
        if value is None and optional:
            continue
        if not isinstance(value, types) or isinstance(value, bool):
            return f"field {name}: expected {expected}, got {_kind(value)}"
        if isinstance(value, str) and not value and not optional:
            return f"field {name}: expected a non-empty string"
    if not (data["model"].get("id") or data["model"].get("spec")):
        return "field model.id: expected a non-empty string (or model.spec)"
    resolution = data["resolution"]
    if not isinstance(resolution, int) or isinstance(resolution, bool) or not 1 <= resolution <= MAX_RESOLUTION:
        shown = repr(resolution) if _is_number(resolution) else _kind(resolution)
        return f"field resolution: expected an integer from 1 to {MAX_RESOLUTION}, got {shown}"
    for metric, value in data["metrics"].items():
        if value is not None and not _is_number(value):
            return f"metric {metric!r}: expected a number or null, got {_kind(value)}"
    for key in ("images", "images_used", "instances_used"):
        value = data["counts"].get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            return f"field counts.{key}: expected an integer, got {_kind(value)}"
    return _specs_problem(data.get("metric_specs") or []) or _intervals_problem(data.get("intervals") or {})


def _intervals_problem(intervals: dict[str, Any]) -> str | None:
    """The first stored interval that is not ``{"low": number, "high": number, ...}`` with low <= high."""
    for name, iv in (intervals.get("metrics") or {}).items():
        low, high = (iv.get("low"), iv.get("high")) if isinstance(iv, dict) else (None, None)
        if not (_is_number(low) and _is_number(high)) or float(low) > float(high):  # type: ignore[arg-type]
            return f"field intervals.metrics.{name}: expected an object with numbers low <= high"
    return None


def _specs_problem(specs: list[Any]) -> str | None:
    """The first metric declaration that ``MetricSpec.from_dict`` refuses or that repeats a name."""
    names: set[str] = set()
    for i, item in enumerate(specs):
        try:
            spec = MetricSpec.from_dict(item)
        except ValueError as e:
            return f"field metric_specs[{i}]: {e}"
        if spec.name in names:
            return f"field metric_specs[{i}]: metric {spec.name!r} is declared twice"
        names.add(spec.name)
    return None


def metric_specs_of(result: Any) -> list[MetricSpec]:
    """A result's metric declarations. A file without them (schema ``/1``, published rows) is read the
    way tokbench read ``/1`` files, against the built-in declarations: first its own suite's, looked up
    by name and built with the result's suite options (with the defaults when those no longer build),
    then the other built-in suites' for the remaining names (``/1`` readers had one table for all
    suites). A suite unknown here gets none: its metrics are shown neutral and not gated."""
    specs = result.get("metric_specs")
    if isinstance(specs, list):
        return [MetricSpec.from_dict(s) for s in specs]
    suite = result.get("suite") or {}
    name, options = str(suite.get("name") or ""), suite.get("options") or {}
    if not _known_suite(name):
        return []
    own = _suite_specs(name, json.dumps(options, sort_keys=True, default=str))
    return own + [s for other in _builtin_suites() if other != name for s in _suite_specs(other, "{}")]


def _known_suite(name: str) -> bool:
    from tokbench.registry import SUITES

    return name in SUITES.names()


def _builtin_suites() -> list[str]:
    from tokbench.plugins import SUITES

    return [plugin.name for plugin in SUITES]


@functools.lru_cache(maxsize=64)
def _suite_specs(name: str, options_json: str) -> list[MetricSpec]:
    """The declarations of registered suite ``name`` built with these options (JSON), else with its
    defaults; none when it cannot be built here. Cached: a report reads many results of one suite."""
    from tokbench.registry import SUITES

    attempts: tuple[dict[str, Any], ...] = (json.loads(options_json), {})
    for options in attempts:
        try:
            return list(SUITES.resolve(name)(**options).metric_specs())
        except Exception:  # options of another version, a package missing here: a reader must still read
            continue
    return []


def read_instances(result_file: Path) -> list[dict[str, Any]]:
    """The per-instance records beside ``result_file``; BadResult when they are not the ones the
    result was written with (its ``instances_sha256``; older results without it are read as they are)."""
    path = result_file.with_suffix(".jsonl")
    expected = read_result(result_file).get("instances_sha256")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise BadResult(f"{path}: cannot read the instances file ({e.strerror or e})") from None
    if expected is not None and sha256_bytes(data) != expected:
        raise BadResult(
            f"{path}: not the instances file of {result_file.name} (its sha256 differs from the one the "
            "result records: a rerun was interrupted between the two files; rerun to finish it)"
        )
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
