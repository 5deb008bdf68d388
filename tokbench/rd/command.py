"""``tokbench rd`` as a plain function returning an exit code; ``cli.py`` wires it to typer."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tokbench.config import RunConfig


def split_models(text: str) -> list[str]:
    """``kmeans-vq:K=256,p=8,jpeg:bpp=0.1`` -> two models: a comma starts a new model unless what
    follows is an option (``key=value`` with no ``:`` before the ``=``)."""
    models: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        is_option = "=" in part and not (":" in part and part.index(":") < part.index("="))
        if is_option and models:
            models[-1] += f",{part}"
        else:
            models.append(part)
    return models


def rd_cmd(
    base: RunConfig, models: list[str], codecs: str, grid: str, downs: str, rd_file: str | None, as_json: bool
) -> int:
    """Run the codec curves and models, write the rd file, its PNGs and HTML page; print where."""
    from tokbench.rd.grid import parse_codecs, parse_downs, parse_grid
    from tokbench.rd.plot import describe, to_html, write_pngs
    from tokbench.rd.runner import RdConfig, run_rd
    from tokbench.report.escape import terminal

    config = RdConfig(base, models, parse_codecs(codecs), parse_grid(grid), parse_downs(downs), rd_file)
    outcome = run_rd(config)
    stem = outcome.path.name.removesuffix(".rd.json")
    html = outcome.path.with_name(f"{stem}.html")
    html.write_text(to_html(outcome.data), encoding="utf-8")
    pngs = write_pngs(outcome.data, outcome.path.parent / f"{stem}.plots")
    if as_json:
        summary: dict[str, Any] = {"rd": str(outcome.path), "html": str(html), "png": [str(p) for p in pngs]}
        sys.stdout.write(json.dumps({**summary, "stats": outcome.stats.to_dict()}, indent=1) + "\n")
        return 0
    for section in outcome.data["sections"]:
        for name, block in section["metrics"].items():
            for m in block["models"]:
                for kind, eqs in m["equivalent"].items():
                    for codec, eq in eqs.items():
                        line = f"@{section['resolution']} {name} {m['spec']} [{kind}]: like {codec} at {describe(eq)}"
                        print(terminal(line), file=sys.stderr)
    s = outcome.stats
    print(
        f"codec points: {s.codec_points_run} run, {s.codec_points_cached} from the rd cache; "
        f"codec encodes (tokenizer calls): {s.codec_encodes}",
        file=sys.stderr,
    )
    if not pngs:
        print("note: matplotlib is not installed: no PNG (the HTML page has the charts)", file=sys.stderr)
    for path in [outcome.path, html, *pngs]:
        print(f"wrote {terminal(Path(path))}", file=sys.stderr)
    return 0
