"""Hostile and malformed result files against ``check``, ``compare``, ``report`` and ``import``
(issue #23, items 8-11): one error line and exit 2 for unusable input, names escaped for every
output format, non-finite numbers refused, nothing written or embedded outside its folder."""

from __future__ import annotations

import base64
import copy
import csv
import io
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from fakes import make_result, write_examples, write_fake
from typer.testing import CliRunner

from tokbench.cli import app

RUNNER = CliRunner(env={"FORCE_COLOR": None, "TTY_COMPATIBLE": None, "TOKBENCH_DEBUG": None, "COLUMNS": "200"})
TEXT = {"t_acc": 50.0, "t_acc_small": 20.0, "t_ned": 70.0}


def cli(*args: str | Path) -> Any:
    return RUNNER.invoke(app, [str(a) for a in args])


def _good(tmp_path: Path, **kw: Any) -> Path:
    return write_fake(tmp_path / "good", model="tok:v1", suite="text", metrics=dict(TEXT), **kw)


def _valid() -> dict[str, Any]:
    return json.loads(json.dumps(make_result(model="tok:v2", suite="text", metrics=dict(TEXT))))


def _set(path: str, value: Any) -> Any:
    """A mutation of a valid result: ``path`` (dotted) set to ``value``, or deleted for ``...``."""

    def apply(doc: dict[str, Any]) -> str:
        *parents, key = path.split(".")
        holder = doc
        for p in parents:
            holder = holder[p]
        if value is ...:
            del holder[key]
        else:
            holder[key] = copy.deepcopy(value)
        return json.dumps(doc)  # NaN / inf become the NaN / Infinity tokens Python's json reads back

    return apply


def _raw(text: str | bytes) -> Any:
    return lambda doc: text


def _replace(old: str, new: str) -> Any:
    """Text-level surgery on the valid file, for numbers json.dumps cannot write (1e999, 400 digits)."""
    return lambda doc: json.dumps(doc).replace(old, new, 1)


def _deep(levels: int, where: str) -> Any:
    def apply(doc: dict[str, Any]) -> str:
        text = json.dumps(doc)
        nest = "[" * levels + "]" * levels
        return text.replace(f'"{where}": {{', f'"{where}": {{"deep": {nest}, ', 1)

    return apply


# (id, how the file is made, a word the one-line error must contain besides the file name)
CORPUS: list[tuple[str, Any, str]] = [
    ("truncated-json", _raw("{"), "malformed JSON"),
    ("empty-file", _raw(""), "malformed JSON"),
    ("not-utf8", _raw(b"\xff\xfe{\x00"), "UTF-8"),
    ("top-level-array", _raw("[1, 2]"), "not a tokbench result"),
    ("other-schema", _set("schema", "other/1"), "not a tokbench result"),
    ("metrics-missing", _set("metrics", ...), "metrics"),
    ("metrics-a-list", _set("metrics", [1, 2]), "metrics"),
    ("metric-a-string", _set("metrics.t_acc", "50.0"), "t_acc"),
    ("metric-a-bool", _set("metrics.t_acc", True), "t_acc"),
    ("metric-an-object", _set("metrics.t_acc", {"v": 1}), "t_acc"),
    ("metric-infinity", _set("metrics.t_acc", float("inf")), "t_acc"),
    ("metric-minus-infinity", _set("metrics.t_ned", float("-inf")), "t_ned"),
    ("metric-nan", _set("metrics.t_acc", float("nan")), "t_acc"),
    ("metric-1e999", _replace('"t_acc": 50.0', '"t_acc": 1e999'), "t_acc"),
    ("metric-400-digit-int", _replace('"t_acc": 50.0', '"t_acc": ' + "9" * 400), "t_acc"),
    ("int-of-5000-digits", _replace('"t_acc": 50.0', '"t_acc": ' + "9" * 5000), "digits"),
    ("resolution-a-string", _set("resolution", "256"), "resolution"),
    ("resolution-a-float", _set("resolution", 256.5), "resolution"),
    ("resolution-negative", _set("resolution", -256), "resolution"),
    ("resolution-huge", _set("resolution", 10**30), "resolution"),
    ("resolution-a-bool", _set("resolution", True), "resolution"),
    ("model-a-string", _set("model", "tok"), "model"),
    ("model-id-a-list", _set("model.id", ["tok"]), "model.id"),
    ("model-info-a-list", _set("model.info", [1]), "model.info"),
    ("suite-name-a-number", _set("suite.name", 7), "suite.name"),
    ("suite-options-a-list", _set("suite.options", ["ocr"]), "suite.options"),
    ("dataset-a-list", _set("dataset", ["ds"]), "dataset"),
    ("dataset-name-null", _set("dataset.name", None), "dataset.name"),
    ("identity-a-string", _set("dataset.identity", "sha"), "dataset.identity"),
    ("protocol-a-list", _set("protocol", ["tokbench-paper"]), "protocol"),
    ("counts-a-list", _set("counts", [9]), "counts"),
    ("images-skipped-a-list", _set("counts.images_skipped", ["x"]), "counts.images_skipped"),
    ("rate-a-list", _set("rate", [0.25]), "rate"),
    ("bpp-a-string", _set("rate.bpp_mean", "0.25"), "rate.bpp_mean"),
    ("extra-a-list", _set("extra", [1]), "extra"),
    ("nested-100000-deep", _deep(100_000, "extra"), "nested"),
    ("nested-500-deep", _deep(500, "protocol"), "nested"),
]


def _write_bad(tmp_path: Path, make: Any) -> Path:
    bad = tmp_path / "bad" / "text-256.json"
    bad.parent.mkdir(parents=True)
    content = make(_valid())
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content, encoding="utf-8")
    return bad


def _one_error_line(result: Any, bad: Path, needle: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and str(bad) in lines[0] and needle in lines[0], lines[0]
    assert "Traceback" not in result.output


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 20 and len({c[0] for c in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize(("make", "needle"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_malformed_result_is_one_error_line_and_exit_2(tmp_path: Path, make: Any, needle: str) -> None:
    good = _good(tmp_path)
    bad = _write_bad(tmp_path, make)
    _one_error_line(cli("check", bad, "--baseline", good), bad, needle)
    _one_error_line(cli("check", good, "--baseline", bad), bad, needle)
    _one_error_line(cli("compare", good, bad), bad, needle)
    _one_error_line(cli("report", bad, "--output-dir", tmp_path / "out", "--format", "md,csv,json"), bad, needle)


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (_set("metrics.t_acc", "50.0"), "t_acc"),
        (_replace('"t_acc": 50.0', '"t_acc": ' + "9" * 5000), "digits"),  # unparsable, but names our schema
        (_deep(100_000, "extra"), "nested"),
    ],
)
def test_malformed_result_inside_a_folder_is_not_skipped_silently(tmp_path: Path, make: Any, needle: str) -> None:
    good = _good(tmp_path)
    bad = _write_bad(tmp_path, make)
    write_fake(tmp_path / "bad", model="tok:v2", suite="recon", metrics={"psnr": 25.0})
    _one_error_line(cli("check", bad.parent, "--baseline", good), bad, needle)


# --- item 8 and 9: names from files in terminal output -------------------------------------------------


HOSTILE = "[/x] [bold]b[/bold] :smile: \x1b[2J\x1b]0;pwned\x07 \x9b31m \u202eevil"


def test_markup_and_escape_codes_in_names_are_shown_not_interpreted(tmp_path: Path) -> None:
    old = write_fake(tmp_path / "old", model=f"tok{HOSTILE}", suite="text", dataset=f"ds{HOSTILE}", metrics=dict(TEXT))
    new = write_fake(
        tmp_path / "new",
        model=f"v2{HOSTILE}",
        suite="text",
        dataset=f"ds{HOSTILE}",
        metrics={**TEXT, "t_acc": 40.0, "level0.x": 2.0},
    )
    for args, code in ((("check", new, "--baseline", old), 1), (("compare", old, new), 0)):
        out = cli(*args)
        assert out.exit_code == code, (out.output, out.exception)
        assert "[/x]" in out.stdout and "[bold]b[/bold]" in out.stdout and ":smile:" in out.stdout
        for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
            assert raw not in out.output
        assert "\\x1b[2J" in out.stdout and "\\u202e" in out.stdout


def test_escape_codes_in_error_lines_are_visible(tmp_path: Path) -> None:
    bad = _write_bad(tmp_path, _set("metrics", {"t\x1b[31macc": "x"}))
    out = cli("check", bad, "--baseline", _good(tmp_path))
    assert out.exit_code == 2 and "\x1b" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_unexpected_crash_is_exit_2_not_regressed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tokbench.report.gate as gate

    def boom(*args: Any, **kwargs: Any) -> None:
        raise TypeError("unexpected\nsecond line")

    monkeypatch.setattr(gate, "check_pair", boom)
    good = _good(tmp_path)
    out = cli("check", good, "--baseline", good)
    assert out.exit_code == 2 and len(out.stderr.strip().splitlines()) == 1 and "TypeError" in out.stderr


# --- item 9: Markdown, CSV, LaTeX, PNG -----------------------------------------------------------------

INJECT = "x\n# Heading ![x](http://evil.example/x.png) <img src=x onerror=alert(1)> | `c` *e*"


def test_github_format_escapes_names(tmp_path: Path) -> None:
    old = write_fake(tmp_path / "old", model="v1", suite="text", dataset=INJECT, metrics=dict(TEXT))
    write_fake(tmp_path / "new", model="v2", suite="text", dataset=INJECT, metrics={**TEXT, "t_acc": 40.0})
    write_fake(tmp_path / "new", model="v2", suite="recon", dataset=INJECT, metrics={"psnr": 1.0})  # a note
    out = cli("check", tmp_path / "new", "--baseline", old, "--format", "github")
    assert out.exit_code == 1, out.output
    md = out.stdout
    assert not re.search(r"(?<!\\)(!\[|<img|\n# Heading)", md), md  # nothing unescaped
    assert "\\!\\[x\\](http://evil.example/x.png)" in md and "\\<img src=x" in md
    row = next(line for line in md.splitlines() if "T-ACC" in line and "REGRESSED" in line)
    assert row.replace("\\|", "").count("|") == 10  # the name's "|" does not add a column


def test_report_markdown_escapes_raw_html_in_cells_and_notes(tmp_path: Path) -> None:
    write_fake(tmp_path / "r", model="<script>alert(1)</script>", suite="text", dataset=INJECT, metrics=TEXT)
    write_fake(tmp_path / "r", model="<b>dup</b>", suite="text", dataset=INJECT, metrics=TEXT)
    write_fake(
        tmp_path / "r",
        model="<b>dup</b>",
        suite="text",
        dataset=INJECT,
        metrics=TEXT,
        created="2026-02-01T00:00:00+00:00",
        resolution=256,
        identity={"manifest_sha256": "sha-x"},
    )
    out = cli("report", tmp_path / "r", "--output-dir", tmp_path / "out", "--format", "md", "--mix-protocols")
    assert out.exit_code == 0, out.output
    md = (tmp_path / "out" / "report.md").read_text()
    assert not re.search(r"(?<!\\)(<script|<b>|!\[|\n# Heading)", md), md
    assert "\\<script\\>alert(1)\\</script\\>" in md


@pytest.mark.parametrize(
    "name", ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]
)
def test_csv_cells_cannot_start_a_formula(tmp_path: Path, name: str) -> None:
    write_fake(tmp_path / "r", model=name, suite="recon", dataset=name, metrics={"psnr": 25.0, "weird_x": -1.5})
    write_fake(
        tmp_path / "r",
        model=name,
        suite="language",
        dataset=name,
        metrics={f"level0.{k}": 1.0 for k in ("utilization", "a", "b", "c", "d", "e", "f", "g", "h", "i")},
    )
    out = cli("report", tmp_path / "r", "--output-dir", tmp_path / "out", "--format", "csv")
    assert out.exit_code == 0, out.output
    files = sorted((tmp_path / "out").glob("*.csv"))
    assert len(files) >= 4  # recon, other, language, its long table, counts
    cells = [c for f in files for row in csv.reader(io.StringIO(f.read_bytes().decode())) for c in row]
    assert "'" + name.replace("\r", "\n") in cells  # a lone CR would split the row: it is written as LF
    bad = [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or (c.startswith("-") and c != "-1.5")]
    assert not bad, bad
    other = (tmp_path / "out" / "other-256.csv").read_text()
    assert ",-1.5," in other or other.rstrip().endswith(",-1.5") or ",-1.5\n" in other  # numbers stay numbers


def test_latex_escapes_specials_and_brackets(tmp_path: Path) -> None:
    write_fake(tmp_path / "r", model="[3pt] \\input{/etc/passwd} $x$ 50% a&b", suite="recon", metrics={"psnr": 25.0})
    out = cli("report", tmp_path / "r", "--output-dir", tmp_path / "out", "--format", "latex")
    assert out.exit_code == 0, out.output
    tex = (tmp_path / "out" / "report.tex").read_text()
    assert "\\input{" not in tex and "[3pt]" not in tex
    assert "{[}3pt{]} \\textbackslash{}input\\{/etc/passwd\\} \\$x\\$ 50\\% a\\&b" in tex


def _language(tmp_path: Path, model: str) -> Path:
    return write_fake(
        tmp_path / "r",
        model=model,
        suite="language",
        metrics={"level0.utilization": 0.5},
        extra={
            "rank_frequency": {"rank": [1, 2, 3, 4], "count": [9, 4, 2, 1]},
            "innovation": {"images": [1, 2, 4], "types": [3, 5, 6]},
        },
    )


def test_png_survives_mathtext_in_names(tmp_path: Path) -> None:
    _language(tmp_path, "tok $\\macro$ $x^$")
    out = cli("report", tmp_path / "r", "--output-dir", tmp_path / "out", "--format", "png,md")
    assert out.exit_code == 0, (out.output, out.exception)
    assert len(list((tmp_path / "out" / "plots").glob("*.png"))) == 2 and (tmp_path / "out" / "report.md").exists()


def test_a_failing_format_does_not_lose_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tokbench.report.png as png

    def broken(*args: Any, **kwargs: Any) -> list[Path]:
        raise RuntimeError("matplotlib fell over\nwith a second line")

    monkeypatch.setattr(png, "write_language_pngs", broken)
    _language(tmp_path, "tok")
    out = cli("report", tmp_path / "r", "--output-dir", tmp_path / "out", "--format", "png,md,csv,json")
    assert out.exit_code == 2
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: could not write png: RuntimeError: matplotlib fell over"]
    for name in ("report.md", "report.json", "counts.csv"):
        assert (tmp_path / "out" / name).exists()


# --- item 10: the gate and non-finite numbers ---------------------------------------------------------


def _strict(text: str) -> Any:
    def refuse(token: str) -> None:
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("side", ["new", "baseline"])
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_non_finite_metric_is_an_error_naming_file_and_metric(tmp_path: Path, side: str, value: float) -> None:
    good = _good(tmp_path)
    bad = _write_bad(tmp_path, _set("metrics.t_acc", value))
    new, old = (bad, good) if side == "new" else (good, bad)
    out = cli("check", new, "--baseline", old, "--format", "json")
    assert out.exit_code == 2, out.output
    doc = _strict(out.stdout)  # strict JSON even when refusing
    assert doc["verdict"] == "cannot compare" and doc["exit_code"] == 2 and "t_acc" in doc["problems"][0]
    _one_error_line(out, bad, "t_acc")


def test_gated_metric_null_in_the_baseline_is_an_error(tmp_path: Path) -> None:
    old = write_fake(tmp_path / "old", model="v1", suite="text", metrics={**TEXT, "t_acc_small": None})
    new = write_fake(tmp_path / "new", model="v2", suite="text", metrics=dict(TEXT))
    out = cli("check", new, "--baseline", old, "--format", "json")
    assert out.exit_code == 2
    problems = _strict(out.stdout)["problems"]
    assert any("t_acc_small is null in the baseline" in p for p in problems), problems


def test_gated_metric_null_in_new_says_null(tmp_path: Path) -> None:
    old = write_fake(tmp_path / "old", model="v1", suite="text", metrics=dict(TEXT))
    new = write_fake(tmp_path / "new", model="v2", suite="text", metrics={**TEXT, "t_acc_small": None})
    out = cli("check", new, "--baseline", old, "--format", "json")
    assert out.exit_code == 2
    assert any("t_acc_small is null in the new result" in p for p in _strict(out.stdout)["problems"])


def test_gated_metric_absent_from_the_baseline_is_listed_with_a_note(tmp_path: Path) -> None:
    old = write_fake(tmp_path / "old", model="v1", suite="text", metrics={"t_acc": 50.0})
    new = write_fake(tmp_path / "new", model="v2", suite="text", metrics={"t_acc": 50.0, "t_ned": 70.0})
    out = cli("check", new, "--baseline", old, "--format", "json")
    assert out.exit_code == 0
    doc = _strict(out.stdout)
    assert {r["metric"]: r["status"] for r in doc["rows"]}["t_ned"] == "new"
    assert any("t_ned is not in the baseline" in n for n in doc["notes"])


# --- item 11a: import cannot write above --output-dir -----------------------------------------------------


def _tokbench_output(tmp_path: Path, method: str) -> Path:
    path = tmp_path / "in" / "ic13.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    inst = {"gt": "abc", "pred": "abd", "ratio": 0.1, "accuracy": 0, "ned": 0.6667}
    path.write_text(json.dumps({method: {"256": {"details": {"img1.png": {"results": [inst]}}}}}))
    return path


@pytest.mark.parametrize("method", ["..", ".", "a/../..", "/tmp/abs", "", "x\x00y", "a\\b", "..."])
def test_import_refuses_names_that_leave_the_output_folder(tmp_path: Path, method: str) -> None:
    src = _tokbench_output(tmp_path, method)
    out_dir = tmp_path / "deep" / "out"
    out = cli("import", "tokbench-output", src, "--output-dir", out_dir)
    assert out.exit_code == 2, out.output
    assert out.stderr.startswith("error: ") and len(out.stderr.strip().splitlines()) == 1
    written = [p for p in tmp_path.rglob("*.json*") if p.parent != src.parent]
    assert written == [], written


def test_import_refuses_a_dangerous_model_option_and_accepts_a_plain_one(tmp_path: Path) -> None:
    src = _tokbench_output(tmp_path, "GoodMethod")
    assert cli("import", "tokbench-output", src, "--output-dir", tmp_path / "out", "--model", "..").exit_code == 2
    assert not list(tmp_path.rglob("text-256.json"))
    ok = cli("import", "tokbench-output", src, "--output-dir", tmp_path / "out")
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "out" / "GoodMethod" / "tokbench-official" / "text-256.json").is_file()


# --- item 11b: only regular files inside the results folder are embedded ------------------------------

SECRET = b"\x89PNG\r\n\x1a\n" + b"SECRET-KEY-MATERIAL" * 10


def _html_with(tmp_path: Path, prepare: Any) -> tuple[str, str]:
    result = write_fake(tmp_path / "r", model="m", suite="text", metrics={"t_acc_small": 1.0, "t_acc": 1.0})
    folder = write_examples(result, per_bucket=1)
    secret = tmp_path / "home" / "secret.png"
    secret.parent.mkdir()
    secret.write_bytes(SECRET)
    prepare(folder, secret)
    out = cli("report", tmp_path / "r", "--output-dir", tmp_path / "out", "--format", "html")
    assert out.exit_code == 0, out.output
    return (tmp_path / "out" / "report.html").read_text(), base64.b64encode(SECRET).decode()[:40]


def test_symlinked_example_images_are_not_embedded(tmp_path: Path) -> None:
    def prepare(folder: Path, secret: Path) -> None:
        (folder / "small-0-orig.png").unlink()
        (folder / "small-0-orig.png").symlink_to(secret)

    html, secret = _html_with(tmp_path, prepare)
    assert secret not in html
    assert html.count('alt="original"') == 2 and "1 symlink" in html


def test_symlinked_examples_folder_is_not_embedded(tmp_path: Path) -> None:
    def prepare(folder: Path, secret: Path) -> None:
        elsewhere = secret.parent / "crops"
        folder.rename(elsewhere)
        (elsewhere / "small-0-orig.png").write_bytes(SECRET)
        folder.symlink_to(elsewhere, target_is_directory=True)

    html, secret = _html_with(tmp_path, prepare)
    assert secret not in html and 'alt="original"' not in html and "example folder is a link" in html


def test_example_images_over_the_size_cap_are_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tokbench.report.embedded_examples as examples

    monkeypatch.setattr(examples, "MAX_BYTES", 64)
    html, _ = _html_with(tmp_path, lambda folder, secret: None)
    assert 'alt="original"' not in html and "too large" in html


def test_a_fifo_is_not_read_as_an_image(tmp_path: Path) -> None:
    def prepare(folder: Path, secret: Path) -> None:
        (folder / "small-0-orig.png").unlink()
        os.mkfifo(folder / "small-0-orig.png")  # reading it would block the report forever

    html, _ = _html_with(tmp_path, prepare)
    assert html.count('alt="original"') == 2 and "not a regular file" in html


# --- issue #22: names that would break a page or a table, in every format ----------------------------------

PAGE_BREAKERS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(2)>', "a | b", "line\nbreak"]


def test_page_breaking_names_are_text_in_every_format(tmp_path: Path) -> None:
    for name in PAGE_BREAKERS:
        write_fake(tmp_path / "r", model=name, suite="text", dataset="ds", metrics=dict(TEXT))
    out = cli("report", tmp_path / "r", "--output-dir", tmp_path / "out", "--format", "md,csv,latex,json,html,site")
    assert out.exit_code == 0, out.output
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file() and p.suffix != ".jsonl" and "raw" not in p.parts]
    for page in (p for p in files if p.suffix == ".html"):
        html = page.read_text()
        assert "<script>alert" not in html and "<img src=x" not in html, page  # escaped, never markup
    md = (tmp_path / "out" / "report.md").read_text()
    assert "\\<script\\>alert(1)\\</script\\>" in md and "a \\| b" in md and "line break" in md
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Model"))
    header, end = lines[start], lines.index("", start)
    rows = lines[start + 2 : end]  # the first table's rows
    assert len(rows) == len(PAGE_BREAKERS)  # every name's row is one line with the header's columns
    assert {row.replace("\\|", "").count("|") for row in rows} == {header.count("|")}
    table = next(f for f in files if f.name.startswith("tokbench-256") and f.suffix == ".csv")
    cells = {c for row in csv.reader(io.StringIO(table.read_text())) for c in row}
    assert set(PAGE_BREAKERS) <= cells  # CSV quotes them: each name is one cell, newline included
    tex = (tmp_path / "out" / "report.tex").read_text()
    assert "\\textless{}script\\textgreater{}" in tex and "a \\textbar{} b" in tex and "line break" in tex
    rows = json.loads((tmp_path / "out" / "report.json").read_text())["tables"][0]["rows"]
    assert set(PAGE_BREAKERS) <= {r["model"] for r in rows}  # JSON keeps them exactly, as data
