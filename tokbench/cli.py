"""The ``tokbench`` command line: parse, call, print. No formulas live here."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Evaluate visual tokenizers: how much text, faces and detail survive reconstruction.",
)
data_app = typer.Typer(no_args_is_help=True, help="Fetch, verify and annotate datasets.")
app.add_typer(data_app, name="data")
import_app = typer.Typer(no_args_is_help=True, help="Import results made by other tools.")
app.add_typer(import_app, name="import")


def _err(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _guarded(call: Callable[[], int], what: str) -> int:
    """Run a command that returns its exit code. An unexpected exception becomes one line and exit 2
    ("cannot use the input"): Python's own exit code for a traceback is 1, which ``check`` reserves
    for "regressed", so a crash on a hostile file must not read as a verdict. Set TOKBENCH_DEBUG=1
    for the traceback."""
    import os

    try:
        return call()
    except (KeyboardInterrupt, typer.Exit):
        raise
    except Exception as e:
        if os.environ.get("TOKBENCH_DEBUG"):
            raise
        from tokbench.report.escape import terminal

        detail = str(e).splitlines()[0][:300] if str(e) else ""
        typer.echo(
            f"error: {what} failed: {type(e).__name__}: {terminal(detail)} "
            "(a bug: please report it; TOKBENCH_DEBUG=1 shows the traceback)",
            err=True,
        )
        return 2


def _csv(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _suite_options(pairs: list[str]) -> dict[str, dict[str, Any]]:
    from tokbench.registry import parse_options

    out: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        suite, sep, rest = pair.partition(":")
        if not sep:
            _err(f"--suite-arg {pair!r} must look like SUITE:key=value[,key=value]")
        out.setdefault(suite, {}).update(parse_options(rest))
    return out


@app.command()
def run(
    model: Annotated[str, typer.Option(help="NAME[:k=v,...] or file.py:Class[:k=v,...]")],
    suite: Annotated[str, typer.Option(help="comma-separated suites, e.g. text,face")] = "recon",
    dataset: Annotated[
        str,
        typer.Option(help="comma-separated registered names, groups (tokbench-text), manifests or annotation .json"),
    ] = "samples",
    images: Annotated[
        Optional[str], typer.Option(help="image folder(s) for annotation files: one, or one per file in order")
    ] = None,
    resolution: Annotated[str, typer.Option(help="comma-separated canvas sizes, e.g. 256,512")] = "256",
    protocol: Annotated[
        Optional[str],
        typer.Option(
            help="tokbench-paper | center-crop | adm-crop | torchvision-crop [:store=reference|lossless,"
            "read=reference|oriented]; video datasets: tokbench-video[:store=reference|lossless] "
            "(default: tokbench-paper, tokbench-video for video)"
        ),
    ] = None,
    ocr: Annotated[Optional[str], typer.Option(help="OCR backend for the text suite")] = None,
    face: Annotated[Optional[str], typer.Option(help="face backend for the face suite")] = None,
    suite_arg: Annotated[Optional[list[str]], typer.Option(help="SUITE:key=value options (repeatable)")] = None,
    device: Annotated[Optional[str], typer.Option(help="cuda when present, else cpu")] = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 8,
    precision: Annotated[str, typer.Option(help="fp32 | bf16 | fp16 (tokenizer only)")] = "fp32",
    workers: Annotated[int, typer.Option(min=0, help="image-loading threads")] = 2,
    limit: Annotated[Optional[int], typer.Option(min=1, help="first N images only")] = None,
    seed: Annotated[int, typer.Option(help="also seeds the bootstrap intervals")] = 0,
    intervals: Annotated[str, typer.Option(help="bca | percentile | none: 95 % interval of every aggregate")] = "bca",
    resamples: Annotated[int, typer.Option(min=100, help="bootstrap resamples per interval")] = 2000,
    output_dir: Annotated[str, typer.Option(help="where result files go")] = "results/runs",
    cache_dir: Annotated[Optional[str], typer.Option(help="default: $TOKBENCH_HOME/cache")] = None,
    shared_cache: Annotated[bool, typer.Option(help="accept a cache folder other users can write to")] = False,
    data_root: Annotated[Optional[str], typer.Option(help="default: $TOKBENCH_HOME/data")] = None,
    offline: Annotated[bool, typer.Option(help="never touch the network")] = False,
    allow_partial: Annotated[
        bool, typer.Option(help="run on a dataset with fewer files than its manifest lists (recorded in the result)")
    ] = False,
    on_error: Annotated[str, typer.Option(help="fail | skip (record failing images as skipped)")] = "fail",
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON on stdout")] = False,
    launcher: Annotated[str, typer.Option(help="none | torchrun (re-launch under torchrun)")] = "none",
    nproc: Annotated[int, typer.Option(min=1, help="processes per node with --launcher torchrun")] = 2,
    benchmark: Annotated[
        Optional[str],
        typer.Option(help="tokbench: the paper's pipeline (protocol, parseq, antelopev2, 256/512/1024, its sets)"),
    ] = None,
    *,
    click_ctx: typer.Context,
) -> None:
    """Reconstruct a dataset with a tokenizer and score it with the chosen suites."""

    if launcher == "torchrun":
        _relaunch_under_torchrun(nproc)
    elif launcher != "none":
        _err(f"--launcher must be 'none' or 'torchrun', got {launcher!r}")
    from tokbench.runner import RunConfig

    try:
        resolutions = [int(r) for r in _csv(resolution)]
    except ValueError:
        _err(f"--resolution must be comma-separated integers, got {resolution!r}")
    if any(r < 8 for r in resolutions):
        _err(f"--resolution values must be >= 8, got {resolution!r}")
    options = _suite_options(suite_arg or [])
    if ocr:
        options.setdefault("text", {})["ocr"] = ocr
    if face:
        options.setdefault("face", {})["face"] = face
    from tokbench.video.data import is_video_dataset

    video = is_video_dataset(dataset, images)
    config_class = RunConfig
    if video:  # a video dataset runs through tokbench.video.runner (see _run_with_progress)
        from tokbench.video.config import VideoRunConfig

        config_class = VideoRunConfig
    config = config_class(
        model=model,
        suites=_csv(suite),
        dataset=dataset,
        images=images,
        resolutions=resolutions,
        protocol=protocol or ("tokbench-video" if video else "tokbench-paper"),
        device=device,
        batch_size=batch_size,
        precision=precision,
        workers=workers,
        limit=limit,
        seed=seed,
        output_dir=output_dir,
        cache_dir=cache_dir,
        data_root=data_root,
        offline=offline,
        on_error=on_error,
        suite_options=options,
        shared_cache=shared_cache,
        allow_partial=allow_partial,
        intervals=intervals,
        resamples=resamples,
    )
    if benchmark:
        paths = _run_benchmark(click_ctx, benchmark, config, ocr, face)
    else:
        paths = _run_with_progress(config)
    _print_summary(paths, as_json)


def _run_benchmark(click_ctx: typer.Context, name: str, base: Any, ocr: str | None, face: str | None) -> list[Path]:
    """Every pass of a preset (tokbench.benchmark), after one check that everything it needs is here."""
    from tokbench.benchmark import BenchmarkUnavailable, check, configs

    def given(param: str) -> bool:  # typer ships its own click: compare the source by name
        source = click_ctx.get_parameter_source(param)
        return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")

    fixed = [p for p in ("suite", "dataset", "images", "protocol", "suite_arg") if given(p)]
    if fixed:
        _err(f"--benchmark {name} sets {', '.join('--' + p.replace('_', '-') for p in fixed)} itself: drop them")
    explicit = given("resolution")
    plans = configs(name, base, ocr, face, base.resolutions if explicit else None)
    try:
        check(plans)
    except BenchmarkUnavailable as e:
        _err(str(e), 1)
    return [p for plan in plans for p in _run_with_progress(plan)]


@app.command()
def rd(
    model: Annotated[
        Optional[list[str]],
        typer.Option(help="models to place (repeatable or comma-separated); latent_bits=N rates a continuous one"),
    ] = None,
    suite: Annotated[str, typer.Option(help="comma-separated suites, e.g. recon,text,face,fid")] = "recon",
    codecs: Annotated[str, typer.Option(help="comma-separated: jpeg,webp,avif,jpeg2000")] = "jpeg,webp,avif,jpeg2000",
    grid: Annotated[str, typer.Option(help="bpp targets: LO:HI:PER_DECADE (log-spaced) or a list")] = "0.01:1:4",
    downs: Annotated[str, typer.Option(help="down-scaling factors tried at each rate (best one kept)")] = "1,2,4,8",
    dataset: Annotated[str, typer.Option(help="registered name, manifest .json, or annotation .json")] = "samples",
    images: Annotated[Optional[str], typer.Option(help="image folder for an annotation file")] = None,
    resolution: Annotated[str, typer.Option(help="comma-separated canvas sizes")] = "256",
    protocol: Annotated[
        str, typer.Option(help="tokbench-paper | center-crop | adm-crop | torchvision-crop")
    ] = "tokbench-paper",
    suite_arg: Annotated[Optional[list[str]], typer.Option(help="SUITE:key=value options (repeatable)")] = None,
    device: Annotated[Optional[str], typer.Option(help="cuda when present, else cpu")] = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 8,
    limit: Annotated[Optional[int], typer.Option(min=1, help="first N images only")] = None,
    seed: Annotated[int, typer.Option()] = 0,
    output_dir: Annotated[str, typer.Option(help="where result files and the rd file go")] = "results/runs",
    rd_file: Annotated[Optional[str], typer.Option(help="the rd file's path (default under OUTPUT_DIR/rd/)")] = None,
    cache_dir: Annotated[Optional[str], typer.Option(help="default: $TOKBENCH_HOME/cache")] = None,
    offline: Annotated[bool, typer.Option(help="never touch the network")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print where things went as JSON on stdout")] = False,
) -> None:
    """Rate–distortion: codec curves over a bpp grid, models placed on them at their rates (docs/rd.md)."""
    from tokbench.rd.command import rd_cmd, split_models
    from tokbench.runner import RunConfig

    try:
        resolutions = [int(r) for r in _csv(resolution)]
    except ValueError:
        _err(f"--resolution must be comma-separated integers, got {resolution!r}")
    base = RunConfig(
        model="rd",
        suites=_csv(suite),
        dataset=dataset,
        images=images,
        resolutions=resolutions,
        protocol=protocol,
        device=device,
        batch_size=batch_size,
        limit=limit,
        seed=seed,
        output_dir=output_dir,
        cache_dir=cache_dir,
        offline=offline,
        suite_options=_suite_options(suite_arg or []),
    )
    models = [m for value in model or [] for m in split_models(value)]
    raise typer.Exit(_guarded(lambda: rd_cmd(base, models, codecs, grid, downs, rd_file, as_json), "rd"))


def _relaunch_under_torchrun(nproc: int) -> None:
    """Replace this process with ``torchrun --nproc-per-node N -m tokbench run <same args>``."""
    import os
    import shutil

    argv, skip = [], False
    for arg in sys.argv[2:]:  # drop "tokbench run"
        if skip:
            skip = False
            continue
        if arg in ("--launcher", "--nproc"):
            skip = True
            continue
        if arg.startswith(("--launcher=", "--nproc=")):
            continue
        argv.append(arg)
    torchrun = shutil.which("torchrun")
    if torchrun is None:
        _err("torchrun is not on PATH (it comes with torch)")
    os.execv(torchrun, [torchrun, f"--nproc-per-node={nproc}", "-m", "tokbench", "run", *argv])


def _run_with_progress(config: Any) -> list[Path]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from tokbench.runner import run as run_config
    from tokbench.video.config import VideoRunConfig

    if isinstance(config, VideoRunConfig):
        from tokbench.video.runner import run_video as run_config

    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        tasks: dict[str, Any] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total, rate="")
            task = progress.tasks[tasks[stage]]
            rate = f"{done / task.elapsed:.2f} img/s" if task.elapsed else ""
            progress.update(tasks[stage], completed=done, rate=rate)

        try:
            return run_config(config, report)
        except Exception as e:  # every expected failure becomes one line, no traceback
            from tokbench.errors import user_error

            message = user_error(e)
            if message is None:
                raise
            _err(message, 1)
    return []


def _print_summary(paths: list[Path], as_json: bool) -> None:
    from tokbench.results import read_result

    if not paths:  # a torchrun rank other than 0: rank 0 reports
        return
    results = [read_result(p) for p in paths]
    if as_json:
        summary = [
            {
                "file": str(p),
                "model": r["model"]["id"],
                "suite": r["suite"]["name"],
                "dataset": r["dataset"]["name"],
                "resolution": r["resolution"],
                "metrics": r["metrics"],
                "counts": r["counts"],
            }
            for p, r in zip(paths, results, strict=True)
        ]
        sys.stdout.write(json.dumps(summary, indent=1) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="tokbench results")
    for col in ("model", "suite", "res", "metrics", "used/skipped"):
        table.add_column(col)
    for r in results:
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in list(r["metrics"].items())[:8])
        c = r["counts"]
        skipped = sum(c["instances_skipped"].values()) + sum(c["images_skipped"].values())
        table.add_row(
            r["model"]["id"], r["suite"]["name"], str(r["resolution"]), shown, f"{c['instances_used']}/{skipped}"
        )
    console = Console(stderr=True)
    console.print(table)
    for p in paths:
        console.print(f"wrote {p}")


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


@app.command("list")
def list_things(what: Annotated[str, typer.Argument(help="models | suites | datasets | all")] = "all") -> None:
    """List registered models, suites and datasets (instant: imports nothing heavy)."""
    from tokbench.data.manifest import builtin_manifest, builtin_manifest_names
    from tokbench.plugins import VIDEO_MODELS, VIDEO_SUITES
    from tokbench.registry import MODELS, SUITES

    # video-only names (used on a video dataset; every image model also runs there frame by frame)
    video = " [video datasets]"
    sections = {
        "models": sorted(
            [(n, MODELS.entry(n).summary) for n in MODELS.names()]
            + [(p.name, p.summary + video) for p in VIDEO_MODELS if p.name not in MODELS.names()]
        ),
        "suites": [(n, SUITES.entry(n).summary) for n in SUITES.names()]
        + [(p.name, p.summary + video) for p in VIDEO_SUITES if p.name not in SUITES.names()],
        "datasets": [
            (m, _dataset_summary(builtin_manifest(m), video))
            for m in ["samples", *[m for m in builtin_manifest_names() if m != "samples"]]
        ]
        + [("video-samples", "generated clips with text and faces" + video), ("video-folder", "--images DIR" + video)],
    }
    if what != "all" and what not in sections:
        _err(f"unknown list {what!r}; choose from models, suites, datasets, all")
    for name, rows in sections.items():
        if what in ("all", name):
            typer.echo(f"{name}:")
            for n, summary in rows:
                typer.echo(f"  {n:<16} {summary}".rstrip())


def _dataset_summary(manifest: Any, video: str) -> str:
    """A manifest's kind and where it comes from, marked when it is a video set."""
    source = {
        "huggingface": "tokbench data fetch",
        "url": "tokbench data fetch",
        "local": "your folder",
        "package": "shipped in the package",
    }
    how = source.get(manifest.source.get("type"), "")
    return f"{manifest.kind} ({how})" + (video if manifest.kind.startswith("video-") else "")


@data_app.command("fetch")
def data_fetch(name: str, data_root: Optional[str] = None, offline: bool = False) -> None:
    """Download a registered dataset (resumable, checksum-verified)."""
    from tokbench.data.manifest import builtin_manifest, fetch

    manifest = builtin_manifest(name)
    try:
        report = fetch(manifest, manifest.root(data_root), offline=offline)
    except OSError as e:  # the network or the disk, not tokbench: one line (a TokbenchError is main()'s)
        _err(f"cannot fetch {name}: {type(e).__name__}: {e}", 1)
    typer.echo(report.describe())


@data_app.command("verify")
def data_verify(
    name: Annotated[str, typer.Argument(help="registered dataset name or manifest .json file")],
    data_root: Optional[str] = None,
) -> None:
    """Check a dataset's files against its manifest's checksums."""
    from tokbench.data.manifest import ManifestError, builtin_manifest, builtin_manifest_names, load_manifest, verify

    path = Path(name).expanduser()
    try:
        # a registered name, or an existing manifest file: never a path made from the name
        if name in builtin_manifest_names():
            manifest = builtin_manifest(name)
        elif path.suffix == ".json" and path.is_file():
            manifest = load_manifest(path)
        else:
            _err(
                f"{name!r} is neither a registered dataset ({', '.join(builtin_manifest_names())}) "
                "nor a manifest .json file"
            )
    except ManifestError as e:
        _err(str(e))
    root = manifest.root(data_root)
    label = manifest.root_label(data_root)  # `$NAME` for a root from the environment: its value is never shown
    if manifest.source["type"] != "package" and not root.exists():
        how = (
            f"set ${manifest.source.get('env')} to its folder"
            if manifest.source["type"] == "local"
            else f"run `tokbench data fetch {manifest.name}`"
        )
        _err(f"dataset {manifest.name!r} is not under {label}; {how}", 1)
    report = verify(manifest, root, label)
    typer.echo(report.describe())
    if not report.passed:
        raise typer.Exit(1)


@app.command()
def report(
    results: Annotated[list[str], typer.Argument(help="result files or folders")],
    format: Annotated[str, typer.Option("--format", help="md,csv,html,latex,json,png,site")] = "md,csv,html",
    output: Annotated[
        str, typer.Option("--output-dir", "--output", help="where the report files go")
    ] = "results/report",
    mix_protocols: Annotated[bool, typer.Option(help="allow different protocols in one column (marked)")] = False,
    with_published: Annotated[bool, typer.Option(help="add the TokBench authors' published rows")] = False,
    pool: Annotated[
        bool, typer.Option(help="pool each model's results over several sets (TokBench's arithmetic) first")
    ] = False,
    intervals: Annotated[
        bool, typer.Option(help="show the 95 % intervals stored in tokbench.result/3 files (--no-intervals hides)")
    ] = True,
) -> None:
    """Leaderboard tables (Markdown, CSV, HTML with pictures, LaTeX, JSON) from result files only."""
    from tokbench.report.commands import report_cmd

    raise typer.Exit(
        _guarded(lambda: report_cmd(results, format, output, mix_protocols, with_published, pool, intervals), "report")
    )


@app.command()
def check(
    new: Annotated[list[str], typer.Argument(help="new result files or folders")],
    baseline: Annotated[list[str], typer.Option(help="baseline result file or folder (repeatable)")],
    max_drop: Annotated[Optional[list[str]], typer.Option(help="METRIC=VALUE or METRIC=2% (repeatable)")] = None,
    format: Annotated[str, typer.Option("--format", help="text | github | json")] = "text",
    tolerance_only: Annotated[
        bool, typer.Option(help="a drop beyond tolerance fails even when not significant (the old gate)")
    ] = False,
    alpha: Annotated[float, typer.Option(help="significance level of a drop (after Holm)")] = 0.05,
) -> None:
    """Release gate: exit 0 if nothing regressed, 1 if a metric did, 2 if the files cannot be compared."""
    from tokbench.report.commands import check_cmd

    raise typer.Exit(_guarded(lambda: check_cmd(new, baseline, max_drop, format, tolerance_only, alpha), "check"))


@app.command()
def validate(
    results: Annotated[list[str], typer.Argument(help="submitted result folders or files")],
    format: Annotated[str, typer.Option("--format", help="text | json | github")] = "text",
    preset: Annotated[Optional[str], typer.Option(help="require a preset: tokbench-paper")] = None,
) -> None:
    """Is a submission fit to publish? Exit 0 valid, 1 invalid, 2 unusable input; one line per problem."""
    from tokbench.submission.command import validate_cmd

    raise typer.Exit(_guarded(lambda: validate_cmd(results, format, preset), "validate"))


@app.command()
def compare(
    a: Annotated[str, typer.Argument(help="result file or folder")],
    b: Annotated[str, typer.Argument(help="result file or folder")],
    alpha: Annotated[float, typer.Option(help="significance level of the verdicts (after Holm)")] = 0.05,
    resamples: Annotated[int, typer.Option(help="bootstrap / sign-flip resamples")] = 2000,
    seed: Annotated[int, typer.Option(help="seed of the resampling")] = 0,
) -> None:
    """Two result sets side by side: paired differences, intervals, p-values and verdicts."""
    from tokbench.report.commands import compare_cmd

    raise typer.Exit(_guarded(lambda: compare_cmd(a, b, alpha, resamples, seed), "compare"))


@import_app.command("tokbench-output")
def import_tokbench_output(
    files: Annotated[list[Path], typer.Argument(help="TokBench eval_text.py output files (<dataset>.json)")],
    output: Annotated[str, typer.Option("--output-dir", "--output", help="where result files go")] = "results/runs",
    model: Annotated[Optional[str], typer.Option(help="model name (default: the method name in the files)")] = None,
) -> None:
    """Turn TokBench reference outputs into tokbench `text` results (pooled, bucketed, marked imported)."""
    from tokbench.importers import BadImport, import_tokbench_outputs
    from tokbench.report.escape import terminal

    def call() -> int:
        try:
            paths = import_tokbench_outputs(files, Path(output), model)
        except BadImport as e:
            typer.echo(f"error: {terminal(e)}", err=True)
            return 2
        for p in paths:
            typer.echo(f"wrote {terminal(p)}")
        return 0

    raise typer.Exit(_guarded(call, "import"))


@app.command()
def models(as_json: Annotated[bool, typer.Option("--json", help="machine-readable")] = False) -> None:
    """Real tokenizer families and variants: route, licence, and whether this machine has what each needs."""
    import shutil

    from tokbench.doctor import list_models, render_models

    rows = list_models()
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=1) + "\n")
        return
    typer.echo(render_models(rows, shutil.get_terminal_size().columns), nl=False)


@app.command()
def doctor(
    model: Annotated[str, typer.Option(help="NAME[:k=v,...]")],
    size: Annotated[Optional[int], typer.Option(help="test canvas size")] = None,
    device: Annotated[str, typer.Option()] = "cpu",
) -> None:
    """Check one model end to end (package, clone, weights, build, encode/decode) and say how to fix it."""
    from tokbench.doctor import doctor as run_doctor

    checks = run_doctor(model, size=size, device=device, echo=True)
    raise typer.Exit(0 if all(c.ok for c in checks) else 1)


@data_app.command("annotate-faces")
def data_annotate_faces(
    folder: Annotated[Path, typer.Argument(help="folder of photos")],
    out: Annotated[Optional[Path], typer.Option(help="output file (default: FOLDER/face_meta.json)")] = None,
    recursive: bool = False,
) -> None:
    """Write a TokBench-format face file (box, 5-point kps, ratio) with dlib's detector and landmarks."""
    from tokbench.data.annotate_faces import annotate_faces

    if not folder.is_dir():
        _err(f"not a folder: {folder}")
    records = annotate_faces(folder, out, recursive=recursive)
    faces = sum(len(r["faces"]) for r in records)
    typer.echo(f"{faces} face(s) in {len(records)} image(s) -> {out or folder / 'face_meta.json'}")


def main() -> None:
    """The ``tokbench`` command: a user's error is one line (exit 1), a bug keeps its traceback."""
    from tokbench.errors import TokbenchError

    try:
        app()
    except TokbenchError as e:
        from tokbench.report.escape import terminal

        typer.echo(f"error: {terminal(str(e))}", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
