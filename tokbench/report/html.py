"""One self-contained HTML file: inline CSS and JS, inline SVG charts, images as ``data:`` URIs.

Tables sort by clicking a header (numbers by value, missing cells last). Per model: scores
versus scale, token-language curves, and original / reconstruction crops per scale bucket.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from html import escape
from typing import TYPE_CHECKING, Any

from tokbench.report.collect import Entry
from tokbench.report.embedded_examples import Example, load_examples
from tokbench.report.metrics import SpecBook
from tokbench.report.plots import language_charts, scale_charts
from tokbench.report.sweep_section import sweep_html
from tokbench.report.tables import LEAD, LongTable, Table

if TYPE_CHECKING:
    import pandas as pd

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1500px;
padding:0 16px;color:#222}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:16px;margin:20px 0 6px}.meta{color:#666}nav a{margin-right:12px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;margin:6px 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #d8d8d8;padding:3px 7px;white-space:nowrap}
th{background:#f3f5f8;position:relative}th.sort{cursor:pointer;user-select:none}th.sort:hover{background:#e4e9f0}
th.asc::after{content:" ▲";font-size:9px}th.desc::after{content:" ▼";font-size:9px}
td.num{text-align:right}tr.published td{background:#fbf8ee;font-style:italic;color:#555}
td.mark{background:#fff1f0}.foot{font-size:12px;color:#555;margin:2px 0}
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{background:#fff;border:1px solid #eee}
.buckets{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
.examples{display:flex;flex-direction:column;gap:6px}
figure{margin:0;border:1px solid #e3e3e3;padding:5px;background:#fafafa;max-width:440px}
figure .pair{display:flex;gap:4px;align-items:flex-start}
figure img{max-width:210px;max-height:160px;image-rendering:pixelated;border:1px solid #ccc}
figcaption{font-size:12px;color:#333;margin-top:3px;word-break:break-all}
.bucket{font-weight:bold;margin:10px 0 4px}.note{color:#8a6d3b}
"""

SORT_JS = """
(function(){
  function key(td){var v=td.getAttribute('data-v');
    if(v===null||v===''){return null;} var n=parseFloat(v); return isNaN(n)?v.toLowerCase():n;}
  function sortBy(th){
    var table=th.closest('table'), body=table.tBodies[0], col=+th.getAttribute('data-col');
    var asc=!th.classList.contains('asc');
    table.querySelectorAll('th.sort').forEach(function(h){h.classList.remove('asc','desc');});
    th.classList.add(asc?'asc':'desc');
    var rows=Array.prototype.slice.call(body.rows);
    rows.sort(function(a,b){
      var x=key(a.cells[col]), y=key(b.cells[col]);
      if(x===null&&y===null){return 0;} if(x===null){return 1;} if(y===null){return -1;}
      var r=(typeof x==='number'&&typeof y==='number')?x-y:String(x).localeCompare(String(y));
      return asc?r:-r;});
    rows.forEach(function(r){body.appendChild(r);});
  }
  document.querySelectorAll('table.sortable th.sort').forEach(function(th){
    th.addEventListener('click',function(){sortBy(th);});});
  document.body.setAttribute('data-sort-ready','1');
})();
"""


def to_html(
    tables: list[Table],
    counts: pd.DataFrame,
    runs: list[Entry],
    notes: list[str],
    book: SpecBook,
    details: dict[str, LongTable] | None = None,
    intervals: bool = True,
) -> str:
    """The whole report page; ``intervals`` draws the stored confidence intervals on the charts."""
    extra_notes: list[str] = []
    models_html = _models(runs, extra_notes, book, intervals)
    all_notes = notes + extra_notes
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>tokbench report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>tokbench report</h1>",
        f'<p class="meta">Generated {stamp} from {len(runs)} result file(s). Numbers are read from result '
        "files, never recomputed. Click a column header to sort.</p>",
        '<nav><a href="#tables">Tables</a><a href="#counts">Counts</a><a href="#models">Models</a>'
        '<a href="#notes">Notes</a></nav>',
        '<section id="tables">',
    ]
    for t in tables:
        parts.append(_table(t))
        d = (details or {}).get(t.name)
        if d is not None:
            parts.append(_long_table(d))
    parts.append("</section>")
    parts += ['<section id="counts"><h2>Counts used / skipped per result</h2>', _counts(counts), "</section>"]
    parts += ['<section id="models"><h2>Per model</h2>', models_html, "</section>"]
    parts += ['<section id="notes"><h2>Notes</h2>']
    parts += [f'<p class="foot note">{escape(n)}</p>' for n in all_notes] or ['<p class="foot">None.</p>']
    parts += ["</section>", f"<script>{SORT_JS}</script>", "</body></html>"]
    return "\n".join(parts) + "\n"


def _v(value: Any) -> str:
    """The raw sort value of a cell."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return escape(str(value), quote=True)


def _table(t: Table) -> str:
    anchor = escape(t.name, quote=True)
    out = [f'<h2 id="{anchor}">{escape(t.title)}</h2>', '<div class="scroll"><table class="sortable">', "<thead>"]
    grouped = any(c.sub for c in t.columns)
    if grouped:
        row1 = [f'<th class="sort" rowspan="2" data-col="{i}">{escape(h)}</th>' for i, h in enumerate(LEAD)]
        i = 0
        while i < len(t.columns):
            g = t.columns[i].head
            n = 1
            while i + n < len(t.columns) and t.columns[i + n].head == g and t.columns[i + n].sub:
                n += 1
            arrow = t.columns[i].spec.arrow
            if t.columns[i].sub:
                row1.append(f'<th colspan="{n}">{escape(g)} {arrow}</th>')
            else:
                row1.append(f'<th class="sort" rowspan="2" data-col="{len(LEAD) + i}">{escape(g)} {arrow}</th>')
            i += n
        row2 = [
            f'<th class="sort" data-col="{len(LEAD) + j}">{escape(c.sub)}</th>'
            for j, c in enumerate(t.columns)
            if c.sub
        ]
        out += ["<tr>" + "".join(row1) + "</tr>", "<tr>" + "".join(row2) + "</tr>"]
    else:
        heads = LEAD + [f"{c.spec.label} {c.spec.arrow}".rstrip() for c in t.columns]
        out.append(
            "<tr>" + "".join(f'<th class="sort" data-col="{i}">{escape(h)}</th>' for i, h in enumerate(heads)) + "</tr>"
        )
    out.append("</thead><tbody>")
    foot = {f[0]: f for f in t.footnotes}
    for r in range(len(t.frame)):
        row = t.frame.iloc[r]
        cls = ' class="published"' if row["Source"] == "published" else ""
        cells = [f'<td data-v="{_v(row[k])}">{escape(t.display(r, k))}</td>' for k in LEAD[:4]]
        cells.append(f'<td class="num" data-v="{_v(row["bpp"])}">{escape(t.display(r, "bpp"))}</td>')
        for c in t.columns:
            mark = t.markers.get((r, c.key))
            src = t.cells.get((r, c.key))
            title = foot.get(mark, "") if mark else (src.where if src is not None else "")
            klass = "num mark" if mark else "num"
            cells.append(
                f'<td class="{klass}" data-v="{_v(row[c.key])}" title="{escape(title, quote=True)}">'
                f"{escape(t.display(r, c.key))}</td>"
            )
        out.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    out += [f'<p class="foot">{escape(f)}</p>' for f in t.footnotes]
    out += [f'<p class="foot note">{escape(n)}</p>' for n in t.notes]
    return "\n".join(out)


def _long_table(d: LongTable) -> str:
    heads = ["Metric", *map(str, d.frame.columns)]
    out = [
        f"<details><summary>{escape(d.title)} ({len(d.frame.index)})</summary>",
        '<div class="scroll"><table class="sortable"><thead><tr>',
    ]
    out += [f'<th class="sort" data-col="{i}">{escape(h)}</th>' for i, h in enumerate(heads)]
    out.append("</tr></thead><tbody>")
    for m in d.frame.index:
        cells = [f'<td data-v="{escape(m, quote=True)}">{escape(d.book.spec(m).label)}</td>']
        cells += [
            f'<td class="num" data-v="{_v(d.frame.loc[m, c])}">{escape(d.display(m, c))}</td>' for c in d.frame.columns
        ]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div></details>")
    return "".join(out)


def _counts(counts: pd.DataFrame) -> str:
    heads = list(counts.columns)
    out = ['<div class="scroll"><table class="sortable"><thead><tr>']
    out += [f'<th class="sort" data-col="{i}">{escape(h)}</th>' for i, h in enumerate(heads)]
    out.append("</tr></thead><tbody>")
    for rec in counts.itertuples(index=False):
        out.append("<tr>" + "".join(f'<td data-v="{_v(v)}">{escape(_text(v))}</td>' for v in rec) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return str(v)


def _models(runs: list[Entry], notes: list[str], book: SpecBook, intervals: bool = True) -> str:
    out = []
    for model in sorted({e.model for e in runs}):
        mine = [e for e in runs if e.model == model]
        charts = scale_charts([e for e in mine if e.suite != "language" or _has_buckets(e)], book, intervals)
        charts += language_charts([e for e in mine if e.suite == "language" or e.result.get("extra")])
        out.append(f'<h3 id="model-{escape(model, quote=True)}">{escape(model)}</h3>')
        if charts:
            out.append('<div class="charts">' + "".join(charts) + "</div>")
        sweep = sweep_html(mine)  # "" without a sweep result: other pages stay byte-identical
        if sweep:
            out.append(sweep)
        for e in sorted(mine, key=lambda e: (e.suite, e.resolution)):
            if e.suite not in ("text", "face"):
                continue
            examples, more = load_examples(e)
            notes.extend(more)
            if examples:
                out.append(_examples(e, examples))
    return "\n".join(out) or '<p class="foot">No measured results.</p>'


def _has_buckets(e: Entry) -> bool:
    return any(k.endswith(("_small", "_medium", "_large")) for k in e.metrics)


def _examples(e: Entry, examples: list[Example]) -> str:
    out = [
        f'<div class="bucket">{escape(e.suite)} @{e.resolution} ({escape(e.dataset)}): original | reconstruction</div>'
    ]
    order = {"small": 0, "medium": 1, "large": 2}
    out.append('<div class="buckets">')
    for bucket in sorted({x.bucket for x in examples}, key=lambda b: (order.get(b, 9), b)):
        out.append(f'<div><div class="foot">{escape(bucket)}</div><div class="examples">')
        for x in (x for x in examples if x.bucket == bucket):
            score = f" ({x.score:.3g})" if x.score is not None else ""
            text = f"{x.gt} → {x.pred}" if (x.gt or x.pred) else ""
            out.append(
                f'<figure><div class="pair"><img alt="original" src="{x.original}">'
                f'<img alt="reconstruction" src="{x.reconstruction}"></div>'
                f"<figcaption>{escape(x.image_id)}: {escape(text)}{escape(score)}</figcaption></figure>"
            )
        out.append("</div></div>")
    out.append("</div>")
    return "\n".join(out)
