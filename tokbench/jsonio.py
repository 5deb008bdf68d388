"""Reading JSON files with errors that name the file and the line, raised as the caller's own type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_json(path: Path, error: type[Exception] = ValueError) -> Any:
    """Parsed JSON of ``path``; unreadable, non-UTF-8 or malformed files raise ``error`` with the place."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise error(f"{path}: cannot read ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise error(f"{path}: not UTF-8 text ({e})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise error(f"{path}: malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
