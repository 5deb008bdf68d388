"""How ``check`` shows its verdict: a rich table in the terminal, Markdown for a pull-request
comment (``--format github``), or strict JSON. Names from result files are escaped for each:
Rich ``Text`` (no markup), ``escape.markdown`` and ``json.dumps``."""

from __future__ import annotations

import json
import math
from decimal import Decimal

from tokbench.report.escape import markdown, rich_text
from tokbench.report.gate import (
    IMPROVED,
    INCONCLUSIVE,
    INCONCLUSIVE_TEXT,
    INFO,
    NEW_METRIC,
    REGRESSED,
    SAME,
    GateResult,
    Row,
)

MAX_UNGATED_ROWS = 15


def num(v: float | None) -> str:
    return "–" if v is None else f"{v:.6g}"


def dec(d: Decimal | None, sign: bool = True) -> str:
    if d is None:
        return "–"
    text = format(d.normalize(), "f") if d != 0 else "0"
    if len(text.lstrip("-")) > 10:
        text = f"{float(d):.4g}"
    return ("+" if sign and d > 0 else "") + text


def interval(r: Row) -> str:
    """The paired 95 % interval of NEW - baseline, ``[lo, hi]``, or "–" when untested."""
    iv = None if r.tested is None else r.tested.test.interval
    return "–" if iv is None else f"[{iv.low:+.4g}, {iv.high:+.4g}]"


def p_value(r: Row) -> str:
    return "–" if r.tested is None else f"{r.tested.p_adjusted:.3g}"


def inconclusive_notes(result: GateResult) -> list[str]:
    """One line per drop beyond tolerance that is not significant, with its minimum detectable difference."""
    return [
        f"{r.pair}: {result.book.spec(r.metric).label} dropped {dec(r.drop, sign=False)} (beyond {r.tolerance}), "
        f"{INCONCLUSIVE_TEXT}: p = {r.tested.p_adjusted:.3g} (Holm), minimum detectable difference "
        f"{r.tested.mdd:.4g} (80 % power at alpha {r.tested.alpha})"
        for r in result.rows
        if r.status == INCONCLUSIVE and r.tested is not None
    ]


def verdict(result: GateResult) -> str:
    if result.problems:
        return "cannot compare"
    n = len(result.regressions)
    return f"{n} regression{'s' if n != 1 else ''}" if n else "passed"


def _shown(result: GateResult) -> list[Row]:
    """Rows worth a line: anything not unchanged-and-ungated."""
    return [r for r in result.rows if r.status not in (SAME,) and not (r.status == INFO and r.delta == 0)]


def _direction(result: GateResult, metric: str) -> str:
    return result.book.spec(metric).arrow or "?"


def to_rich(result: GateResult) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if Console().is_terminal else 160, highlight=False)
    style = {REGRESSED: "bold red", IMPROVED: "green", INFO: "dim", NEW_METRIC: "cyan", INCONCLUSIVE: "yellow"}
    table = Table(title=f"tokbench check: {verdict(result)}")
    numeric = ("baseline", "new", "Δ", "95 % CI of Δ", "p (Holm)", "allowed drop")
    for col in ("result", "metric", "", *numeric, "status"):
        table.add_column(col, justify="right" if col in numeric else "left")
    rows = sorted(_shown(result), key=lambda r: (r.status != REGRESSED, r.pair, r.metric))
    ungated = [r for r in rows if r.status == INFO]
    if len(ungated) > MAX_UNGATED_ROWS:  # e.g. a hundred token-language statistics: count them instead
        rows = [r for r in rows if r.status != INFO]
    for r in rows:  # Text cells: a name holding "[/x]" is shown, not parsed as markup
        cells = (
            r.pair,
            result.book.spec(r.metric).label,
            _direction(result, r.metric),
            num(r.baseline),
            num(r.new),
            dec(r.delta),
            interval(r),
            p_value(r),
            r.tolerance,
            r.status,
        )
        table.add_row(*(rich_text(c) for c in cells), style=style.get(r.status, ""))
    if rows:
        console.print(table)
    if len(ungated) > MAX_UNGATED_ROWS:
        console.print(f"{len(ungated)} metrics without a tolerance changed (not gated; --format json lists them)")
    same = sum(r.status == SAME for r in result.rows)
    console.print(
        f"{result.pairs} result pair(s), {len(result.rows)} metric(s) compared: "
        f"{len(result.regressions)} regressed, {sum(r.status == IMPROVED for r in result.rows)} improved, "
        f"{same} unchanged."
    )
    for line in inconclusive_notes(result):
        console.print(rich_text(line, "yellow"))
    for p in result.problems:
        console.print(rich_text("cannot compare: ", "bold red") + rich_text(p))
    for n in result.notes:
        console.print(rich_text(f"note: {n}", "dim"))


def to_github(result: GateResult) -> str:
    """A Markdown summary for a pull-request comment or ``$GITHUB_STEP_SUMMARY``."""
    icon = "⚠️" if result.problems else ("❌" if result.regressions else "✅")
    out = [f"## {icon} tokbench release gate: {verdict(result)}", ""]
    if result.problems:
        out += ["**Cannot compare:**", ""] + [f"- {markdown(p)}" for p in result.problems] + [""]
    head = [
        "| Result | Metric | Baseline | New | Δ | 95 % CI of Δ | p (Holm) | Allowed drop | Status |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]

    def line(r: Row) -> str:
        status = f"**{r.status}**" if r.status == REGRESSED else r.status
        return (
            f"| {markdown(r.pair)} | {markdown(result.book.spec(r.metric).label)} {_direction(result, r.metric)} | "
            f"{num(r.baseline)} | {num(r.new)} | {dec(r.delta)} | {interval(r)} | {p_value(r)} | "
            f"{markdown(r.tolerance)} | {status} |"
        )

    bad = [r for r in result.rows if r.status == REGRESSED]
    rest = [r for r in _shown(result) if r.status != REGRESSED]
    if bad:
        out += ["### Regressions", ""] + head + [line(r) for r in bad] + [""]
    unsure = inconclusive_notes(result)
    if unsure:
        out += ["### Inconclusive drops (pass)", ""] + [f"- {markdown(u)}" for u in unsure] + [""]
    if rest:
        out += [f"<details><summary>{len(rest)} other changed metric(s)</summary>", ""] + head
        out += [line(r) for r in rest] + ["", "</details>", ""]
    same = sum(r.status == SAME for r in result.rows)
    out.append(f"{result.pairs} result pair(s), {len(result.rows)} metric(s) compared, {same} unchanged.")
    if result.notes:
        out += ["", "<details><summary>Notes</summary>", ""] + [f"- {markdown(n)}" for n in result.notes]
        out += ["", "</details>"]
    return "\n".join(out) + "\n"


def _finite(v: float | Decimal | None) -> float | None:
    """A JSON-safe number: non-finite values (never expected: the reader refuses them) become null."""
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _jsonable(v: object) -> object:
    if isinstance(v, float):
        return _finite(v)
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    return v


def to_json(result: GateResult) -> str:
    """Strict JSON (``allow_nan=False``): no ``Infinity`` / ``NaN`` tokens other parsers reject."""
    rows = [
        {
            "pair": r.pair,
            "metric": r.metric,
            "baseline": _finite(r.baseline),
            "new": _finite(r.new),
            "delta": _finite(r.delta),
            "tolerance": r.tolerance,
            "status": r.status,
            "significance": None if r.tested is None else {k: _jsonable(v) for k, v in r.tested.to_dict().items()},
        }
        for r in result.rows
    ]
    return (
        json.dumps(
            {
                "verdict": verdict(result),
                "exit_code": result.exit_code,
                "rows": rows,
                "problems": result.problems,
                "inconclusive": inconclusive_notes(result),
                "notes": result.notes,
            },
            indent=1,
            ensure_ascii=False,
            allow_nan=False,
        )
        + "\n"
    )
