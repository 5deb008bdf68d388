"""The ``sweep`` suite in reports: the threshold table (canvas pixels with intervals, relative to the
ceiling) as Markdown / CSV, and the curves (T-ACC, T-NED, F-Sim, same identity against size, the model
beside the ceiling) as inline SVG and as PNG. Everything is read from the results' ``extra``; nothing
here is called for a report without a sweep result, so such reports are unchanged."""

from __future__ import annotations

import csv
import io
import math
from html import escape
from pathlib import Path
from typing import Any

from tokbench.report.collect import Entry
from tokbench.report.escape import csv_cell, markdown
from tokbench.report.svg import Series, line_chart

# kind -> the curve fields drawn (field, label, y range)
CURVES = {
    "text": (("acc", "T-ACC", 1.0), ("ned", "T-NED", 1.0)),
    "face": (("f_sim", "F-Sim", None), ("same", "same identity", 1.0)),
}
COLUMNS = (
    "model resolution kind level px px_low px_high status ceiling_px ceiling_low ceiling_high rel rel_low rel_high"
)


def sweep_entries(runs: list[Entry]) -> list[Entry]:
    """The measured sweep results among ``runs``, in a stable order."""
    found = [e for e in runs if e.suite == "sweep" and e.published is None]
    return sorted(found, key=lambda e: (e.model, e.resolution))


def _kinds(e: Entry) -> dict[str, dict[str, Any]]:
    extra = e.result.get("extra") or {}
    return {k: v for k in CURVES if isinstance(v := extra.get(k), dict) and isinstance(v.get("thresholds"), dict)}


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def threshold_rows(entries: list[Entry]) -> list[dict[str, Any]]:
    """One row per (result, kind, level): thresholds with their intervals and status."""
    rows = []
    for e in entries:
        for kind, part in _kinds(e).items():
            found = part["thresholds"]
            for level in ("50", "90"):
                model, ceil, rel = (found.get(f"{n}_{level}") or {} for n in ("model", "ceiling", "rel"))
                row: dict[str, Any] = {"model": e.model, "resolution": e.resolution, "kind": kind, "level": level}
                for prefix, d in (("px", model), ("ceiling", ceil), ("rel", rel)):
                    name = prefix if prefix != "ceiling" else "ceiling_px"
                    row[name] = _num(d.get("value"))
                    row[f"{prefix}_low"], row[f"{prefix}_high"] = _num(d.get("low")), _num(d.get("high"))
                row["status"] = str(model.get("status", ""))
                rows.append(row)
    return rows


def _cell(value: float | None, low: float | None, high: float | None, decimals: int) -> str:
    """``6.96 [6.24, 7.61]``; a missing bound (resamples that never reach the level) reads ``not reached``."""
    point = "–" if value is None else f"{value:.{decimals}f}"
    lo = "not reached" if low is None else f"{low:.{decimals}f}"
    hi = "not reached" if high is None else f"{high:.{decimals}f}"
    return point if low is None and high is None else f"{point} [{lo}, {hi}]"


def threshold_markdown(entries: list[Entry]) -> str:
    """The threshold table as Markdown (empty when there is no sweep result)."""
    rows = threshold_rows(entries)
    if not rows:
        return ""
    out = [
        "## Legibility and identity thresholds (sweep)",
        "",
        "Smallest size (canvas pixels: text = cap height, face = inter-ocular distance) at which T-ACC / the "
        "same-identity rate reaches the level, with its 95 % bootstrap interval; the ceiling is the OCR / face "
        "model on the untouched images; x ceiling = model / ceiling threshold (paired interval).",
        "",
        "| model | res | kind | level | px | status | ceiling px | x ceiling |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        px = _cell(r["px"], r["px_low"], r["px_high"], 2)
        ceiling = _cell(r["ceiling_px"], r["ceiling_low"], r["ceiling_high"], 2)
        rel = _cell(r["rel"], r["rel_low"], r["rel_high"], 2)
        cells = (r["model"], str(r["resolution"]), r["kind"], f"{r['level']} %", px, r["status"], ceiling, rel)
        out.append("| " + " | ".join(markdown(c) for c in cells) + " |")
    return "\n".join(out) + "\n"


def threshold_csv(entries: list[Entry]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS.split(), lineterminator="\n")
    writer.writeheader()
    for r in threshold_rows(entries):
        writer.writerow({k: "" if r[k] is None else csv_cell(r[k]) for k in COLUMNS.split()})
    return buf.getvalue()


def curve_series(e: Entry, kind: str, field: str) -> list[Series]:
    """The model's and the ceiling's curve of ``field`` against size (ceiling dashed)."""
    rows = [r for r in _kinds(e)[kind].get("curves") or [] if isinstance(r, dict) and _num(r.get("size"))]
    xs = [float(r["size"]) for r in rows]
    out = [Series(f"{e.model} @{e.resolution}", xs, [_num(r.get(field)) for r in rows])]
    ceiling = [_num(r.get(f"ceiling_{field}")) for r in rows]
    if any(v is not None for v in ceiling):
        out.append(Series("ceiling", xs, ceiling, dashed=True))
    return out


def _charts(e: Entry) -> list[tuple[str, str, list[Series], float | None]]:
    """(title, x label, series, y top) per chart of one result."""
    out = []
    for kind, part in _kinds(e).items():
        unit = str(part.get("size_unit") or "px")
        for field, label, top in CURVES[kind]:
            series = curve_series(e, kind, field)
            if any(v is not None for s in series for v in s.ys):
                out.append((f"{label} versus size @{e.resolution}", unit, series, top))
    return out


def sweep_html(entries: list[Entry]) -> str:
    """The threshold table and curve charts of the sweep results among ``entries`` ("" when none)."""
    sweeps = sweep_entries(entries)
    rows = threshold_rows(sweeps)
    if not rows:
        return ""
    head = "".join(f"<th>{escape(h)}</th>" for h in ("res", "kind", "level", "px", "status", "ceiling px", "x ceiling"))
    body = []
    for r in rows:
        cells = (
            str(r["resolution"]),
            r["kind"],
            f"{r['level']} %",
            _cell(r["px"], r["px_low"], r["px_high"], 2),
            r["status"],
            _cell(r["ceiling_px"], r["ceiling_low"], r["ceiling_high"], 2),
            _cell(r["rel"], r["rel_low"], r["rel_high"], 2),
        )
        body.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    charts = [
        line_chart(series, title, x_label, "rate" if top else "cosine", log_x=True, y_range=(0.0, top) if top else None)
        for e in sweeps
        for title, x_label, series, top in _charts(e)
    ]
    return (
        '<div class="bucket">sweep thresholds (canvas px)</div>'
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
        + ('<div class="charts">' + "".join(charts) + "</div>" if charts else "")
    )


def write_sweep_pngs(entries: list[Entry], folder: Path) -> list[Path]:
    """One PNG per sweep result and kind: its curves, model beside ceiling, with matplotlib."""
    from tokbench.report.escape import mathtext
    from tokbench.results import slug

    sweeps = sweep_entries(entries)
    if not sweeps:
        return []
    import matplotlib

    matplotlib.use("Agg")  # no display; set before pyplot is imported
    import matplotlib.pyplot as plt

    written = []
    for e in sweeps:
        for kind, part in _kinds(e).items():
            fig, axes = plt.subplots(1, len(CURVES[kind]), figsize=(10, 4), dpi=100)
            for ax, (field, label, top) in zip(axes, CURVES[kind], strict=True):
                for s in curve_series(e, kind, field):
                    ys = [math.nan if y is None else y for y in s.ys]
                    ax.plot(s.xs, ys, "--" if s.dashed else "-o", markersize=3, label=mathtext(s.label))
                ax.set_xscale("log")
                ticks = curve_series(e, kind, field)[0].xs[::2]  # the swept sizes, not log decades
                ax.set_xticks(ticks, [f"{t:.3g}" for t in ticks])
                ax.minorticks_off()
                if top:
                    ax.set_ylim(0.0, top)
                ax.set_xlabel(mathtext(str(part.get("size_unit") or "px")))
                ax.set_ylabel(label)
                ax.legend(fontsize=7)
            fig.suptitle(mathtext(f"{e.model} @{e.resolution}: {kind} sweep"))
            fig.tight_layout()
            path = folder / f"{slug(e.model)}-{e.resolution}-sweep-{kind}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path)
            plt.close(fig)
            written.append(path)
    return written
