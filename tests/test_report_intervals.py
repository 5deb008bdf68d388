"""``tokbench report`` shows the intervals ``tokbench.result/3`` files store (issue #17, Reports):
``value [low, high]`` in Markdown / HTML / LaTeX / site, ``_lo`` / ``_hi`` columns in CSV, error bars
on the charts; nothing for published rows, older files or malformed intervals; ``--no-intervals``."""

from __future__ import annotations

import copy
import csv
import json
import re
from pathlib import Path
from typing import Any

from fakes import make_result
from typer.testing import CliRunner

from tokbench.cli import app
from tokbench.report.build import make_report
from tokbench.report.collect import Entry
from tokbench.report.intervals import attach, stored_interval
from tokbench.report.metrics import book_of
from tokbench.report.plots import scale_charts
from tokbench.report.tables import build_tables
from tokbench.results import result_path, write_result

RUNNER = CliRunner(env={"FORCE_COLOR": None, "TTY_COMPATIBLE": None, "TOKBENCH_DEBUG": None, "COLUMNS": "200"})
HOSTILE = "<b>tok</b> | $x_1$ [y]"
TEXT = {
    "t_acc_small": 10.004,
    "t_acc_medium": 30.0,
    "t_acc_large": 60.0,
    "t_acc": 100.0 / 3,
    "t_ned_small": 30.0,
    "t_ned_medium": 50.0,
    "t_ned_large": 70.0,
    "t_ned": 50.0,
}
# asymmetric on purpose: a "± half-width" rendering would not reproduce these bounds
BOUNDS = {"t_acc_small": (8.0, 12.5), "t_acc": (30.1, 36.25), "psnr": (24.5, 25.75)}


def _block(metrics: dict[str, Any]) -> dict[str, Any]:
    return {"method": "bca", "confidence": 0.95, "resamples": 2000, "seed": 0, "metrics": metrics}


def _write(root: Path, model: str, suite: str, metrics: dict[str, float], intervals: bool) -> None:
    """A ``/3`` result with BOUNDS stored for its metrics, or the same numbers as a ``/2`` file without."""
    result = make_result(model=model, suite=suite, dataset="tokbench-official", metrics=metrics)
    if intervals:
        stored = {k: {"low": lo, "high": hi, "method": "bca"} for k, (lo, hi) in BOUNDS.items() if k in metrics}
        result["intervals"] = _block(stored)
    else:
        result["schema"] = "tokbench.result/2"
    path = result_path(root, model, "tokbench-official", suite, 256)
    write_result(path, result, [])


def _results(root: Path, intervals: bool = True) -> Path:
    _write(root, HOSTILE, "text", TEXT, intervals)
    _write(root, HOSTILE, "recon", {"psnr": 25.0, "ssim": 0.8}, intervals)
    _write(root, "tok-b", "text", {k: v / 2 for k, v in TEXT.items()}, False)  # an older file beside them
    return root


def _report(results: Path, out: Path, *flags: str) -> Path:
    done = RUNNER.invoke(
        app, ["report", str(results), "--output-dir", str(out), "--format", "md,csv,latex,json,html,site", *flags]
    )
    assert done.exit_code == 0, done.output
    return out


def _md_row(md: str, model_cell: str, section: str) -> list[str]:
    block = md.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    line = next(ln for ln in block.splitlines() if ln.startswith(f"| {model_cell} |"))
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def test_intervals_in_every_table_format(tmp_path: Path) -> None:
    out = _report(_results(tmp_path / "r"), tmp_path / "out")
    md = (out / "report.md").read_text()
    escaped = "\\<b\\>tok\\</b\\> \\| $x_1$ \\[y\\]"
    row = _md_row(md, escaped, "TokBench: text and faces by scale @256")
    assert row[5:9] == ["10.00 \\[8.00, 12.50\\]", "30.00", "60.00", "33.33 \\[30.10, 36.25\\]"]
    assert row[9] == "30.00"  # T-NED stores no interval: none is shown
    older = _md_row(md, "tok-b", "TokBench: text and faces by scale @256")
    assert older[5:9] == ["5.00", "15.00", "30.00", "16.67"]  # a /2 file beside a /3 one: plain numbers
    assert "the 95 % confidence interval each result file stores" in md
    assert _md_row(md, escaped, "Reconstruction @256")[5:7] == ["25.00 \\[24.50, 25.75\\]", "0.8000"]

    tex = (out / "report.tex").read_text()
    assert "10.00 {[}8.00, 12.50{]}" in tex and "\\textless{}b\\textgreater{}tok" in tex

    for page in (out / "report.html", out / "index.html"):
        html = page.read_text()
        assert 'data-v="10.004"' in html and ">10.00 [8.00, 12.50]</td>" in html  # sorts by the value
        assert "<b>tok</b>" not in html and "&lt;b&gt;tok&lt;/b&gt;" in html

    with (out / "tokbench-256.csv").open() as f:
        rows = list(csv.DictReader(f))
    header = list(rows[0])
    at = header.index("t_acc_small")
    assert header[at : at + 4] == ["t_acc_small", "t_acc_small_lo", "t_acc_small_hi", "t_acc_medium"]
    assert "t_ned_lo" not in header and "t_acc_medium_lo" not in header
    mine, older_csv = (next(r for r in rows if r["Model"] == m) for m in (HOSTILE, "tok-b"))
    assert (float(mine["t_acc_lo"]), float(mine["t_acc_hi"])) == BOUNDS["t_acc"]  # numbers, full precision
    assert older_csv["t_acc_lo"] == older_csv["t_acc_hi"] == ""

    doc = json.loads((out / "report.json").read_text())
    by_model = {r["model"]: r for r in doc["tables"][0]["rows"]}
    assert by_model[HOSTILE]["intervals"] == {k: list(BOUNDS[k]) for k in ("t_acc_small", "t_acc")}
    assert "intervals" not in by_model["tok-b"]


def _strip_time(text: str) -> str:
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "", text)


def _files(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): _strip_time(p.read_text()) for p in sorted(out.rglob("*")) if p.is_file()}


def test_no_intervals_renders_exactly_what_a_file_without_them_renders(tmp_path: Path) -> None:
    results = _results(tmp_path / "r")
    shown = _files(_report(results, tmp_path / "shown"))
    hidden = _files(_report(results, tmp_path / "hidden", "--no-intervals"))
    _results(results, intervals=False)  # the same numbers as /2 files, at the same paths
    older = _files(_report(results, tmp_path / "older"))
    raw = {k for k in hidden if k.startswith("raw/")}  # copies of the result files themselves
    assert {k: v for k, v in hidden.items() if k not in raw} == {k: v for k, v in older.items() if k not in raw}
    assert "[8.00, 12.50]" not in "".join(hidden.values()) and 'class="bar"' not in "".join(hidden.values())
    assert shown["report.md"] != hidden["report.md"] and 'class="bar"' in shown["report.html"]


def _entry(intervals: dict[str, Any] | None, metrics: dict[str, float] | None = None) -> Entry:
    result = dict(make_result(suite="text", metrics=dict(metrics or TEXT)))
    if intervals is not None:
        result["intervals"] = _block(intervals)
    return Entry(result)


def test_a_malformed_interval_is_no_interval() -> None:
    good = {"low": 8.0, "high": 12.5}
    bad = [
        {"low": None, "high": 12.5},
        {"high": 12.5},
        {"low": 8.0},
        {"low": 13.0, "high": 12.5},
        {"low": float("nan"), "high": 12.5},
        {"low": True, "high": 12.5},
        {"low": "8", "high": "12.5"},
        [8.0, 12.5],
        None,
    ]
    assert stored_interval(_entry({"t_acc_small": good}), "t_acc_small") == (8.0, 12.5)
    for iv in bad:
        assert stored_interval(_entry({"t_acc_small": iv}), "t_acc_small") is None, iv
    assert stored_interval(_entry(None), "t_acc_small") is None
    entries = [_entry({"t_acc_small": iv}) for iv in [good, *copy.deepcopy(bad)]]
    for i, e in enumerate(entries):
        e.result["model"]["id"] = f"tok-{i}"
    book = book_of(entries)
    [table, *_] = build_tables(entries, [], False, book)
    attach(table)
    cells = [table.display(r, "t_acc_small") for r in range(len(table.frame))]
    assert sorted(cells) == ["10.00"] * len(bad) + ["10.00 [8.00, 12.50]"]


def test_published_rows_show_no_interval(tmp_path: Path) -> None:
    results = _results(tmp_path / "r")
    report = make_report([results], with_published=True)
    table = next(t for t in report.tables if t.name == "tokbench-256")
    published = table.published_rows()
    assert published and table.intervals  # published rows share the table with a /3 run's intervals
    assert not [key for key in table.intervals if key[0] in published]


def test_charts_draw_error_bars_only_where_an_interval_is_stored() -> None:
    text = {**TEXT, "t_acc_medium": 30.0}
    with_bars = _entry({"t_acc_small": {"low": 8.0, "high": 12.5}, "t_acc_large": {"low": 55.0, "high": 64.0}}, text)
    book = book_of([with_bars])
    t_acc = next(c for c in scale_charts([with_bars], book) if "T-ACC versus scale" in c)
    assert t_acc.count('class="bar"') == 2  # small and large; medium stores none
    bar = re.search(r'<path class="bar" d="M([\d.]+),([\d.]+)V([\d.]+)', t_acc)
    assert bar is not None and float(bar.group(2)) > float(bar.group(3))  # low drawn below high
    assert not any('class="bar"' in c for c in scale_charts([with_bars], book, intervals=False))
    assert not any('class="bar"' in c for c in scale_charts([_entry(None)], book))
