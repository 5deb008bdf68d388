"""Room 4 of a run: records become result files, with full provenance.

One typed result per (model, suite, dataset, resolution) — versions, code and weight hashes, protocol,
options, dataset identity, counts of everything skipped, timings, cache statistics, metric
declarations — written after its example crops and its per-instance JSONL, so the result file is the
one that says a run finished.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tokbench import __version__
from tokbench.data.images import IMAGE_READ_LIMITS, read_record
from tokbench.example_crops import write_examples
from tokbench.hashing import sha256_bytes
from tokbench.results import SCHEMA, Result, instances_bytes, result_path, write_result
from tokbench.stats.attach import intervals_for
from tokbench.suite import Item, Suite

if TYPE_CHECKING:
    from tokbench.build import RunContext


def make_result(
    ctx: RunContext,
    suite: Suite,
    resolution: int,
    size: int,
    aggregate: dict[str, Any],
    records: list[dict[str, Any]],
    skipped_images: list[dict[str, str]],
    bits: list[float],
    timings: dict[str, float],
    reading: dict[str, Counter[str]] | None = None,
) -> Result:
    """The result of one suite at one resolution; ``reading`` counts the images' read conversions
    (``conversions``) and the formats the storage step used (``stored_as``)."""
    from tokbench.build import default_device

    cfg, dataset = ctx.config, ctx.dataset
    inst_skipped = Counter(r["skip"] for r in records if "skip" in r)
    img_skipped = Counter(_reason_kind(s["reason"]) for s in skipped_images)
    n_images = len(dataset.samples) + len(dataset.skipped)
    t0 = time.perf_counter()
    settings = cfg.interval_settings()
    intervals = {"method": "none"} if settings is None else intervals_for(suite, records, aggregate, settings)
    timings = {**timings, "intervals_s": time.perf_counter() - t0}
    bits_mean = float(np.mean(bits)) if bits else None
    return Result(
        schema=SCHEMA,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        tokbench={"version": __version__, "git_hash": git_hash()},
        model={
            "spec": cfg.model,
            "id": ctx.spec.id,
            "key": ctx.model_key,
            "info": ctx.adapter.info.to_dict(),
            "code": ctx.code,
        },
        suite={
            "name": suite.name,
            "version": suite.version,
            "options": suite.options,
            "code": ctx.suite_code[suite.name],
        },
        dataset={"name": dataset.name, "identity": dataset.identity, "limit": cfg.limit},
        resolution=resolution,
        canvas_size=size,
        protocol={**ctx.protocol.to_dict(), "image_read": read_record(ctx.protocol.read)},
        metrics=aggregate.get("metrics", {}),
        buckets=aggregate.get("buckets", {}),
        extra=aggregate.get("extra", {}),
        intervals=intervals,
        counts={
            "images": n_images,
            "images_used": n_images - len(skipped_images),
            "images_skipped": dict(img_skipped),
            "instances_used": sum(1 for r in records if "skip" not in r),
            "instances_skipped": dict(inst_skipped),
            "image_conversions": dict(sorted((reading or {}).get("conversions", Counter()).items())),
            "stored_as": dict(sorted((reading or {}).get("stored_as", Counter()).items())),
        },
        skipped=skipped_images,
        rate={
            "bits_per_image_mean": bits_mean,
            "bpp_mean": bits_mean / (size * size) if bits_mean is not None else None,
        },
        run={
            "device": cfg.device or default_device(),
            "precision": cfg.precision,
            "world_size": int(os.environ.get("WORLD_SIZE", "1")),
            "batch_size": cfg.batch_size,
            "seed": cfg.seed,
            "on_error": cfg.on_error,
            "tokenizer_calls": ctx.calls.calls,
            "shared_cache": cfg.shared_cache,
            "image_limits": IMAGE_READ_LIMITS,
            "benchmark": cfg.benchmark,
        },
        environment=_environment(),
        timings={**timings, "tokenizer_s": ctx.calls.seconds},
        cache={"recon": ctx.caches.recon.stats.to_dict(), "records": ctx.caches.records.stats.to_dict()},
        metric_specs=[s.to_dict() for s in suite.metric_specs()],
    )


def write(
    ctx: RunContext, result: Result, suite: Suite, records: list[dict[str, Any]], reload: Callable[[str], Item | None]
) -> Path:
    """Examples first, then the JSONL, the result file last; returns the result's path."""
    from tokbench.build import RunError

    path = result_path(Path(ctx.config.output_dir), ctx.spec.id, ctx.dataset.name, suite.name, result["resolution"])
    try:
        write_examples(path, suite, records, reload, sha256_bytes(instances_bytes(records)))
        write_result(path, result, records)
    except OSError as e:
        raise RunError(
            f"cannot write the result {path}: {e.strerror or e} (results already written "
            "are intact; the cache keeps all finished work, rerun to resume)"
        ) from e
    return path


def _reason_kind(reason: str) -> str:
    """Group skip reasons for counting: 'unreadable image: x.png: ...' -> 'unreadable image'."""
    return reason.split(":", 1)[0]


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


_CHECKOUT = Path(__file__).resolve().parent.parent


def git_hash(here: Path = _CHECKOUT) -> str | None:
    """The checkout's commit, ``-dirty`` when tracked code (not ``results/``) differs from it; None outside git."""
    if not (here / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
        # the code's state only: result files written into the checkout's results/ do not make it dirty
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except OSError:
        return None
    return (out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")) or None


_PACKAGES = (
    "torch",
    "torchvision",
    "numpy",
    "pillow",
    "scipy",
    "scikit-image",
    "torchmetrics",
    "torch-fidelity",
    "lpips",
    "easyocr",
    "dlib-bin",
    "powerlaw",
    "diffusers",
)


def _environment() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": {p: v for p in _PACKAGES if (v := _version(p))},
        "cpu_count": os.cpu_count(),
    }
