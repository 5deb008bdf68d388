"""Readers for TokBench's own annotation files, so the official files load unchanged.

Text (``text_<name>.json``): a list of ``{file_name, height, width, annotations: [{rec, bbox,
ratio}]}``. Faces (``face_meta.json``): a list of ``{image_name, img_height, img_width, faces:
[{kps, ratio, box}]}``. Per-instance fields (boxes, strings) are checked by the suites, which
count bad instances with a reason; here the image-level structure is checked, and the numbers of
the instance fields the suites compute with (``NUMERIC_FIELDS``): a non-finite one, or one beyond
``MAX_COORDINATE`` in magnitude, would crash a backend or land in a bucket unnoticed, so its image
is skipped with the reason ``bad number in field '<field>'``. Text ``bbox`` is left to
:mod:`tokbench.data.crops`, which skips such an instance alone as an unreadable bbox.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokbench import jsonio
from tokbench.data.crops import MAX_COORDINATE
from tokbench.errors import DataError

FORMATS = ("tokbench-text", "tokbench-face", "images")
# instance fields whose numbers are used in arithmetic, per instance kind
NUMERIC_FIELDS = {"text": ("ratio",), "faces": ("kps", "box", "ratio")}


class BadAnnotations(DataError):
    """An annotation file that cannot be read; the message names the file and the place."""


@dataclass
class ImageRecord:
    """One image named by an annotation file, with its instances under a kind key."""

    file_name: str
    annotations: dict[str, Any] = field(default_factory=dict)


def read_json(path: Path) -> Any:
    try:
        return jsonio.read_json(path, BadAnnotations)
    except BadAnnotations:
        raise
    except (ValueError, RecursionError) as e:  # an integer over 4300 digits, or nesting deeper than the stack
        raise BadAnnotations(f"{path}: unreadable JSON ({type(e).__name__}: {str(e)[:120]})") from None


def detect_format(data: Any) -> str:
    """Guess the format of parsed annotation data from its first record."""
    if isinstance(data, list) and data and isinstance(data[0], dict):
        if "image_name" in data[0] and "faces" in data[0]:
            return "tokbench-face"
        if "file_name" in data[0] and "annotations" in data[0]:
            return "tokbench-text"
    raise BadAnnotations(
        "unknown annotation format: expected TokBench text (file_name/annotations) or face (image_name/faces) records"
    )


def read_annotations(path: Path, fmt: str | None = None) -> tuple[list[ImageRecord], list[tuple[str, str]]]:
    """Read a TokBench annotation file -> (image records, [(where, reason)] of skipped records)."""
    data = read_json(path)
    if not isinstance(data, list):
        raise BadAnnotations(f"{path}: expected a JSON list of image records, got {type(data).__name__}")
    try:
        fmt = fmt or detect_format(data)
    except BadAnnotations as e:
        raise BadAnnotations(f"{path}: {e}") from None
    if fmt == "tokbench-text":
        name_key, inst_key, kind = "file_name", "annotations", "text"
    elif fmt == "tokbench-face":
        name_key, inst_key, kind = "image_name", "faces", "faces"
    else:
        raise BadAnnotations(f"{path}: unknown annotation format {fmt!r}; known: {', '.join(FORMATS)}")
    records: list[ImageRecord] = []
    skipped: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, rec in enumerate(data):
        where = f"{path.name}[{i}]"
        if not isinstance(rec, dict):
            skipped.append((where, "record is not an object"))
            continue
        name = rec.get(name_key)
        if not isinstance(name, str) or not name:
            skipped.append((where, f"missing field {name_key!r}"))
            continue
        instances = rec.get(inst_key)
        if not isinstance(instances, list):
            skipped.append((name, f"missing or non-list field {inst_key!r}"))
            continue
        if name in seen:
            skipped.append((name, "duplicate file name in annotations"))
            continue
        bad = _bad_number(instances, kind)
        if bad:
            skipped.append((name, bad))
            continue
        seen.add(name)
        records.append(ImageRecord(name, {kind: instances}))
    return records, skipped


def _bad_number(instances: list[Any], kind: str) -> str | None:
    """The skip reason for the first non-finite or out-of-range number in a used field, else None."""
    for i, inst in enumerate(instances):
        if not isinstance(inst, dict):
            continue  # the suite skips a non-object instance itself
        for name in NUMERIC_FIELDS[kind]:
            value = _first_bad(inst.get(name))
            if value is not None:
                return f"bad number in field {name!r}: {kind}[{i}] has {value} (finite, |value| <= 2**31 expected)"
    return None


def _first_bad(value: Any, depth: int = 0) -> str | None:
    """How the first bad number in ``value`` (a number or nested lists of numbers) reads, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if abs(value) <= MAX_COORDINATE else _short(value)
    if isinstance(value, float):
        return None if math.isfinite(value) and abs(value) <= MAX_COORDINATE else repr(value)
    if isinstance(value, list) and depth < 3:  # kps nest two deep; deeper is not a TokBench field
        for v in value:
            bad = _first_bad(v, depth + 1)
            if bad is not None:
                return bad
    return None


def _short(value: int) -> str:
    text = str(value)  # JSON integers are below Python's 4300-digit str limit (read_json refuses more)
    return text if len(text) <= 20 else f"{text[:20]}... ({len(text)} digits)"
