"""The report's video section: results made on video datasets get tables of their own.

A video result (one whose ``extra.video`` the video runner wrote) is kept out of the image tables, so a
clip metric never shares a column with an image one; its tables are named ``video-*`` and titled
"Video — ...". TokBench-video's published rows (``results/published/tokbench-video-paper.json``) join
only when a report holds video results, so reports without them are unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tokbench.report.collect import Entry

if TYPE_CHECKING:
    from tokbench.report.tables import Table

VIDEO_PUBLISHED = Path(__file__).resolve().parents[2] / "results" / "published" / "tokbench-video-paper.json"


def is_video(entry: Entry) -> bool:
    return isinstance((entry.result.get("extra") or {}).get("video"), dict)


def split(runs: list[Entry]) -> tuple[list[Entry], list[Entry]]:
    """(image runs, video runs), each in the order given."""
    return [e for e in runs if not is_video(e)], [e for e in runs if is_video(e)]


def published_rows(video_runs: list[Entry], with_published: bool) -> list[Entry]:
    """TokBench-video's transcribed rows, when asked for and there is a video result to set them beside."""
    if not (with_published and video_runs):
        return []
    from tokbench.report.published import load_published

    cwd_copy = Path.cwd() / "results" / "published" / VIDEO_PUBLISHED.name  # an installed wheel: ./results/
    return load_published(VIDEO_PUBLISHED if VIDEO_PUBLISHED.is_file() else cwd_copy)


def mark(tables: list[Table]) -> list[Table]:
    """Name and title tables as the video section's."""
    for t in tables:
        t.name = f"video-{t.name}"
        t.title = f"Video — {t.title}"
    return tables
