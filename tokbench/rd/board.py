"""The leaderboard's rate–distortion section: ``tokbench report`` renders every ``*.rd.json`` among its
inputs as codec-equivalent-rate tables (Markdown, CSV, HTML), beside the result tables and apart
from them, so the other sections are unchanged."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

SUFFIX = ".rd.json"
# the metrics given columns in the leaderboard (the rd file has more: see its HTML page)
HEADLINE = ("t_acc", "t_ned", "f_sim", "psnr", "rfid")


def rd_files(paths: list[str | Path]) -> list[Path]:
    """rd files named directly or found under folders, in a stable order."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out += sorted(path.rglob(f"*{SUFFIX}"))
        elif path.name.endswith(SUFFIX):
            out.append(path)
    return out


def load(paths: list[str | Path]) -> list[dict[str, Any]]:
    """The rd documents under ``paths``; a file that is not one raises CollectError naming it."""
    from tokbench.jsonio import read_json
    from tokbench.rd.runner import RD_SCHEMA
    from tokbench.report.collect import CollectError

    docs = []
    for path in rd_files(paths):
        doc = read_json(path, CollectError)
        if not isinstance(doc, dict) or doc.get("schema") != RD_SCHEMA or not isinstance(doc.get("sections"), list):
            raise CollectError(f"{path}: not a tokbench rd file (schema {RD_SCHEMA!r} with sections expected)")
        docs.append(doc)
    return docs


def _rows(block: dict[str, Any]) -> list[list[str]]:
    from tokbench.rd.plot import describe

    rows = []
    for m in block["models"]:
        for kind, rate in m["rates"].items():
            eqs = m["equivalent"].get(kind, {})
            value = "–" if m["value"] is None else f"{m['value']:.4g}"
            cells = [describe(eqs[c]) if c in eqs else "–" for c in block["codecs"]]
            rows.append([str(m["spec"]), str(kind), f"{rate['bpp']:.4g}", value, *cells])
    return rows


def _blocks(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for doc in docs:
        dataset = str(doc.get("config", {}).get("dataset", "?"))
        for section in doc["sections"]:
            for name in HEADLINE:
                block = section["metrics"].get(name)
                if block is not None and _rows(block):
                    out.append((f"{block['label']} @{int(section['resolution'])} on {dataset}", block))
    return out


_INTRO = (
    "Codec-equivalent rate: the bpp at which each codec's curve (best down-scaling at each rate, monotone "
    "envelope, log-bpp interpolation) reaches the model's score, and the codec's bits over the model's in "
    'brackets; outside the curve\'s range a bound ("beyond the curve"), never an extrapolation. Rates are '
    "bits per canvas pixel: nominal = tokens x log2 K, entropy = tokens x unigram entropy, file = the "
    "codec's real file size (docs/rd.md)."
)


def header(block: dict[str, Any]) -> list[str]:
    return ["Model", "Rate", "bpp", block["label"], *[f"≡ {c}" for c in block["codecs"]]]


def markdown(docs: list[dict[str, Any]]) -> str:
    """The section as Markdown ("" without rd files)."""
    from tokbench.report.escape import markdown as md
    from tokbench.report.render import markdown_table

    blocks = _blocks(docs)
    if not blocks:
        return ""
    parts = ["\n## Rate–distortion: codec-equivalent rates\n", _INTRO, ""]
    for title, block in blocks:
        parts.append(f"### {md(title)}\n")
        parts.append(markdown_table(header(block), _rows(block)))  # it escapes every cell
        parts.append("")  # a blank line between a table and the next heading
    return "\n".join(parts) + "\n"


def csv_files(docs: list[dict[str, Any]]) -> dict[str, str]:
    """``rd-<resolution>.csv``: one row per (model, rate, metric, codec)."""
    from tokbench.report.escape import csv_cell

    tables: dict[str, list[list[Any]]] = {}
    for doc in docs:
        for section in doc["sections"]:
            rows = tables.setdefault(f"rd-{int(section['resolution'])}.csv", [])
            for name, block in section["metrics"].items():
                for m in block["models"]:
                    for kind, eqs in m["equivalent"].items():
                        for codec, eq in eqs.items():
                            saving = eq.get("saving") or {}
                            rows.append(
                                [m["spec"], kind, m["rates"][kind]["bpp"], name, m["value"], codec, eq["status"],
                                 eq["bpp"], eq["bound"], saving.get("relation"), saving.get("ratio")]
                            )  # fmt: skip
    head = [
        "model",
        "rate",
        "bpp",
        "metric",
        "score",
        "codec",
        "status",
        "equivalent_bpp",
        "bound",
        "saving_relation",
        "saving",
    ]
    out = {}
    for name, rows in tables.items():
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(head)
        writer.writerows([[csv_cell(v) for v in r] for r in rows])
        out[name] = buf.getvalue()
    return out


def html(docs: list[dict[str, Any]]) -> str:
    """The section as an HTML fragment ("" without rd files)."""
    from html import escape

    blocks = _blocks(docs)
    if not blocks:
        return ""
    parts = ["<h2>Rate–distortion: codec-equivalent rates</h2>", f"<p>{escape(_INTRO)}</p>"]
    for title, block in blocks:
        parts.append(f"<h3>{escape(title)}</h3><table><tr>")
        parts.append("".join(f"<th>{escape(h)}</th>" for h in header(block)) + "</tr>")
        for row in _rows(block):
            parts.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
        parts.append("</table>")
    return "\n".join(parts)


def with_html(page: str, docs: list[dict[str, Any]]) -> str:
    """``page`` with the section placed before its closing body tag (the page builder stays unaware of rd)."""
    section = html(docs)
    return page.replace("</body>", f"{section}\n</body>", 1) if section else page
