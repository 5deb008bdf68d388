"""The typed result file: one JSON per (model, suite, dataset, resolution), plus a JSONL of
per-instance records beside it. Schema ``tokbench.result/1`` (documented in README):

- ``schema``, ``created``, ``tokbench``: {version, git_hash}
- ``model``: {spec, id, key, info (TokenizerInfo incl. weights_sha256)}
- ``suite``: {name, version, options};  ``dataset``: {name, identity (manifest/annotation hashes)}
- ``resolution``, ``canvas_size``, ``protocol`` (every preprocessing option)
- ``metrics`` (flat name -> number), ``buckets``, ``extra``
- ``counts``: {images, images_used, images_skipped: {reason: n}, instances_used,
  instances_skipped: {reason: n}};  ``skipped``: [{image, reason}]
- ``rate``: {bits_per_image_mean, bpp_mean};  ``run``: {device, precision, batch_size, seed,
  on_error};  ``environment``: {python, platform, packages};  ``timings``; ``cache``
- ``instances_file``: the JSONL's file name
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, TypedDict

from tokbench.cache import atomic_write_bytes
from tokbench.jsonio import read_json

SCHEMA = "tokbench.result/1"


class Counts(TypedDict):
    images: int
    images_used: int
    images_skipped: dict[str, int]
    instances_used: int
    instances_skipped: dict[str, int]


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
    counts: Counts
    skipped: list[dict[str, str]]
    rate: dict[str, float | None]
    run: dict[str, Any]
    environment: dict[str, Any]
    timings: dict[str, float]
    cache: dict[str, Any]
    instances_file: str


class BadResult(ValueError):
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


def write_result(path: Path, result: Result, records: list[dict[str, Any]]) -> None:
    """Write the JSONL first, then the JSON, each atomically: a result file never points at a
    partial instances file."""
    lines = "".join(json.dumps(public_record(r), ensure_ascii=False) + "\n" for r in records)
    jsonl = path.with_suffix(".jsonl")
    atomic_write_bytes(jsonl, lines.encode("utf-8"))
    result["instances_file"] = jsonl.name
    atomic_write_bytes(path, (json.dumps(_clean(result), indent=1, ensure_ascii=False) + "\n").encode())


_REQUIRED = ("schema", "model", "suite", "dataset", "resolution", "protocol", "metrics", "counts")


def read_result(path: Path) -> Result:
    data = read_json(path, BadResult)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise BadResult(f"{path}: not a tokbench result (schema {SCHEMA!r} expected)")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise BadResult(f"{path}: missing field(s) {', '.join(missing)}")
    return data  # type: ignore[return-value]


def read_instances(result_file: Path) -> list[dict[str, Any]]:
    path = result_file.with_suffix(".jsonl")
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
