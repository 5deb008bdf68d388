"""``tokbench report``: collect results, build tables, write each requested format into a folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokbench.errors import RunFailed
from tokbench.rd import board
from tokbench.report import video_section
from tokbench.report.collect import Entry, collect, dedupe
from tokbench.report.intervals import attach
from tokbench.report.metrics import SpecBook, book_of
from tokbench.report.tables import LongTable, Table, build_tables, counts_table, language_detail

FORMATS = ("md", "csv", "html", "latex", "json", "png", "site")  # site: a multi-page folder (site.py)


@dataclass
class Report:
    tables: list[Table]
    runs: list[Entry]
    notes: list[str] = field(default_factory=list)
    details: dict[str, LongTable] = field(default_factory=dict)  # headline table name -> all its statistics
    book: SpecBook = field(default_factory=SpecBook)  # the metric declarations every format reads
    rd: list[dict[str, Any]] = field(default_factory=list)  # rd files (tokbench rd): their own section
    intervals: bool = True  # show the stored confidence intervals (tables, charts)


def make_report(
    paths: list[str | Path],
    mix_protocols: bool = False,
    with_published: bool = False,
    published_file: Path | None = None,
    intervals: bool = True,
) -> Report:
    """Tables from result files (raises ``ProtocolConflict`` / ``CollectError`` / ``PublishedError``);
    ``intervals=False`` leaves out the confidence intervals results store."""
    found = collect(paths)
    notes = list(found.notes)
    runs = dedupe(found.entries, notes)
    published: list[Entry] = []
    if with_published:
        from tokbench.report.published import load_published

        published = load_published(published_file)
    image_runs, video_runs = video_section.split(runs)
    video_published = video_section.published_rows(video_runs, with_published)
    book = book_of(runs + published + video_published)  # runs first: their declarations win over published rows'
    notes += book.notes
    tables = build_tables(image_runs, published if image_runs or not video_runs else [], mix_protocols, book)
    if video_runs:  # their own section: clip metrics never share columns with image ones
        tables += video_section.mark(build_tables(video_runs, video_published, mix_protocols, book))
    if intervals:
        for t in tables:
            attach(t)
    details = {t.name: d for t in tables if t.kind == "language" and (d := language_detail(t, book)) is not None}
    return Report(tables, runs, notes, details, book, board.load(paths), intervals=intervals)


def write_report(report: Report, formats: list[str], output: Path, failures: list[str] | None = None) -> list[Path]:
    """Write the formats into ``output``; returns the files written.

    A format that fails (a plotting library choking on a name, a full disk) is recorded in
    ``failures`` as one line and the other formats are still written; without ``failures`` the
    first such error is raised after every format has been tried.
    """
    from tokbench.report import render, sweep_section

    output.mkdir(parents=True, exist_ok=True)
    counts = counts_table(report.runs)
    written: list[Path] = []
    failed: list[str] = []

    def put(name: str, text: str) -> None:
        path = output / name
        path.write_text(text, encoding="utf-8")
        written.append(path)

    def write(fmt: str) -> None:
        if fmt == "md":
            put(
                "report.md",
                render.to_markdown(report.tables, counts, report.notes, report.details) + board.markdown(report.rd),
            )
            if sweep_section.sweep_entries(report.runs):  # only with a sweep result: other reports unchanged
                put("sweep-thresholds.md", sweep_section.threshold_markdown(report.runs))
        elif fmt == "csv":
            for t in report.tables:
                put(f"{t.name}.csv", render.to_csv(t))
            for d in report.details.values():
                put(f"{d.name}.csv", render.long_csv(d))
            put("counts.csv", render.counts_csv(counts))
            if sweep_section.sweep_entries(report.runs):
                put("sweep-thresholds.csv", sweep_section.threshold_csv(report.runs))
            for name, text in board.csv_files(report.rd).items():
                put(name, text)
        elif fmt == "latex":
            put("report.tex", render.to_latex(report.tables))
        elif fmt == "json":
            put("report.json", render.to_json(report.tables, counts, report.notes, report.details))
        elif fmt == "png":
            from tokbench.report.png import write_language_pngs

            written.extend(write_language_pngs(report.runs, output / "plots"))
            written.extend(sweep_section.write_sweep_pngs(report.runs, output / "plots"))
        elif fmt == "html":
            from tokbench.report.html import to_html

            page = to_html(
                report.tables, counts, report.runs, report.notes, report.book, report.details, report.intervals
            )
            put("report.html", board.with_html(page, report.rd))
        elif fmt == "site":
            from tokbench.report.site import write_site

            written.extend(write_site(report, output))

    for fmt in formats:
        try:
            write(fmt)
        except Exception as e:  # one format's failure must not cost the others
            failed.append(f"{fmt}: {type(e).__name__}: {e}".splitlines()[0])
    if failures is not None:
        failures.extend(failed)
    elif failed:
        raise ReportWriteError("; ".join(failed))
    return written


class ReportWriteError(RunFailed):
    """One or more formats could not be written (the others were)."""
