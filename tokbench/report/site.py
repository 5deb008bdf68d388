"""``tokbench report --format site``: a static, self-contained, multi-page leaderboard site.

``index.html`` holds the report's sortable tables (published rows apart, as in every format), the
counts and the notes; ``models/<key>.html`` one model's results, charts, example crops, provenance and
links to its raw files, which are copied under ``raw/``; ``datasets/<key>.html`` one dataset's identity
and results; ``changelog.html`` what each submission added, by its results' ``created`` time.
No external assets (CSS, JS, charts and crops are inline). Deterministic: pages depend only on the
inputs, every iteration is sorted, and no build time is written, so the same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from collections import defaultdict
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from tokbench.report.collect import Entry
from tokbench.report.site_pages import link, page, provenance, sortable
from tokbench.results import slug

if TYPE_CHECKING:
    from tokbench.report.build import Report


def page_key(name: str) -> str:
    """A file name for a model or dataset page: readable, and distinct for distinct names (the hash)."""
    return f"{slug(name)[:48]}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}"


def _regular(path: Path) -> bool:
    """A regular file, not a link: a link could publish a file from elsewhere on the machine."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _sorted_runs(runs: list[Entry]) -> list[Entry]:
    return sorted(runs, key=lambda e: (e.model, e.suite, e.dataset, e.resolution, e.created, str(e.path)))


def copy_raw(runs: list[Entry], output: Path) -> dict[int, list[str]]:
    """Copy each result file and its records beside it into ``raw/``; id(entry) -> site paths."""
    out: dict[int, list[str]] = {}
    taken: set[str] = set()
    for e in _sorted_runs(runs):
        if e.path is None:
            continue
        stem = f"raw/{page_key(e.model)}/{slug(e.dataset)}-{e.path.stem}"
        base, n = stem, 2
        while base in taken:
            base, n = f"{stem}-{n}", n + 1
        taken.add(base)
        out[id(e)] = []
        for source in (e.path, e.path.with_suffix(".jsonl")):
            if not _regular(source):
                continue
            target = output / f"{base}{source.suffix}"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            out[id(e)].append(f"{base}{source.suffix}")
    return out


def write_site(report: Report, output: Path) -> list[Path]:
    """Write every page into ``output``; returns the files written."""
    from tokbench.report.html import CSS, SORT_JS

    output.mkdir(parents=True, exist_ok=True)
    raw = copy_raw(report.runs, output)
    by_model: dict[str, list[Entry]] = defaultdict(list)
    by_dataset: dict[str, list[Entry]] = defaultdict(list)
    for e in _sorted_runs(report.runs):
        by_model[e.model].append(e)
        by_dataset[e.dataset].append(e)
    notes = list(report.notes)  # the model pages add notes about example crops they could not embed
    pages = {f"models/{page_key(m)}.html": _model_page(m, by_model[m], raw, report, notes) for m in sorted(by_model)}
    pages |= {f"datasets/{page_key(d)}.html": _dataset_page(d, by_dataset[d]) for d in sorted(by_dataset)}
    pages |= {
        "index.html": _index(report, notes),
        "models.html": _models_list(report.runs),
        "datasets.html": _datasets_list(report.runs),
        "changelog.html": _changelog(report.runs),
    }
    written = [output / p for ps in raw.values() for p in ps]
    for name, (title, body, depth) in sorted(pages.items()):
        path = output / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page(title, body, depth, CSS, SORT_JS), encoding="utf-8")
        written.append(path)
    return written


Page = tuple[str, list[str], int]  # title, body parts, depth below the site root
_BUCKET_SUFFIXES = ("_small", "_medium", "_large")


def _index(report: Report, notes: list[str]) -> Page:
    from tokbench.report.html import _counts, _long_table, _table
    from tokbench.report.tables import counts_table

    models = sorted({e.model for e in report.runs})
    body = [
        f'<p class="meta">{len(report.runs)} result file(s), {len(models)} measured model(s). Numbers are read '
        "from the result files; published rows (shaded) are transcribed, not re-measured. "
        "Click a column header to sort.</p>"
    ]
    for t in report.tables:
        body.append(_table(t))
        detail = report.details.get(t.name)
        if detail is not None:
            body.append(_long_table(detail))
    body += ['<h2 id="counts">Counts used / skipped per result</h2>', _counts(counts_table(report.runs))]
    body.append('<h2 id="notes">Notes</h2>')
    body += [f'<p class="foot note">{escape(n)}</p>' for n in notes] or ['<p class="foot">None.</p>']
    return "tokbench leaderboard", body, 0


def _models_list(runs: list[Entry]) -> Page:
    rows = []
    for model in sorted({e.model for e in runs}):
        mine = [e for e in runs if e.model == model]
        suites = ", ".join(sorted({e.suite for e in mine}))
        res = ", ".join(str(r) for r in sorted({e.resolution for e in mine}))
        rows.append(
            [
                (model, link(f"models/{page_key(model)}.html", model)),
                (mine[0].kind, escape(mine[0].kind)),
                (suites, escape(suites)),
                (res, escape(res)),
                (str(len(mine)), str(len(mine))),
            ]
        )
    return "Models", [sortable(["Model", "Kind", "Suites", "Resolutions", "Results"], rows)], 0


def _datasets_list(runs: list[Entry]) -> Page:
    rows = []
    for dataset in sorted({e.dataset for e in runs}):
        mine = [e for e in runs if e.dataset == dataset]
        models = len({e.model for e in mine})
        rows.append(
            [
                (dataset, link(f"datasets/{page_key(dataset)}.html", dataset)),
                (str(models), str(models)),
                (str(len(mine)), str(len(mine))),
            ]
        )
    return "Datasets", [sortable(["Dataset", "Models", "Results"], rows)], 0


def _results_table(entries: list[Entry], raw: dict[int, list[str]], up: str) -> str:
    rows = []
    for e in entries:
        files = " ".join(link(f"{up}{p}", p.rsplit(".", 1)[-1]) for p in raw.get(id(e), []))
        shown = [
            f"{k}={v:.6g}"
            for k, v in e.metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and not k.endswith(_BUCKET_SUFFIXES)
        ]
        rows.append(
            [
                (e.suite, escape(e.suite)),
                (e.dataset, link(f"{up}datasets/{page_key(e.dataset)}.html", e.dataset)),
                (str(e.resolution), str(e.resolution)),
                (e.created, escape(e.created)),
                ("", files),
                (" ".join(shown), escape(" ".join(shown[:4]))),  # every number is in the tables and raw files
            ]
        )
    return sortable(["Suite", "Dataset", "Resolution", "Created", "Raw files", "Headline metrics"], rows)


def _model_page(model: str, entries: list[Entry], raw: dict[int, list[str]], report: Report, notes: list[str]) -> Page:
    from tokbench.report.embedded_examples import load_examples
    from tokbench.report.html import _examples, _has_buckets
    from tokbench.report.plots import language_charts, scale_charts

    body = ["<h2>Results</h2>", _results_table(entries, raw, "../")]
    charts = scale_charts(
        [e for e in entries if e.suite != "language" or _has_buckets(e)], report.book, report.intervals
    )
    charts += language_charts([e for e in entries if e.suite == "language" or e.result.get("extra")])
    if charts:
        body += ["<h2>Charts</h2>", '<div class="charts">' + "".join(charts) + "</div>"]
    crops = []
    for e in sorted(entries, key=lambda e: (e.suite, e.resolution, e.dataset)):
        if e.suite in ("text", "face"):
            examples, more = load_examples(e)
            notes.extend(more)
            if examples:
                crops.append(_examples(e, examples))
    if crops:
        body += ["<h2>Example crops</h2>", *crops]
    body.append("<h2>Provenance</h2>")
    for e in entries:
        body += [f"<h3>{escape(e.suite)} @{e.resolution} on {escape(e.dataset)}</h3>", provenance(e)]
    return model, body, 1


def _dataset_page(dataset: str, entries: list[Entry]) -> Page:
    identities = sorted({_identity(e) for e in entries})
    body = ["<h2>Identity</h2>"]
    body += [f'<p class="foot"><code>{escape(i)}</code></p>' for i in identities]
    rows = [
        [
            (e.model, link(f"../models/{page_key(e.model)}.html", e.model)),
            (e.suite, escape(e.suite)),
            (str(e.resolution), str(e.resolution)),
            (e.created, escape(e.created)),
        ]
        for e in entries
    ]
    body += ["<h2>Results</h2>", sortable(["Model", "Suite", "Resolution", "Created"], rows)]
    return dataset, body, 1


def _identity(e: Entry) -> str:
    return json.dumps(e.result["dataset"].get("identity") or {}, sort_keys=True, ensure_ascii=False)


def _changelog(runs: list[Entry]) -> Page:
    """One entry per submission (a model's results created at the same time), newest first."""
    groups: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for e in runs:  # a run writes its results over minutes: one submission is one model on one day
        groups[(e.created[:10], e.model)].append(e)
    body = []
    for created, model in sorted(groups, reverse=True):
        added = sorted(f"{e.suite} @{e.resolution} on {e.dataset}" for e in groups[(created, model)])
        body.append(
            f"<h3>{escape(created or 'no date')}: {link(f'models/{page_key(model)}.html', model)}</h3>"
            "<ul>" + "".join(f"<li>{escape(a)}</li>" for a in added) + "</ul>"
        )
    return "Changelog", body or ['<p class="foot">No results.</p>'], 0
