"""Example crops the runner writes beside a result: ``<result stem>.examples/index.json``.

The index is a list of ``{"bucket", "image_id", "gt", "pred", "score", "original",
"reconstruction"}``; the last two are PNG file names inside that folder. Images are returned
as ``data:`` URIs so the HTML report needs no other file.

Whatever is embedded ends up in a page that gets shared, so only regular files are read: no
symlinks (a link to ``~/.ssh/id_rsa.png`` would otherwise be published), nothing that resolves
outside the result's folder, at most ``MAX_BYTES`` per image and ``MAX_TOTAL_BYTES`` per result.
Skipped images are counted in a note.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokbench.report.collect import Entry

_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
MAX_BYTES = 2_000_000
MAX_TOTAL_BYTES = 24_000_000  # per result: a report stays a file one can mail


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
    home = entry.path.parent.resolve()
    if folder.is_symlink() or not _inside(folder, home):
        return [], [f"{folder}: example folder is a link or lies outside {home}: not embedded"]
    raw = _read_regular(index, folder, MAX_BYTES)
    if isinstance(raw, str):
        return [], [f"{index}: example index not read ({raw})"]
    try:
        items = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, RecursionError, ValueError) as e:
        return [], [f"{index}: unreadable example index ({str(e).splitlines()[0][:200]})"]
    if isinstance(items, dict):  # since 0.1: the index names the instances file of the run that wrote it
        made_for = items.get("instances_sha256")
        if made_for != entry.result.get("instances_sha256"):
            return [], [f"{index}: example crops of another run (an interrupted rerun?): not embedded"]
        items = items.get("examples")
    if not isinstance(items, list):
        return [], [f"{index}: a list of examples was expected"]
    out: list[Example] = []
    notes: list[str] = []
    skipped: dict[str, int] = {}
    budget = [MAX_TOTAL_BYTES]
    taken: dict[str, int] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        bucket = str(item.get("bucket", "?"))
        if taken.get(bucket, 0) >= per_bucket:
            continue
        pics = [_data_uri(folder, item.get(k), budget) for k in ("original", "reconstruction")]
        reasons = [p for p in pics if not p.startswith("data:")]
        if reasons:
            for reason in reasons:
                skipped[reason] = skipped.get(reason, 0) + 1
            continue
        taken[bucket] = taken.get(bucket, 0) + 1
        out.append(
            Example(
                bucket,
                str(item.get("image_id", "")),
                _s(item.get("gt")),
                _s(item.get("pred")),
                _score(item.get("score")),
                pics[0],
                pics[1],
            )
        )
    if skipped:
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(skipped.items()))
        notes.append(f"{index}: {sum(skipped.values())} example image(s) not embedded ({why})")
    return out, notes


def _s(v: Any) -> str:
    return "" if v is None else str(v)


def _score(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a symlink loop
        return False


def _read_regular(path: Path, folder: Path, limit: int) -> bytes | str:
    """The bytes of a regular file inside ``folder``, or why not (a short reason)."""
    try:
        # O_NOFOLLOW: a symlink is refused by the open itself, so it cannot be swapped in after a check;
        # O_NONBLOCK: opening a FIFO does not wait for a writer (fstat then says it is no file)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return "missing"
    except OSError as e:
        return "symlink" if path.is_symlink() else f"unreadable ({e.strerror or e})".lower()
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        if not _inside(path, folder.resolve()):
            return "outside the folder"
        if info.st_size > limit:
            return "too large"
        data = f.read(limit + 1)
    return data if len(data) <= limit else "too large"


def _data_uri(folder: Path, name: Any, budget: list[int]) -> str:
    """The image as a data: URI, or why it is not embedded. Only plain file names inside the
    folder are accepted; ``budget`` holds the bytes this result may still embed."""
    if not isinstance(name, str) or not name or Path(name).name != name or name.startswith("."):
        return "bad file name"
    data = _read_regular(folder / name, folder, min(MAX_BYTES, budget[0]))
    if isinstance(data, str):
        return "too large (or over the per-result budget)" if data == "too large" else data
    mime = next((m for sig, m in _SIGNATURES.items() if data.startswith(sig)), None)
    if mime is None:
        return "not PNG/JPEG"
    budget[0] -= len(data)
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")
