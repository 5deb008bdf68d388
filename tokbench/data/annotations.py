"""Readers for TokBench's own annotation files, so the official files load unchanged.

Text (``text_<name>.json``): a list of ``{file_name, height, width, annotations: [{rec, bbox,
ratio}]}``. Faces (``face_meta.json``): a list of ``{image_name, img_height, img_width, faces:
[{kps, ratio, box}]}``. Per-instance fields (boxes, strings) are checked by the suites, which
count bad instances with a reason; here only the image-level structure is checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokbench import jsonio

FORMATS = ("tokbench-text", "tokbench-face", "images")


class BadAnnotations(ValueError):
    """An annotation file that cannot be read; the message names the file and the place."""


@dataclass
class ImageRecord:
    """One image named by an annotation file, with its instances under a kind key."""

    file_name: str
    annotations: dict[str, Any] = field(default_factory=dict)


def read_json(path: Path) -> Any:
    return jsonio.read_json(path, BadAnnotations)


def detect_format(data: Any) -> str:
    """Guess the format of parsed annotation data from its first record."""
    if isinstance(data, list) and data and isinstance(data[0], dict):
        if "image_name" in data[0] and "faces" in data[0]:
            return "tokbench-face"
        if "file_name" in data[0] and "annotations" in data[0]:
            return "tokbench-text"
    raise BadAnnotations("unknown annotation format: expected TokBench text (file_name/annotations) "
                         "or face (image_name/faces) records")


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
        seen.add(name)
        records.append(ImageRecord(name, {kind: instances}))
    return records, skipped
