"""The rd file as pictures: one PNG per (resolution, metric) through matplotlib when it is installed,
and one HTML page (inline SVG charts, equivalent-rate and Bjøntegaard tables) that needs nothing.

Codecs are drawn as their measured points joined along the monotone envelope; each model is one
marker per rate (filled: nominal, open: entropy, square: declared or file) joined by a dotted line,
so the two rates of one model read as one horizontal segment. Every name is data: escaped in HTML,
passed to matplotlib as plain text (``$`` would start mathtext).
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from tokbench.rd.rate import RATE_KINDS

_MARKERS = {"nominal": "o", "entropy": "o", "declared": "s", "file": "s"}


def describe(eq: dict[str, Any]) -> str:
    """``0.31 bpp (2.4x)`` / ``beyond: < 0.0983 bpp (< 0.79x)``."""
    saving = eq.get("saving") or {}
    ratio = f" ({saving['relation'].replace('=', '')}{saving['ratio']:.2g}×)" if saving else ""
    ratio = ratio.replace("(<", "(< ").replace("(>", "(> ")
    if eq["status"] == "within":
        return f"{eq['bpp']:.3g} bpp{ratio}"
    side = "<" if eq["status"] == "below" else ">"
    return f"beyond the curve: {side} {eq['bound']:.3g} bpp{ratio}"


def _plain(text: str) -> str:
    return text.replace("$", r"\$")


def write_pngs(data: dict[str, Any], folder: Path) -> list[Path]:
    """One PNG per (resolution, metric); none (and no error) when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for section in data["sections"]:
        for name, block in section["metrics"].items():
            fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
            for codec, c in block["codecs"].items():
                if not c["curve"]:
                    continue
                (line,) = ax.plot(*zip(*c["envelope"], strict=True), "-", lw=1.6, label=_plain(codec))
                ax.plot(*zip(*c["curve"], strict=True), ".", color=line.get_color(), ms=6)
            for m in block["models"]:
                pts = [(r["bpp"], kind) for kind, r in m["rates"].items()]
                if m["value"] is None or not pts:
                    continue
                xs = [p[0] for p in pts]
                (line,) = ax.plot(xs, [m["value"]] * len(xs), ":", lw=1, color="0.3")
                color = None
                for bpp, kind in pts:
                    hollow = kind == "entropy"
                    mark = ax.plot(
                        [bpp],
                        [m["value"]],
                        _MARKERS.get(kind, "D"),
                        ms=8,
                        mfc="none" if hollow else color,
                        color=color,
                        label=_plain(f"{m['spec']} ({kind})"),
                    )[0]
                    color = mark.get_color()
            ax.set_xscale("log")
            ax.set_xlabel("bits per canvas pixel (log)")
            unit = f" ({block['unit']})" if block["unit"] else ""
            arrow = "↑" if block["direction"] == "higher" else "↓"
            ax.set_ylabel(_plain(f"{block['label']}{unit} {arrow}"))
            ax.set_title(_plain(f"{block['label']} vs rate @{section['resolution']}"))
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7, loc="best")
            fig.tight_layout()
            path = folder / f"rd-{section['resolution']}-{name}.png"
            fig.savefig(path, metadata={"Software": None})
            plt.close(fig)
            written.append(path)
    return written


def _chart(block: dict[str, Any], resolution: int) -> str:
    from tokbench.report.svg import Series, line_chart

    series = [
        Series(codec, [p[0] for p in c["envelope"]], [p[1] for p in c["envelope"]])
        for codec, c in block["codecs"].items()
    ]
    for m in block["models"]:
        if m["value"] is None or not m["rates"]:
            continue
        rates = sorted((r["bpp"], kind) for kind, r in m["rates"].items())
        label = f"{m['spec']} ({', '.join(k for _, k in rates)})"
        series.append(Series(label, [r for r, _ in rates], [m["value"]] * len(rates), dashed=True))
    return line_chart(series, f"{block['label']} @{resolution}", "bpp (log)", block["label"], log_x=True, width=620)


def to_html(data: dict[str, Any]) -> str:
    """A self-contained page: per metric a chart, the models' codec-equivalent rates, the BD deltas."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>tokbench rd</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0 1.5em}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}th{background:#f3f3f3}</style></head><body>",
        "<h1>Rate–distortion</h1>",
        "<p>Rates in bits per canvas pixel. "
        + "; ".join(f"<b>{escape(k)}</b> = {escape(v)}" for k, v in RATE_KINDS.items())
        + ". Codec-equivalent rate: the bpp at which the codec's monotone envelope reaches the model's "
        "score (log-bpp interpolation); outside the curve it is a bound, never extrapolated. "
        "Saving = codec bits / model bits.</p>",
    ]
    for section in data["sections"]:
        parts.append(f"<h2>@{int(section['resolution'])}</h2>")
        for u in section["unplaced"]:
            parts.append(f"<p>{escape(u['spec'])}: {escape(u['reason'])}</p>")
        for block in section["metrics"].values():
            parts.append(f"<h3>{escape(block['label'])}</h3>")
            parts.append(_chart(block, int(section["resolution"])))
            parts.append(_equivalents_html(block))
            parts.append(_bd_html(block))
    parts.append("</body></html>")
    return "\n".join(parts)


def _equivalents_html(block: dict[str, Any]) -> str:
    codecs = list(block["codecs"])
    rows = []
    for m in block["models"]:
        for kind, rate in m["rates"].items():
            eqs = m["equivalent"].get(kind, {})
            cells = [escape(describe(eqs[c])) if c in eqs else "–" for c in codecs]
            value = "–" if m["value"] is None else f"{m['value']:.4g}"
            head = [escape(m["spec"]), escape(kind), f"{rate['bpp']:.4g}", value]
            rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in head + cells) + "</tr>")
    if not rows:
        return ""
    header = ["model", "rate", "bpp", "score"] + [f"{c}: equivalent rate (saving)" for c in codecs]
    return "<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>" + "".join(rows) + "</table>"


def _fmt_delta(d: dict[str, Any], unit: str) -> str:
    if d["value"] is None:
        return f"n/a ({d['reason']})"
    cross = " (curves cross)" if d["crossing"] else ""
    return f"{d['value']:+.3g}{unit}{cross}"


def _bd_html(block: dict[str, Any]) -> str:
    rows = []
    ref = block["bd_codecs"]["reference"]
    for codec, d in block["bd_codecs"]["against"].items():
        rows.append((f"{codec} vs {ref}", d))
    for s in block["sweeps"]:
        for codec, d in s["against_codecs"].items():
            rows.append((f"{s['name']} sweep ({s['rate']}) vs {codec}", d))
        if "against_first_sweep" in s:
            rows.append((f"{s['name']} sweep ({s['rate']}) vs first sweep", s["against_first_sweep"]))
    if not rows:
        return ""
    out = ["<table><tr><th>pair</th><th>BD-rate</th><th>BD-metric</th></tr>"]
    for label, d in rows:
        cells = [label, _fmt_delta(d["bd_rate_percent"], " %"), _fmt_delta(d["bd_metric"], "")]
        out.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    return "".join(out) + "</table>"
