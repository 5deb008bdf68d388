"""Published reference rows (``results/published/*.json``) as report entries.

A published file (schema ``tokbench.published/1``) holds numbers transcribed from a paper or a
project page, never re-measured, with their source and the protocol, backends and dataset they
were made with. Each row becomes one entry per suite and resolution, carrying only the aspects
the source states, so it shares columns with runs that agree on those.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokbench.errors import ResultError
from tokbench.jsonio import read_json
from tokbench.report.collect import Entry

PUBLISHED_SCHEMA = "tokbench.published/1"
RELATIVE = Path("results") / "published" / "tokbench-paper.json"
# the source checkout's copy; an installed wheel falls back to ./results/published/ (see default_file)
DEFAULT_FILE = Path(__file__).resolve().parents[2] / RELATIVE


def default_file() -> Path:
    """The checkout's published file, else one under the current directory."""
    return DEFAULT_FILE if DEFAULT_FILE.is_file() else Path.cwd() / RELATIVE


_KINDS = {"identity", "discrete", "continuous", "codec"}


class PublishedError(ResultError):
    """A published file that is missing or malformed."""


def load_published(path: Path | None = None) -> list[Entry]:
    """Entries for every (row, suite) of a published file; suites get the metrics they own."""
    path = path or default_file()
    data = read_json(path, PublishedError)
    if not isinstance(data, dict) or data.get("schema") != PUBLISHED_SCHEMA:
        raise PublishedError(f"{path}: not a published-rows file (schema {PUBLISHED_SCHEMA!r} expected)")
    try:
        src = data["source"]
        source = f"{src['repo']}: {src['path']} @{src['commit']}"
        out: list[Entry] = []
        for row in data["rows"]:
            for suite, meta in data["suites"].items():
                metrics = {k: v for k, v in row["metrics"].items() if _owner(k) == suite}
                if metrics:
                    out.append(
                        Entry(
                            _result(data, row, suite, meta, metrics),
                            published={
                                "source": source,
                                "status": data.get("status", "published"),
                                "note": row.get("note", ""),
                                "title": data.get("title", ""),
                            },
                        )
                    )
    except (KeyError, TypeError, AttributeError, ValueError) as e:  # a hand-edited file: one line, no traceback
        raise PublishedError(f"{path}: malformed published file ({type(e).__name__}: {e})") from None
    return out


def _owner(metric: str) -> str:
    """Which TokBench suite a published metric belongs to."""
    return "face" if metric.startswith("f_sim") else "text"


def _result(
    data: dict[str, Any], row: dict[str, Any], suite: str, meta: dict[str, Any], metrics: dict[str, float]
) -> dict[str, Any]:
    kind = row.get("kind", "–")
    return {
        "schema": "tokbench.result/1",
        "model": {"id": row["model"], "info": {"kind": kind if kind in _KINDS else "–", "factor": row.get("factor")}},
        "suite": {"name": suite, "options": dict(meta.get("options") or {})},
        "dataset": dict(data["dataset"]),
        "resolution": int(row["resolution"]),
        "protocol": dict(data["protocol"]),
        "metrics": metrics,
        "counts": {},
    }
