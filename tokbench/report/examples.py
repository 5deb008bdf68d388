"""Example crops the runner writes beside a result: ``<result stem>.examples/index.json``.

The index is a list of ``{"bucket", "image_id", "gt", "pred", "score", "original",
"reconstruction"}``; the last two are PNG file names inside that folder. Images are returned
as ``data:`` URIs so the HTML report needs no other file.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokbench.report.collect import Entry

_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
MAX_BYTES = 2_000_000


@dataclass
class Example:
    bucket: str
    image_id: str
    gt: str
    pred: str
    score: float | None
    original: str  # data: URI
    reconstruction: str  # data: URI


def examples_dir(result_file: Path) -> Path:
    return result_file.parent / f"{result_file.stem}.examples"


def load_examples(entry: Entry, per_bucket: int = 6) -> tuple[list[Example], list[str]]:
    """The entry's examples (at most ``per_bucket`` per bucket) and notes about what was skipped."""
    if entry.path is None:
        return [], []
    folder = examples_dir(entry.path)
    index = folder / "index.json"
    if not index.is_file():
        return [], [f"no example crops for {entry.model} / {entry.suite} @{entry.resolution} ({index} absent)"]
    try:
        items = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        return [], [f"{index}: unreadable example index ({e})"]
    if not isinstance(items, list):
        return [], [f"{index}: a list of examples was expected"]
    out: list[Example] = []
    notes: list[str] = []
    taken: dict[str, int] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        bucket = str(item.get("bucket", "?"))
        if taken.get(bucket, 0) >= per_bucket:
            continue
        pics = [_data_uri(folder, item.get(k)) for k in ("original", "reconstruction")]
        if None in pics:
            notes.append(f"{index}: example {item.get('image_id')!r} skipped (image file missing or not PNG/JPEG)")
            continue
        taken[bucket] = taken.get(bucket, 0) + 1
        out.append(Example(bucket, str(item.get("image_id", "")), _s(item.get("gt")), _s(item.get("pred")),
                           _score(item.get("score")), pics[0] or "", pics[1] or ""))
    return out, notes


def _s(v: Any) -> str:
    return "" if v is None else str(v)


def _score(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _data_uri(folder: Path, name: Any) -> str | None:
    """The image as a data: URI; only plain file names inside the folder are accepted."""
    if not isinstance(name, str) or not name or Path(name).name != name or name.startswith("."):
        return None
    path = folder / name
    try:
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    mime = next((m for sig, m in _SIGNATURES.items() if data.startswith(sig)), None)
    if mime is None:
        return None
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")
