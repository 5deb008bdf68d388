"""Real tokenizer families end to end on the TokBench data, each row beside TokBench's published one.

For a networked GPU machine (it cannot run offline: the data, the weights and the paper's backends
download). One command does everything:

    python benchmarks/real_families.py --taesd-source ~/src/taesd [--families sdxl,flux,...] [--dry-run]

Per family it runs ``tokbench doctor`` (each missing piece is printed with its fix), then
``tokbench run`` on the 8 TokBench text sets (one run each) and on WFLW faces, at 256 and 512 (256
only for models with a fixed 256 input), with
the paper's protocol and backends: ``--benchmark tokbench`` when this tokbench has that flag, else
(as today) ``--protocol tokbench-paper --ocr parseq --face antelopev2``. TokBench pools the 8 text
sets before bucketing, so the text row here pools the per-instance records of the 8 runs the same
way (``tokbench.metrics.buckets.summarize``: mean of the Small/Medium/Large bucket means). Each row
is printed beside the row of ``results/published/tokbench-paper.json`` where TokBench published one
(GigaTok and TAEF2 have none). ``--dry-run`` prints the plan and the published rows and runs nothing.

Needs: ``pip install -e ".[diffusers,parseq,insightface]"``, the PARSeq weights, the antelopev2 pack
in ``~/.insightface/models/antelopev2/``, hub access (FLUX.1-dev is gated: accept its licence and
``hf auth login``), clones of GigaTok and LlamaGen (``$TOKBENCH_SRC_GIGATOK``, ``$TOKBENCH_SRC_LLAMAGEN``),
GigaTok's Google-Drive checkpoint (``$TOKBENCH_WEIGHTS/gigatok/``) and a clone of madebyollin/taesd.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TEXT_SETS = ("ic13", "ic15", "tt", "textocr", "cord", "sroie", "infograph", "docvqa")
FACE_SET = "wflw"
RESOLUTIONS = (256, 512)
COLUMNS = ("t_acc", "t_ned", "f_sim")


@dataclass(frozen=True)
class Family:
    """One family to run: its short key, its tokbench model spec and TokBench's name for it."""

    key: str
    spec: str
    published: str | None  # the "model" of its row in the published file; None: TokBench has none
    resolutions: tuple[int, ...] = RESOLUTIONS  # models with a fixed input size run at it only


def families(taesd_source: str, paper_vae_input: bool = False) -> dict[str, Family]:
    """Every family the script knows; the first five are the default list."""
    vae = ",input_range=paper" if paper_vae_input else ""
    rows = [
        Family("sdxl", f"sdxl-vae:variant=base{vae}", "SD-XL"),
        Family("flux", f"flux-vae:variant=dev{vae}", "FLUX.1-dev"),
        Family("llamagen", "llamagen:variant=VQ-16", "LlamaGen"),
        Family("gigatok", "gigatok:variant=XLXXL", None, (256,)),
        Family("taef2", f"taef2:source={taesd_source}", None),
        Family("llamagen-f8", "llamagen:variant=VQ-8", "LlamaGen (F8)"),
        Family("sd3.5", f"sd3.5-vae:variant=large{vae}", "SD-3.5"),
        Family("var", "var", "VAR", (256,)),
        Family("unitok", "unitok", "UniTok", (256,)),
        Family("open-magvit2", "open-magvit2:variant=256-L", "O-MAGVIT2"),
    ]
    return {f.key: f for f in rows}


DEFAULT = ("sdxl", "flux", "llamagen", "gigatok", "taef2")


def has_benchmark_flag() -> bool:
    """Whether this tokbench's ``run`` takes ``--benchmark`` (read from the CLI, nothing heavy imported)."""
    import inspect

    from tokbench import cli

    return "benchmark" in inspect.signature(cli.run).parameters


def paper_flags(benchmark: bool, suite: str) -> list[str]:
    """The flags that select TokBench's protocol and the suite's backend."""
    if benchmark:
        return ["--benchmark", "tokbench"]
    # no --benchmark yet: the paper's protocol and backends, named one by one
    backend = ["--ocr", "parseq"] if suite == "text" else ["--face", "antelopev2"]
    return ["--protocol", "tokbench-paper", *backend]


def commands(fam: Family, out: Path, device: str, benchmark: bool, data_root: str | None) -> list[list[str]]:
    """The tokbench commands of one family: doctor, then one run per text set, then faces."""
    res = ",".join(map(str, fam.resolutions))
    common = ["--resolution", res, "--device", device, "--output-dir", str(out / fam.key)]
    if data_root:
        common += ["--data-root", data_root]

    def run(suite: str, dataset: str) -> list[str]:
        flags = paper_flags(benchmark, suite)
        return ["tokbench", "run", "--model", fam.spec, "--suite", suite, "--dataset", dataset, *flags, *common]

    runs = [run("text", d) for d in TEXT_SETS] + [run("face", FACE_SET)]
    return [["tokbench", "doctor", "--model", fam.spec, "--device", device], *runs]


def unregistered(chosen: list[Family]) -> list[str]:
    """Model names of the chosen specs that this tokbench does not know."""
    from tokbench.registry import MODELS

    names = set(MODELS.names())
    return [f.spec.split(":", 1)[0] for f in chosen if f.spec.split(":", 1)[0] not in names]


def fetch_commands(data_root: str | None) -> list[list[str]]:
    """Download (sha256-checked) every dataset the runs read."""
    extra = ["--data-root", data_root] if data_root else []
    return [["tokbench", "data", "fetch", d, *extra] for d in (*TEXT_SETS, FACE_SET)]


def published_rows(path: Path | None = None) -> dict[tuple[str, int], dict[str, float]]:
    """TokBench's published rows by (model, resolution)."""
    from tokbench.report.published import default_file

    data = json.loads((path or default_file()).read_text(encoding="utf-8"))
    return {(r["model"], int(r["resolution"])): r["metrics"] for r in data["rows"]}


def _one(out: Path, dataset: str, suite: str, resolution: int) -> Path:
    from tokbench.results import slug

    found = sorted(out.glob(f"*/{slug(dataset)}/{suite}-{resolution}.json"))
    if len(found) != 1:
        raise SystemExit(f"{out}: expected one {suite} result for {dataset} at {resolution}, found {len(found)}")
    return found[0]


def measured_row(out: Path, resolution: int) -> dict[str, float | None]:
    """T-ACC / T-NED pooled over the 8 text sets as TokBench pools them, and F-Sim on WFLW."""
    from tokbench.metrics.buckets import edges_for, summarize
    from tokbench.results import read_instances, read_result

    records: list[dict[str, Any]] = []
    for d in TEXT_SETS:
        records += [r for r in read_instances(_one(out, d, "text", resolution)) if "skip" not in r]
    text = summarize(records, {"t_acc": "acc", "t_ned": "ned"}, edges_for("text", resolution), scale=100.0)
    face = read_result(_one(out, FACE_SET, "face", resolution))["metrics"]
    return {"t_acc": text["metrics"]["t_acc"], "t_ned": text["metrics"]["t_ned"], "f_sim": face.get("f_sim")}


def _cell(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(rows: Sequence[tuple[Family, int, dict[str, float | None] | None]], published: dict[Any, Any]) -> str:
    """Markdown: each measured row beside TokBench's published one (``-`` where there is none)."""
    head = "| family | spec | res | " + " | ".join(f"{c} ours | {c} TokBench" for c in COLUMNS) + " |"
    lines = [head, "|" + " --- |" * (3 + 2 * len(COLUMNS))]
    for fam, res, ours in rows:
        theirs = published.get((fam.published, res), {}) if fam.published else {}
        cells = []
        for c in COLUMNS:
            cells += [_cell((ours or {}).get(c), 2), _cell(theirs.get(c), 2)]
        name = f"{fam.key} ({fam.published or 'no published row'})"
        lines.append(f"| {name} | `{fam.spec}` | {res} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", default=",".join(DEFAULT), help="comma-separated keys, or 'all'")
    parser.add_argument("--taesd-source", default="~/src/taesd", help="a clone of madebyollin/taesd")
    parser.add_argument("--output-dir", default="results/real-families")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--skip-fetch", action="store_true", help="the datasets are already fetched")
    parser.add_argument(
        "--paper-vae-input",
        action="store_true",
        help="diffusers VAEs as TokBench ran them (input_range=paper: [0,1] in, posterior sampled); "
        "default: tokbench's documented [-1,1] and the posterior mode",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan and the published rows; run nothing")
    args = parser.parse_args(argv)

    known = families(args.taesd_source, args.paper_vae_input)
    keys = list(known) if args.families == "all" else [k.strip() for k in args.families.split(",") if k.strip()]
    unknown = [k for k in keys if k not in known]
    if unknown:
        parser.error(
            f"unknown famil{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}; known: {', '.join(known)}"
        )
    chosen = [known[k] for k in keys]
    out = Path(args.output_dir)
    benchmark = has_benchmark_flag()
    published = published_rows()
    plan = ([] if args.skip_fetch else fetch_commands(args.data_root)) + [
        c for fam in chosen for c in commands(fam, out, args.device, benchmark, args.data_root)
    ]
    how = (
        "--benchmark tokbench"
        if benchmark
        else "no --benchmark flag in this tokbench: --protocol tokbench-paper, --ocr parseq, --face antelopev2"
    )
    print(f"# {len(chosen)} families; {how}")
    for name in unregistered(chosen):
        print(f"# warning: model {name!r} is not registered in this tokbench; its runs will fail")
    for cmd in plan:
        print(shlex.join(cmd))
    if args.dry_run:
        print("\n# published rows the results will sit beside")
        print(table([(fam, res, None) for fam in chosen for res in fam.resolutions], published))
        return 0
    for cmd in plan:
        print(f"\n$ {shlex.join(cmd)}", flush=True)
        if subprocess.run(cmd).returncode != 0:
            print(f"failed: {shlex.join(cmd)} (fix what it printed, then rerun: finished work is cached)")
            return 1
    rows = [(fam, res, measured_row(out / fam.key, res)) for fam in chosen for res in fam.resolutions]
    print("\n" + table(rows, published))
    return 0


if __name__ == "__main__":
    sys.exit(main())
