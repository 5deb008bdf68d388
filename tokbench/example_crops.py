"""Example crops beside a result, for the HTML report: per scale bucket, the worst, the median and
the best instance (ties broken by image id and instance index, so the choice is deterministic),
original and reconstruction side by side, in ``<result stem>.examples/`` with an ``index.json``."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tokbench.cache import atomic_write_bytes
from tokbench.suite import Item, Suite

BUCKETS = ("small", "medium", "large")
# A crop taller than this is shrunk (aspect kept) so the report stays small.
MAX_SIDE = 96


def choose(records: list[dict[str, Any]], score: str) -> list[dict[str, Any]]:
    """Worst, median and best scored record of each bucket."""
    chosen = []
    for bucket in BUCKETS:
        rows = sorted(
            (r for r in records if r.get("bucket") == bucket and "skip" not in r and score in r),
            key=lambda r: (r[score], str(r["image_id"]), r.get("index", 0)),
        )
        picks = sorted({0, len(rows) // 2, len(rows) - 1}) if rows else []
        chosen += [rows[i] for i in picks]
    return chosen


def _png(arr: np.ndarray) -> bytes:
    img = Image.fromarray(arr)
    if max(img.size) > MAX_SIDE:
        img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def write_examples(
    result_file: Path,
    suite: Suite,
    records: list[dict[str, Any]],
    load_item: Callable[[str], Item | None],
    instances_sha256: str,
) -> int:
    """Write the example folder for ``suite``'s records; returns how many examples were written.

    The index names the sha256 of the instances file it belongs to, so a report never shows the
    crops of an earlier run beside a newer result (or the reverse) after an interrupted rerun."""
    score = suite.example_score
    if score is None:
        return 0
    folder = result_file.with_suffix(".examples")
    index = []
    items: dict[str, Item | None] = {}
    for n, rec in enumerate(choose(records, score)):
        image_id = str(rec["image_id"])
        if image_id not in items:
            items[image_id] = load_item(image_id)
        item = items[image_id]
        pair = suite.example_pair(item, rec) if item is not None else None
        if pair is None:
            continue
        names = (f"{n:03d}-original.png", f"{n:03d}-reconstruction.png")
        for name, arr in zip(names, pair, strict=True):
            atomic_write_bytes(folder / name, _png(arr))
        index.append(
            {
                "bucket": rec["bucket"],
                "image_id": image_id,
                "gt": rec.get("gt"),
                "pred": rec.get("pred"),
                "score": rec[score],
                "original": names[0],
                "reconstruction": names[1],
            }
        )
    atomic_write_bytes(
        folder / "index.json",
        json.dumps({"instances_sha256": instances_sha256, "examples": index}, indent=1, ensure_ascii=False).encode(),
    )
    return len(index)
