"""Leaderboard tables (pandas) from entries: one row per model, one section per table and resolution.

Tables: ``tokbench`` (the text and face suites' metrics: T-ACC, T-NED, F-Sim as Small/Medium/Large/Mean),
``recon`` (the recon and fid suites': PSNR, SSIM, LPIPS, rFID, KID), ``language`` (token-language
statistics) and ``other`` (every metric no table above claims); which metric goes where, its label,
direction and format come from the results' declarations (see ``metrics``), columns in declaration
order. A column only holds numbers whose aspects agree (see ``collect``); otherwise building raises
``ProtocolConflict`` unless ``mix`` is set, in which case the odd cells carry a footnote marker that
names what differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tokbench.errors import ResultError
from tokbench.metric_spec import BUCKET_SHORT, BUCKETS, HIGHER, MetricSpec
from tokbench.report.collect import Entry, differences
from tokbench.report.metrics import SpecBook

if TYPE_CHECKING:
    import pandas as pd

LEAD = ["Model", "Source", "Kind", "Factor", "bpp"]
TITLES = {
    "tokbench": "TokBench: text and faces by scale",
    "recon": "Reconstruction",
    "language": "Token-language statistics",
    "other": "Other metrics",
}
PRIMARY = {"tokbench": ["t_acc", "t_ned", "f_sim"], "recon": ["psnr", "ssim", "rfid"]}
LANGUAGE_HEADLINE = (
    "bpp_entropy",
    "utilization",
    "codebook_perplexity",
    "unigram_entropy_bits",
    "n1.zipf_s",
    "m90",
    "lzma_bits_per_token",
    "lm_ppl",
)
MARKERS = ["†", "‡", "§", "¶", "#", "◊", "♠", "♣", "♥", "♦"]


class ProtocolConflict(ResultError):
    """Numbers made under different protocols, backends or datasets would share a column."""

    def __init__(self, column: str, aspect: str, a: str, b: str, where_a: str, where_b: str) -> None:
        self.column, self.aspect, self.values = column, aspect, (a, b)
        super().__init__(
            f"column {column}: {aspect} differs: {a!r} ({where_a}) vs {b!r} ({where_b}); "
            "pass --mix-protocols to show them together, marked"
        )


@dataclass
class Column:
    key: str
    spec: MetricSpec
    head: str  # the two-level header's upper label (``T-ACC`` for ``t_acc_small``), or the label itself
    sub: str = ""  # the lower label: S / M / L / Mean for a bucketed family, empty otherwise

    @classmethod
    def of(cls, key: str, book: SpecBook) -> Column:
        """The column of metric ``key`` as the book declares it."""
        family = book.family(key)
        if family is None:
            return cls(key, book.spec(key), book.spec(key).label)
        return cls(key, book.spec(key), book.spec(family[0]).label, family[1])


@dataclass
class Table:
    name: str
    title: str
    kind: str
    resolution: int | None
    frame: pd.DataFrame
    columns: list[Column]
    markers: dict[tuple[int, str], str] = field(default_factory=dict)  # (row position, key) -> marker
    footnotes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cells: dict[tuple[int, str], Entry] = field(default_factory=dict)  # where each number came from
    intervals: dict[tuple[int, str], tuple[float, float]] = field(default_factory=dict)  # filled by intervals.attach

    def display(self, row: int, key: str) -> str:
        """A formatted cell: metric value, its stored interval and its marker, or the leading column's text."""
        value = self.frame.iloc[row][key]
        if key == "bpp":
            return "–" if value is None or value != value else f"{value:.4f}"
        col = next((c for c in self.columns if c.key == key), None)
        if col is None:
            return "–" if value is None or value != value else str(value)
        bounds = self.intervals.get((row, key))
        shown = f" [{col.spec.format(bounds[0])}, {col.spec.format(bounds[1])}]" if bounds else ""
        return col.spec.format(value) + shown + self.markers.get((row, key), "")

    def published_rows(self) -> list[int]:
        return [i for i, s in enumerate(self.frame["Source"]) if s == "published"]


def claims(e: Entry, metric: str, kind: str, book: SpecBook) -> bool:
    """Whether entry ``e`` puts a number into table ``kind``'s column ``metric``."""
    return book.table(metric) == kind and _numeric(e.metrics.get(metric))


def language_headline(metrics: list[str]) -> list[str]:
    """The language table's columns: a few headline statistics per stream (all, if none is known)."""
    picked = [m for m in metrics if any(m == t or m.endswith("." + t) for t in LANGUAGE_HEADLINE)]
    return picked or metrics


def _numeric(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def sections(entries: list[Entry], book: SpecBook) -> list[tuple[str, int]]:
    """(table kind, resolution) pairs that have at least one number, in display order."""
    found = {(book.table(m), e.resolution) for e in entries for m, v in e.metrics.items() if _numeric(v)}
    rank = {k: i for i, k in enumerate(TITLES)}
    return sorted(found, key=lambda s: (rank[s[0]], s[1]))


def build_tables(runs: list[Entry], published: list[Entry], mix: bool, book: SpecBook) -> list[Table]:
    """Every section's table. Published entries join a section's columns when their aspects agree
    (or ``mix``); otherwise they get a table of their own, with a note saying why."""
    out: list[Table] = []
    for kind, res in sections(runs + published, book):
        own = [e for e in runs if e.resolution == res]
        pub = [e for e in published if e.resolution == res]
        has_run = any(book.table(m) == kind for e in own for m in e.metrics)
        if not has_run:
            table = build_section(kind, res, pub, mix, book)
            if table is not None:
                out.append(table)
            continue
        try:
            table = build_section(kind, res, own + pub, mix, book)
        except ProtocolConflict as e:
            if not pub or _conflict_among(kind, res, own, mix, book):
                raise
            table = build_section(kind, res, own, mix, book)
            apart = build_section(kind, res, pub, mix, book)
            if apart is not None:
                apart.name += "-published"
                apart.title += " — published rows (different protocol)"
                apart.notes.append(f"Published rows shown apart, not in the same columns: {e}")
                if table is not None:
                    out.append(table)
                out.append(apart)
                continue
        if table is not None:
            out.append(table)
    return out


def _conflict_among(kind: str, res: int, entries: list[Entry], mix: bool, book: SpecBook) -> bool:
    try:
        build_section(kind, res, entries, mix, book)
    except ProtocolConflict:
        return True
    return False


def build_section(kind: str, resolution: int, entries: list[Entry], mix: bool, book: SpecBook) -> Table | None:
    """One table for one resolution, or None when no entry has a number for it."""
    import pandas as pd

    metrics = sorted({m for e in entries for m in e.metrics if claims(e, m, kind, book)}, key=book.order_key)
    if not metrics:
        return None
    metrics = _whole_families(metrics, book)
    if kind == "language":
        metrics = language_headline(metrics)
    ordered = sorted(entries, key=lambda e: (bool(e.published), e.model))
    columns = [Column.of(m, book) for m in metrics]
    groups = {m: _groups([e for e in ordered if claims(e, m, kind, book)]) for m in metrics}
    title = f"{TITLES[kind]} @{resolution}"
    if not mix:
        for col in columns:
            g = groups[col.key]
            if len(g) > 1:
                a, b, (aspect, va, vb) = _first_difference(g[0], g[1])
                raise ProtocolConflict(
                    f"{col.spec.label} @{resolution}", aspect, va, vb, f"{a.model}, {a.where}", f"{b.model}, {b.where}"
                )
    # rows: (model, published) plus a variant number when one model has cells from several groups
    row_keys: list[tuple[str, bool, int]] = []
    cells: dict[tuple[tuple[str, bool, int], str], tuple[Entry, int]] = {}
    for col in columns:
        for gi, group in enumerate(groups[col.key]):
            for e in group:
                base = (e.model, bool(e.published))
                variant = 0
                while (base + (variant,), col.key) in cells:
                    variant += 1
                key = base + (variant,)
                cells[(key, col.key)] = (e, gi)
                if key not in row_keys:
                    row_keys.append(key)
    records = []
    for key in row_keys:
        first = next(e for (k, _), (e, _) in cells.items() if k == key)
        label = key[0] if key[2] == 0 else f"{key[0]} ({key[2] + 1})"
        bpps = [e.bpp for (k, _), (e, _) in cells.items() if k == key and e.bpp is not None]
        rec: dict[str, Any] = {
            "Model": label,
            "Source": "published" if key[1] else "run",
            "Kind": first.kind,
            "Factor": first.factor,
            "bpp": bpps[0] if bpps else float("nan"),
        }
        for col in columns:
            hit = cells.get((key, col.key))
            rec[col.key] = float(hit[0].metrics[col.key]) if hit else float("nan")
        records.append(rec)
    frame = pd.DataFrame.from_records(records, columns=LEAD + [c.key for c in columns])
    order = _row_order(frame, kind, columns)
    frame = frame.iloc[order].reset_index(drop=True)
    position = {row_keys[old]: new for new, old in enumerate(order)}
    table = Table(f"{kind}-{resolution}", title, kind, resolution, frame, columns)
    marker_of: dict[str, str] = {}
    for (key, metric), (e, gi) in cells.items():
        table.cells[(position[key], metric)] = e
        if gi == 0:
            continue
        ref = next((m for m in groups[metric][0] if differences(m, e)), groups[metric][0][0])
        text = "; ".join(f"{a} {vb!r} (column has {va!r})" for a, va, vb in differences(ref, e))
        if text not in marker_of:
            marker_of[text] = MARKERS[len(marker_of)] if len(marker_of) < len(MARKERS) else f"*{len(marker_of) + 1}"
            table.footnotes.append(f"{marker_of[text]} made under a different protocol: {text}")
        table.markers[(position[key], metric)] = marker_of[text]
    used = list({id(e): e for e in table.cells.values()}.values())
    for src in sorted({e.published["source"] for e in used if e.published}):
        table.footnotes.append(f"Source = published: transcribed from {src}; published, not re-measured.")
    for e in used:
        empty = _empty_bucket_note(e, [c.key for c in columns])
        if empty and empty not in table.footnotes:
            table.footnotes.append(empty)
        for note in ((e.published or {}).get("note"), _lpips_note(e)):
            if note and f"{e.model}: {note}" not in table.notes:
                table.notes.append(f"{e.model}: {note}")
    return table


def _empty_bucket_note(e: Entry, keys: list[str]) -> str | None:
    """Why a Mean cell is blank: TokBench's Mean needs all three bucket means, and a bucket had no instance."""
    empty = (e.result.get("extra") or {}).get("empty_buckets")
    if not isinstance(empty, list) or not empty:
        return None
    blank = [k for k in keys if k in e.metrics and not _numeric(e.metrics[k]) and f"{k}_{empty[0]}" in keys]
    if not blank:
        return None
    buckets = ", ".join(str(b) for b in empty)
    return f"{e.model} @{e.resolution}: Mean undefined: empty bucket {buckets} in {e.dataset} ({', '.join(blank)})"


def _lpips_note(e: Entry) -> str | None:
    """LPIPS runs on whole images up to the recon option ``lpips_max_pixels``: say how many it left out."""
    extra = e.result.get("extra") or {}
    skipped = extra.get("lpips_skipped_above_max_pixels")
    if not isinstance(skipped, int) or isinstance(skipped, bool) or skipped <= 0:
        return None
    cap = ((e.result.get("suite") or {}).get("options") or {}).get("lpips_max_pixels")
    return (
        f"LPIPS @{e.resolution} leaves out {skipped} of {extra.get('n', '?')} images above "
        f"lpips_max_pixels={cap} (recon option); the other recon metrics cover every image"
    )


def _whole_families(metrics: list[str], book: SpecBook) -> list[str]:
    """The TokBench layout: a bucketed family, wherever one of its metrics stands, as all of
    Small / Medium / Large / Mean (missing ones empty), so every family reads alike."""
    out: list[str] = []
    for m in metrics:
        family = book.family(m)
        names = [f"{family[0]}_{b}" for b in BUCKETS] + [family[0]] if family else [m]
        out += [n for n in names if n not in out]
    return out


def _first_difference(xs: list[Entry], ys: list[Entry]) -> tuple[Entry, Entry, tuple[str, str, str]]:
    """Two entries of two groups that differ, and their first differing aspect."""
    for a in xs:
        for b in ys:
            diffs = differences(a, b)
            if diffs:
                return a, b, diffs[0]
    raise AssertionError("groups without a difference")  # _groups only splits on a difference


def _groups(entries: list[Entry]) -> list[list[Entry]]:
    """Entries split into mutually compatible groups; the largest group first (the column's reference)."""
    groups: list[list[Entry]] = []
    for e in entries:
        for g in groups:
            if all(not differences(m, e) for m in g):
                g.append(e)
                break
        else:
            groups.append([e])
    runs_first = sorted(groups, key=lambda g: (-sum(not e.published for e in g), -len(g)))
    return runs_first


def _row_order(frame: pd.DataFrame, kind: str, columns: list[Column]) -> list[int]:
    """Best first by the table's primary metric (direction-aware, missing last), then by model."""
    keys = [c.key for c in columns]
    primary = next((m for m in PRIMARY.get(kind, []) if m in keys and frame[m].notna().any()), None)

    def sort_key(i: int) -> tuple[Any, ...]:
        label = str(frame.iloc[i]["Model"]).lower()
        if primary is None:
            return (0, 0.0, label)
        v = frame.iloc[i][primary]
        if v != v:
            return (1, 0.0, label)
        return (0, -v if next(c.spec for c in columns if c.key == primary).direction == HIGHER else v, label)

    return sorted(range(len(frame)), key=sort_key)


def counts_table(entries: list[Entry]) -> pd.DataFrame:
    """Counts used/skipped per result file (published rows have none)."""
    import pandas as pd

    rows = []
    for e in sorted(entries, key=lambda e: (e.model, e.suite, e.dataset, e.resolution)):
        c = e.result.get("counts") or {}
        rows.append(
            {
                "Model": e.model,
                "Suite": e.suite,
                "Dataset": e.dataset,
                "Res": e.resolution,
                "Images used": c.get("images_used"),
                "Images": c.get("images"),
                "Images skipped": _reasons(c.get("images_skipped")),
                "Instances used": c.get("instances_used"),
                "Instances skipped": _reasons(c.get("instances_skipped")),
                "Per bucket": _bucket_counts(e.result.get("buckets")),
                "File": str(e.path) if e.path else "",
            }
        )
    columns = [
        "Model",
        "Suite",
        "Dataset",
        "Res",
        "Images used",
        "Images",
        "Images skipped",
        "Instances used",
        "Instances skipped",
        "Per bucket",
        "File",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    if not any(frame["Per bucket"]):
        frame = frame.drop(columns=["Per bucket"])
    return frame


def _bucket_counts(buckets: Any) -> str:
    """``S 12 / M 5 / L 3`` when the result's ``buckets`` say how many instances each held."""
    if not isinstance(buckets, dict):
        return ""
    parts = []
    for b in BUCKETS:
        info = buckets.get(b)
        n = (
            info
            if isinstance(info, int)
            else next(
                (
                    info[k]
                    for k in ("n", "count", "instances", "n_instances")
                    if isinstance(info, dict) and isinstance(info.get(k), int)
                ),
                None,
            )
        )
        if n is not None and not isinstance(n, bool):
            parts.append(f"{BUCKET_SHORT[b]} {n}")
    return " / ".join(parts)


def _reasons(skipped: Any) -> str:
    """``{"no text": 3, "unreadable image": 1}`` -> ``4 (no text 3, unreadable image 1)``; ``0`` when none."""
    if not isinstance(skipped, dict) or not skipped:
        return "0"
    total = sum(v for v in skipped.values() if isinstance(v, int))
    return f"{total} (" + ", ".join(f"{k} {v}" for k, v in sorted(skipped.items())) + ")"


@dataclass
class LongTable:
    """Every statistic of a table kind at one resolution: one row per metric, one column per result."""

    name: str
    title: str
    resolution: int
    frame: pd.DataFrame  # index: metric names; columns: result labels
    book: SpecBook

    def display(self, metric: str, column: str) -> str:
        return self.book.spec(metric).format(self.frame.loc[metric, column])


def language_detail(table: Table, book: SpecBook) -> LongTable | None:
    """All token-language statistics of the results behind ``table`` (its headline has a few)."""
    import pandas as pd

    used = list({id(e): e for e in table.cells.values()}.values())
    if not used:
        return None
    marks: dict[int, str] = {}
    for (r, k), e in table.cells.items():
        if (r, k) in table.markers:
            marks[id(e)] = table.markers[(r, k)]
    several = len({e.dataset for e in used}) > 1
    columns: dict[str, dict[str, float]] = {}
    for e in sorted(used, key=lambda e: (bool(e.published), e.model, e.dataset)):
        label = e.model + (f" ({e.dataset})" if several else "") + marks.get(id(e), "")
        columns[label] = {m: float(v) for m, v in e.metrics.items() if claims(e, m, "language", book)}
    frame = pd.DataFrame(columns)
    frame = frame.loc[sorted(frame.index, key=lambda m: (m.split(".")[0], m))]
    if len(frame.index) <= len(table.columns):
        return None  # the headline table already shows everything
    return LongTable(
        f"language-all-{table.resolution}",
        f"All token-language statistics @{table.resolution}",
        table.resolution or 0,
        frame,
        book,
    )
