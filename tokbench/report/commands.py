"""The ``report``, ``check`` and ``compare`` commands as plain functions returning exit codes.

``cli.py`` wires them to typer. Errors are one line on stderr (``error: ...``), exit code 2.
Everything printed that may come from a result file passes ``escape.terminal``.
"""

from __future__ import annotations

import sys
from pathlib import Path

CHECK_FORMATS = ("text", "github", "json")


def _error(message: str, code: int = 2) -> int:
    from tokbench.report.escape import terminal

    print(f"error: {terminal(message)}", file=sys.stderr)
    return code


def _note(message: str) -> None:
    from tokbench.report.escape import terminal

    print(f"note: {terminal(message)}", file=sys.stderr)


def _list(value: str | Path | list[str] | list[Path] | tuple[str, ...]) -> list[str | Path]:
    return [value] if isinstance(value, (str, Path)) else list(value)


def _formats(formats: str | list[str]) -> list[str]:
    items = formats.split(",") if isinstance(formats, str) else [p for f in formats for p in f.split(",")]
    return [f.strip().lower() for f in items if f.strip()]


def report_cmd(
    paths: list[str],
    formats: str | list[str],
    output: str | Path,
    mix_protocols: bool = False,
    with_published: bool = False,
    pool: bool = False,
    intervals: bool = True,
) -> int:
    """Leaderboard tables from result files/folders into ``output`` (md, csv, html, latex, json); with
    ``pool``, results of several sets are first pooled into ``output/pooled`` (:mod:`tokbench.pool`);
    ``intervals=False`` hides the confidence intervals results store."""
    from tokbench.report.build import FORMATS, make_report, write_report
    from tokbench.report.collect import CollectError
    from tokbench.report.escape import terminal
    from tokbench.report.published import PublishedError
    from tokbench.report.tables import ProtocolConflict

    wanted = _formats(formats)
    bad = [f for f in wanted if f not in FORMATS]
    if bad or not wanted:
        return _error(f"--format must be a comma-separated subset of {','.join(FORMATS)}, got {formats!r}")
    if not paths:
        return _error("give at least one result file or folder")
    if pool:
        from tokbench.errors import ResultError
        from tokbench.pool import pool_for_report

        try:
            paths = [*paths, *map(str, pool_for_report(list(paths), Path(output) / "pooled"))]
        except ResultError as e:  # a refused pool, an unreadable result or records file
            return _error(str(e))
    try:
        report = make_report(list(paths), mix_protocols, with_published, intervals=intervals)
    except ProtocolConflict as e:
        return _error(f"refusing to put numbers made under different protocols into one column: {e}")
    except (CollectError, PublishedError) as e:
        return _error(str(e))
    if not report.runs and not with_published:
        for note in report.notes:
            _note(note)
        return _error(f"no tokbench result files found in {', '.join(map(str, paths))}")
    failures: list[str] = []
    written = write_report(report, wanted, Path(output), failures)
    for note in report.notes:
        _note(note)
    print(f"{len(report.runs)} result file(s), {len(report.tables)} table(s)", file=sys.stderr)
    for path in written:
        print(f"wrote {terminal(path)}", file=sys.stderr)
    for failure in failures:  # the other formats are written: say what is missing, then fail
        _error(f"could not write {failure}")
    return 2 if failures else 0


def check_cmd(
    new: str | list[str],
    baseline: str | list[str],
    max_drop: list[str] | None = None,
    fmt: str = "text",
    tolerance_only: bool = False,
    alpha: float = 0.05,
) -> int:
    """The release gate: 0 nothing regressed, 1 a metric regressed, 2 the results cannot be compared."""
    from tokbench.report import gate_view
    from tokbench.report.collect import CollectError
    from tokbench.report.gate import GateError, GateResult, run_check

    if fmt not in CHECK_FORMATS:
        return _error(f"--format must be one of {', '.join(CHECK_FORMATS)}, got {fmt!r}")
    try:
        if not 0 < alpha < 1:
            raise GateError(f"--alpha must be in (0, 1), got {alpha!r}")
        result = run_check(_list(new), _list(baseline), list(max_drop or []), tolerance_only, alpha)
    except (GateError, CollectError) as e:
        if fmt != "text":  # a CI step that posts or parses stdout still gets a "cannot compare" verdict
            refused = GateResult(problems=[str(e)])
            sys.stdout.write(gate_view.to_json(refused) if fmt == "json" else gate_view.to_github(refused))
        return _error(str(e))
    if fmt == "github":
        sys.stdout.write(gate_view.to_github(result))
    elif fmt == "json":
        sys.stdout.write(gate_view.to_json(result))
    else:
        gate_view.to_rich(result)
    return result.exit_code


def compare_cmd(
    a: str | list[str], b: str | list[str], alpha: float = 0.05, resamples: int = 2000, seed: int = 0
) -> int:
    """Two result sets side by side; 2 when nothing pairs up or a pair's instances do not match."""
    from tokbench.report.collect import CollectError
    from tokbench.report.compare import compare_sets, print_comparison

    if not 0 < alpha < 1 or resamples < 100:
        return _error(f"--alpha must be in (0, 1) and --resamples >= 100, got {alpha!r} and {resamples!r}")
    try:
        comparison = compare_sets(_list(a), _list(b), alpha, resamples, seed)
    except CollectError as e:
        return _error(str(e))
    if comparison.refused:
        for refusal in comparison.refused:
            _error(f"refusing to pair instances: {refusal}")
        return 2
    if not comparison.deltas:
        for note in comparison.notes:
            _note(note)
        return _error("nothing to compare: no result in A has a partner in B (same suite, dataset, resolution)")
    print_comparison(comparison)
    return 0
