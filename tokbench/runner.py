"""The batch runner: reconstruct each image once per (model, resolution), then score suites.

Flow per resolution: load a batch of images -> protocol canvas -> reconstruction cache, and
the tokenizer only on misses (validated, OOM-halved) -> restore -> per-suite record cache,
suites only on misses -> after the last batch, aggregate and write one result per suite.
Everything is keyed by content, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from tokbench.adapter import Tokenizer, TokenizerInfo
from tokbench.cache import (
    ReconCache,
    ReconEntry,
    RecordCache,
    UnsafeCache,
    check_cache_folder,
    content_key,
    sweep_stale_temp_files,
)
from tokbench.code_identity import code_identity, reconstruction_path_identity
from tokbench.data.dataset import Dataset, Sample, resolve_dataset
from tokbench.data.images import IMAGE_READ_LIMITS, IMAGE_READ_OPTIONS, BadImage, load_rgb
from tokbench.examples import write_examples
from tokbench.hashing import sha256_bytes
from tokbench.memory import release_freed_memory
from tokbench.protocol import Placement, Protocol
from tokbench.reconstruct import CallStats, reconstruct_batch
from tokbench.registry import SUITES, ModelSpec, build_model, parse_model_spec
from tokbench.results import SCHEMA, Result, instances_bytes, result_path, write_result
from tokbench.suite import Item, Skip, Suite
from tokbench.validate import AdapterError

PRECISIONS = ("fp32", "bf16", "fp16")
ON_ERROR = ("fail", "skip")


@dataclass
class RunConfig:
    model: str
    suites: list[str]
    dataset: str = "samples"
    images: str | None = None
    resolutions: list[int] = field(default_factory=lambda: [256])
    protocol: str = "tokbench-paper"
    device: str | None = None
    batch_size: int = 8
    precision: str = "fp32"
    workers: int = 2
    limit: int | None = None
    seed: int = 0
    output_dir: str = "results/runs"
    cache_dir: str | None = None
    data_root: str | None = None
    offline: bool = False
    on_error: str = "fail"
    shared_cache: bool = False  # accept a cache folder other users can write to (see check_cache_folder)
    allow_partial: bool = False  # run on a registered dataset with fewer/other files than its manifest (recorded)
    suite_options: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Prepared:
    sample: Sample
    original: np.ndarray
    canvas: np.ndarray
    placement: Placement
    key: str


class RunError(RuntimeError):
    """A run that cannot start or go on; the message says why."""


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class Distributed:
    """torch.distributed as started by torchrun (RANK / WORLD_SIZE in the environment)."""

    rank: int = 0
    world: int = 1

    @classmethod
    def from_env(cls) -> Distributed:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        import torch
        import torch.distributed as td

        if not td.is_initialized():
            td.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        return cls(td.get_rank(), td.get_world_size())

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as td

            td.barrier()

    def close(self) -> None:
        if self.world > 1:
            import torch.distributed as td

            td.destroy_process_group()


class Runner:
    def __init__(self, config: RunConfig, progress: Callable[[str, int, int], None] | None = None) -> None:
        self.config = config
        self.progress = progress or (lambda stage, done, total: None)
        if config.precision not in PRECISIONS:
            raise RunError(f"--precision must be one of {', '.join(PRECISIONS)}, got {config.precision!r}")
        if config.on_error not in ON_ERROR:
            raise RunError(f"--on-error must be one of {', '.join(ON_ERROR)}, got {config.on_error!r}")
        if config.batch_size < 1:
            raise RunError(f"--batch-size must be >= 1, got {config.batch_size}")
        if config.offline:
            # every hub client (datasets, adapters, backends) reads these; set once for the whole run
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TOKBENCH_OFFLINE"] = "1"
        self.protocol = Protocol(config.protocol)
        from tokbench.paths import cache_dir

        root = cache_dir(config.cache_dir)
        self.recon_cache = ReconCache(root)
        self.record_cache = RecordCache(root)
        self.calls = CallStats()
        self._code: dict[str, Any] = {}
        self._suite_keys: dict[str, str] = {}  # filled after setup: a suite's identity names its loaded models

    @property
    def tokenizer_calls(self) -> int:
        return self.calls.calls

    # -- setup -------------------------------------------------------------------------------
    def build(self) -> tuple[ModelSpec, Tokenizer, Dataset, list[Suite]]:
        spec = parse_model_spec(self.config.model)
        for name in self.config.suites:
            SUITES.entry(name)  # fail on a typo before any work
        adapter = build_model(spec)
        if not isinstance(getattr(adapter, "info", None), TokenizerInfo) or not all(
                callable(getattr(adapter, m, None)) for m in ("encode", "decode", "load")):
            raise RunError(f"model {spec.id!r} does not implement the Tokenizer contract: it needs an `info` "
                           "TokenizerInfo and encode/decode methods (subclass tokbench.adapter.Tokenizer)")
        dataset = resolve_dataset(self.config.dataset, self.config.images, self.config.data_root,
                                  self.config.offline, self.config.allow_partial)
        if self.config.limit is not None:
            dataset.samples = dataset.samples[: self.config.limit]
        suites = [self._build_suite(name, adapter) for name in self.config.suites]
        for suite in suites:
            suite.cache_root = self.recon_cache.root.parent
        return spec, adapter, dataset, suites

    def _build_suite(self, name: str, adapter: Tokenizer) -> Suite:
        options = dict(self.config.suite_options.get(name, {}))
        cls = SUITES.resolve(name)
        if getattr(cls, "needs_codes", False):
            options.setdefault("codebook_sizes", list(adapter.info.codebook_sizes))
            options.setdefault("token_layout", adapter.info.token_layout)
        return cls(**options)

    def code(self, adapter: Tokenizer) -> dict[str, Any]:
        """The adapter's code identity and tokbench's reconstruction path, hashed (see code_identity)."""
        if not self._code:
            self._code = {"adapter": code_identity(type(adapter)), "reconstruction": reconstruction_path_identity()}
        return self._code

    def model_key(self, spec: ModelSpec, adapter: Tokenizer) -> str:
        code = self.code(adapter)
        return content_key("model", spec.id, adapter.info.to_dict(), self.config.precision,
                           code["adapter"]["sha256"], code["reconstruction"]["sha256"])

    def suite_key(self, suite: Suite) -> str:
        """What a suite's records depend on besides the reconstruction: its identity and its code."""
        if suite.name not in self._suite_keys:
            self._suite_keys[suite.name] = content_key(suite.identity(), code_identity(type(suite))["sha256"])
        return self._suite_keys[suite.name]

    # -- main loop ---------------------------------------------------------------------------
    def run(self) -> list[Path]:
        if os.environ.get("RANK", "0") != "0":
            # torchrun: only rank 0 writes results, so only it takes the output lock (a lock held by a
            # rank waiting at a barrier would deadlock rank 0)
            return self._run()
        if not self.config.shared_cache:
            try:
                check_cache_folder(self.recon_cache.root.parent)
            except UnsafeCache as e:
                raise RunError(str(e)) from None
        with output_lock(Path(self.config.output_dir)):
            for folder in (Path(self.config.output_dir), self.recon_cache.root, self.record_cache.root):
                sweep_stale_temp_files(folder)
            return self._run()

    def _run(self) -> list[Path]:
        t0 = time.perf_counter()
        cfg = self.config
        random.seed(cfg.seed)
        np.random.seed(cfg.seed)
        import torch

        torch.manual_seed(cfg.seed)
        device = cfg.device or default_device()
        if device == "cuda" and "LOCAL_RANK" in os.environ:
            device = f"cuda:{os.environ['LOCAL_RANK']}"
        spec, adapter, dataset, suites = self.build()
        for resolution in cfg.resolutions:
            adapter.info.canvas_size(resolution)  # refuse an impossible resolution before any work
        # Backends (OCR, face, Inception) load before the tokenizer does any work, so a missing
        # backend fails in seconds, not after hours of reconstruction.
        for suite in suites:
            suite.setup(device)
        adapter.load(device=device, dtype=cfg.precision)
        mkey = self.model_key(spec, adapter)
        dist = Distributed.from_env()
        if dist.world > 1:
            # Each rank fills the shared content-keyed caches with its shard; then rank 0 walks the whole
            # dataset in order, hitting the cache for every image, so the merged result is exactly the
            # single-process one (same numbers, same records, same order).
            full = dataset.samples
            dataset.samples = full[dist.rank :: dist.world]
            for resolution in cfg.resolutions:
                self._run_resolution(resolution, spec, adapter, dataset, suites, mkey, device, t0, write=False)
            dataset.samples = full
            dist.barrier()
            written: list[Path] = []
            if dist.rank == 0:
                for resolution in cfg.resolutions:
                    written += self._run_resolution(resolution, spec, adapter, dataset, suites, mkey, device, t0)
            dist.barrier()
            dist.close()
            return written
        written = []
        for resolution in cfg.resolutions:
            written += self._run_resolution(resolution, spec, adapter, dataset, suites, mkey, device, t0)
        return written

    def _run_resolution(self, resolution: int, spec: ModelSpec, adapter: Tokenizer, dataset: Dataset,
                        suites: list[Suite], mkey: str, device: str, t0: float, write: bool = True) -> list[Path]:
        cfg = self.config
        size = adapter.info.canvas_size(resolution)
        records: dict[str, list[dict[str, Any]]] = {s.name: [] for s in suites}
        seen: dict[str, Sample] = {}
        skipped_images: list[dict[str, str]] = [{"image": w, "reason": r} for w, r in dataset.skipped]
        bits: list[float] = []
        t_recon = 0.0
        t_suite = dict.fromkeys(records, 0.0)
        total = len(dataset.samples)
        done = 0
        for batch in self._prepared_batches(dataset, size, mkey, skipped_images):
            t = time.perf_counter()
            entries = self._reconstruct(batch, adapter, size, device, skipped_images)
            t_recon += time.perf_counter() - t
            items: list[tuple[Item, str]] = []
            for prep in batch:
                seen[prep.sample.image_id] = prep.sample
                entry = entries.get(prep.key)
                if entry is None:
                    continue
                if entry.bits is not None:
                    bits.append(entry.bits)
                restored = self.protocol.restore(entry.canvas_recon, prep.placement, prep.original)
                items.append((Item(prep.sample.image_id, prep.original, restored, prep.canvas,
                                   entry.canvas_recon, resolution, prep.sample.annotations, entry.codes,
                                   entry.bits), prep.key))
            for suite in suites:
                t = time.perf_counter()
                self._score(suite, items, records[suite.name])
                t_suite[suite.name] += time.perf_counter() - t
            done += len(batch)
            del items, entries  # drop this batch's arrays first, so the trim can hand their pages back
            release_freed_memory()
            self.progress(f"{spec.id} @{resolution}", done, total)
        if not write:
            return []
        written = []
        for suite in suites:
            t = time.perf_counter()
            aggregate = suite.aggregate(records[suite.name], resolution)
            t_agg = time.perf_counter() - t
            result = self._result(spec, adapter, dataset, suite, resolution, size, aggregate,
                                  records[suite.name], skipped_images, bits,
                                  {"reconstruct_s": t_recon, "suite_s": t_suite[suite.name], "aggregate_s": t_agg,
                                   "total_s": time.perf_counter() - t0})
            path = result_path(Path(cfg.output_dir), spec.id, dataset.name, suite.name, resolution)
            try:
                # examples first, the result file last: it is the one that says a run finished
                write_examples(path, suite, records[suite.name],
                               lambda image_id: self._reload_item(seen.get(image_id), size, resolution, mkey),
                               sha256_bytes(instances_bytes(records[suite.name])))
                write_result(path, result, records[suite.name])
            except OSError as e:
                raise RunError(f"cannot write the result {path}: {e.strerror or e} (results already written "
                               "are intact; the cache keeps all finished work, rerun to resume)") from e
            written.append(path)
        return written

    def _recon_key(self, mkey: str, size: int, image_sha256: str) -> str:
        return content_key("recon", mkey, self.protocol.to_dict(), size, image_sha256)

    def _reload_item(self, sample: Sample | None, size: int, resolution: int, mkey: str) -> Item | None:
        """An image's item again, from disk and the reconstruction cache (no tokenizer call)."""
        if sample is None:
            return None
        try:
            img = load_rgb(sample.path)
        except BadImage:
            return None
        canvas, placement = self.protocol.prepare(img.pixels, size)
        entry = self.recon_cache.get(self._recon_key(mkey, size, img.sha256), size)
        if entry is None:
            return None
        restored = self.protocol.restore(entry.canvas_recon, placement, img.pixels)
        return Item(sample.image_id, img.pixels, restored, canvas, entry.canvas_recon, resolution,
                    sample.annotations, entry.codes, entry.bits)

    def _prepared_batches(self, dataset: Dataset, size: int, mkey: str,
                          skipped: list[dict[str, str]]) -> Iterator[list[Prepared]]:
        """Load and letterbox images on worker threads, a batch ahead of the model."""

        def prepare(sample: Sample) -> Prepared | str:
            try:
                img = load_rgb(sample.path)
            except BadImage as e:
                return str(e)
            canvas, placement = self.protocol.prepare(img.pixels, size)
            key = self._recon_key(mkey, size, img.sha256)
            return Prepared(sample, img.pixels, canvas, placement, key)

        bs = self.config.batch_size
        chunks = [dataset.samples[i : i + bs] for i in range(0, len(dataset.samples), bs)]
        with ThreadPoolExecutor(max(1, self.config.workers)) as pool:
            pending = [pool.map(prepare, c) for c in chunks[:2]]
            for i in range(len(chunks)):
                if i + 2 < len(chunks):
                    pending.append(pool.map(prepare, chunks[i + 2]))
                batch: list[Prepared] = []
                for sample, out in zip(chunks[i], pending[i], strict=True):
                    if isinstance(out, str):
                        skipped.append({"image": sample.image_id, "reason": f"unreadable image: {out}"})
                    else:
                        batch.append(out)
                pending[i] = None  # type: ignore[call-overload]
                yield batch

    def _reconstruct(self, batch: list[Prepared], adapter: Tokenizer, size: int, device: str,
                     skipped: list[dict[str, str]]) -> dict[str, ReconEntry]:
        entries: dict[str, ReconEntry] = {}
        todo: list[Prepared] = []
        for prep in batch:
            hit = self.recon_cache.get(prep.key, size)
            if hit is not None:
                entries[prep.key] = hit
            elif prep.key not in {p.key for p in todo}:
                todo.append(prep)
        if todo:
            try:
                entries_new = reconstruct_batch(adapter, [p.canvas for p in todo], [p.sample.image_id for p in todo],
                                                device, self.config.precision, self.calls)
                for prep, entry in zip(todo, entries_new, strict=True):
                    self._cache_write(self.recon_cache.put, prep.key, entry)
                    entries[prep.key] = entry
            except AdapterError as e:
                if self.config.on_error != "skip":
                    raise
                for prep in todo:
                    skipped.append({"image": prep.sample.image_id, "reason": f"adapter error: {e.check}"})
        return entries

    def _cache_write(self, put: Callable[[str, Any], Any], key: str, value: Any) -> Any:
        try:
            return put(key, value)
        except OSError as e:
            raise RunError(f"cannot write to the cache {self.recon_cache.root.parent}: {e.strerror or e} "
                           "(finished work is kept; free space or pass --cache-dir, then rerun to resume)") from e

    def _score(self, suite: Suite, items: list[tuple[Item, str]], sink: list[dict[str, Any]]) -> None:
        kind = suite.annotation_kind
        relevant = [(it, k) for it, k in items if kind is None or kind in it.annotations]
        suite_key = self.suite_key(suite)
        keys = [content_key("records", k, suite_key) for _, k in relevant]
        cached = [self.record_cache.get(k) for k in keys]
        missing = [i for i, c in enumerate(cached) if c is None]
        if suite.needs_codes and missing:
            # continuous models: one skip record per image, no suite call
            for i in [i for i in missing if relevant[i][0].codes is None]:
                cached[i] = [{"image_id": relevant[i][0].image_id, "skip": "needs discrete codes"}]
                missing.remove(i)
        if missing:
            try:
                fresh = suite.process([relevant[i][0] for i in missing])
            except Skip as e:
                fresh = [[{"image_id": relevant[i][0].image_id, "skip": str(e)}] for i in missing]
            if len(fresh) != len(missing):
                raise RunError(f"suite {suite.name!r} returned {len(fresh)} record lists for {len(missing)} images")
            for i, recs in zip(missing, fresh, strict=True):
                for r in recs:
                    r.setdefault("image_id", relevant[i][0].image_id)
                # what the cache returns, not the fresh objects: a resumed run then sees exactly the same records
                cached[i] = self._cache_write(self.record_cache.put, keys[i], recs)
        for recs in cached:
            sink.extend(recs or [])

    # -- result ------------------------------------------------------------------------------
    def _result(self, spec: ModelSpec, adapter: Tokenizer, dataset: Dataset, suite: Suite, resolution: int,
                size: int, aggregate: dict[str, Any], records: list[dict[str, Any]],
                skipped_images: list[dict[str, str]], bits: list[float], timings: dict[str, float]) -> Result:
        cfg = self.config
        inst_skipped = Counter(r["skip"] for r in records if "skip" in r)
        img_skipped = Counter(_reason_kind(s["reason"]) for s in skipped_images)
        n_images = len(dataset.samples) + len(dataset.skipped)
        used_images = n_images - len(skipped_images)
        bits_mean = float(np.mean(bits)) if bits else None
        return Result(
            schema=SCHEMA,
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            tokbench={"version": _version("tokbench"), "git_hash": _git_hash()},
            model={"spec": cfg.model, "id": spec.id, "key": self.model_key(spec, adapter),
                   "info": adapter.info.to_dict(), "code": self.code(adapter)},
            suite={"name": suite.name, "version": suite.version, "options": suite.options,
                   "code": code_identity(type(suite))},
            dataset={"name": dataset.name, "identity": dataset.identity, "limit": cfg.limit},
            resolution=resolution,
            canvas_size=size,
            protocol={**self.protocol.to_dict(), "image_read": IMAGE_READ_OPTIONS},
            metrics=aggregate.get("metrics", {}),
            buckets=aggregate.get("buckets", {}),
            extra=aggregate.get("extra", {}),
            counts={"images": n_images, "images_used": used_images, "images_skipped": dict(img_skipped),
                    "instances_used": sum(1 for r in records if "skip" not in r),
                    "instances_skipped": dict(inst_skipped)},
            skipped=skipped_images,
            rate={"bits_per_image_mean": bits_mean,
                  "bpp_mean": bits_mean / (size * size) if bits_mean is not None else None},
            run={"device": cfg.device or default_device(), "precision": cfg.precision,
                 "world_size": int(os.environ.get("WORLD_SIZE", "1")),
                 "batch_size": cfg.batch_size, "seed": cfg.seed, "on_error": cfg.on_error,
                 "tokenizer_calls": self.calls.calls, "shared_cache": cfg.shared_cache,
                 "image_limits": IMAGE_READ_LIMITS},
            environment=_environment(),
            timings={**timings, "tokenizer_s": self.calls.seconds},
            cache={"recon": self.recon_cache.stats.to_dict(), "records": self.record_cache.stats.to_dict()},
        )


@contextlib.contextmanager
def output_lock(out_dir: Path) -> Iterator[None]:
    """One writer per output folder at a time; a second run waits and says so."""
    import fcntl

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        handle = (out_dir / ".tokbench.lock").open("a+")
    except OSError as e:
        raise RunError(f"cannot write to the output folder {out_dir}: {e.strerror or e}") from e
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            print(f"tokbench: {out_dir} is in use by another tokbench run ({holder}); waiting for it to finish",
                  file=sys.stderr, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _reason_kind(reason: str) -> str:
    """Group skip reasons for counting: 'unreadable image: x.png: ...' -> 'unreadable image'."""
    return reason.split(":", 1)[0]


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


_CHECKOUT = Path(__file__).resolve().parent.parent


def _git_hash(here: Path = _CHECKOUT) -> str | None:
    if not (here / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=False)
        # the code's state only: result files written into the checkout's results/ do not make it dirty
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no", "--",
                                ".", ":(exclude)results"],
                               capture_output=True, text=True, timeout=5, check=False)
    except OSError:
        return None
    return (out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")) or None


_PACKAGES = ("torch", "torchvision", "numpy", "pillow", "scipy", "scikit-image", "torchmetrics", "torch-fidelity",
             "lpips", "easyocr", "dlib-bin", "powerlaw", "diffusers")


def _environment() -> dict[str, Any]:
    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "packages": {p: v for p in _PACKAGES if (v := _version(p))},
            "cpu_count": os.cpu_count()}


def run(config: RunConfig, progress: Callable[[str, int, int], None] | None = None) -> list[Path]:
    """Run a configuration; return the result files written."""
    return Runner(config, progress).run()
