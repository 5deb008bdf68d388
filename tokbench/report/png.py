"""PNG plots of the language suite's curves (rank-frequency log-log, innovation), one pair per result.

Labels from result files pass ``escape.mathtext``: a ``$...$`` in a model name would otherwise be
parsed as matplotlib mathtext, and an unknown macro in it aborts the drawing."""

from __future__ import annotations

from pathlib import Path

from tokbench.report.collect import Entry
from tokbench.report.escape import mathtext
from tokbench.report.plots import language_series
from tokbench.results import slug


def write_language_pngs(entries: list[Entry], folder: Path) -> list[Path]:
    """Draw each language result's curves with matplotlib into ``folder``; returns the files."""
    import matplotlib

    matplotlib.use("Agg")  # no display; set before pyplot is imported
    import matplotlib.pyplot as plt

    written = []
    for e in entries:
        if e.suite != "language":
            continue
        rank, growth = language_series([e])
        for kind, series, log_y in (("rank-frequency", rank, True), ("innovation", growth, False)):
            if not series:
                continue
            fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
            for s in series[:12]:
                ax.plot(s.xs, [float("nan") if y is None else y for y in s.ys], label=mathtext(s.label))
            ax.set_xscale("log")
            if log_y:
                ax.set_yscale("log")
            ax.set_xlabel("rank" if kind == "rank-frequency" else "images seen")
            ax.set_ylabel("count" if kind == "rank-frequency" else "distinct tokens")
            ax.set_title(mathtext(f"{e.model} @{e.resolution}: {kind}"))
            ax.legend(fontsize=7)
            fig.tight_layout()
            path = folder / f"{slug(e.model)}-{e.resolution}-{kind}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path)
            plt.close(fig)
            written.append(path)
    return written
