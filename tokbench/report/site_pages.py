"""The pages of the static site (:mod:`tokbench.report.site`): one HTML document each, inline CSS and JS.

Tables, charts and example crops are the HTML report's own (:mod:`tokbench.report.html`); this module
adds the page frame, the per-model, per-dataset and changelog pages and the provenance blocks. Every
text from a result passes ``html.escape``; nothing depends on the time the site is built.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from html import escape
from typing import Any

from tokbench.report.collect import Entry

SITE_CSS = """
header.site{border-bottom:1px solid #ddd;margin-bottom:12px;padding-bottom:6px}
header.site a{margin-right:14px}dl.prov{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}
dl.prov dt{color:#555}dl.prov dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}
"""


def page(title: str, body: Iterable[str], depth: int, css: str, script: str | None = None) -> str:
    """A whole document; ``depth`` is how many folders below the site root the page lives."""
    up = "../" * depth
    nav = (
        f'<header class="site"><a href="{up}index.html">Leaderboard</a><a href="{up}models.html">Models</a>'
        f'<a href="{up}datasets.html">Datasets</a><a href="{up}changelog.html">Changelog</a></header>'
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{css}{SITE_CSS}</style></head><body>",
        nav,
        f"<h1>{escape(title)}</h1>",
        *body,
    ]
    if script:
        parts.append(f"<script>{script}</script>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def link(href: str, text: str) -> str:
    return f'<a href="{escape(href, quote=True)}">{escape(text)}</a>'


def sortable(heads: list[str], rows: list[list[tuple[str, str]]]) -> str:
    """A sortable table; each cell is (sort value, inner HTML already escaped)."""
    out = ['<div class="scroll"><table class="sortable"><thead><tr>']
    out += [f'<th class="sort" data-col="{i}">{escape(h)}</th>' for i, h in enumerate(heads)]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f'<td data-v="{escape(v, quote=True)}">{html}</td>' for v, html in row) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def provenance(e: Entry) -> str:
    """What made one result: versions, hashes, protocol and options, as a definition list."""
    r = e.result
    info = r["model"].get("info") or {}
    tok = r.get("tokbench") or {}
    env = r.get("environment") or {}
    rows = [
        ("model spec", r["model"].get("spec")),
        ("weights", info.get("weights_sha256") or f"no sha256 (weights_source: {info.get('weights_source')})"),
        ("weights source", info.get("weights_source")),
        ("licence", info.get("license")),
        ("tokbench", f"{tok.get('version')} @ {tok.get('git_hash')}"),
        ("protocol", r.get("protocol")),
        (f"{e.suite} suite", {"version": r["suite"].get("version"), "options": r["suite"].get("options")}),
        ("dataset identity", r["dataset"].get("identity")),
        ("python", env.get("python")),
        ("packages", env.get("packages")),
        ("run", r.get("run")),
        ("created", r.get("created")),
    ]
    cells = "".join(f"<dt>{escape(k)}</dt><dd>{escape(_value(v))}</dd>" for k, v in rows if v is not None)
    return f'<dl class="prov">{cells}</dl>'
