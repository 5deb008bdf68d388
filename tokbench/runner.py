"""The batch runner: one flow through four rooms, joined by a :class:`~tokbench.build.RunContext`.

build (names -> objects, :mod:`tokbench.build`) -> reconstruct (batches, cache, tokenizer calls,
:mod:`tokbench.reconstruct`) -> score (suites, record cache, :mod:`tokbench.score`) -> record
(provenance and result files, :mod:`tokbench.record`). Each image is reconstructed once per (model,
resolution); everything is keyed by content, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tokbench import record
from tokbench.build import Caches, RunContext, RunError, build, load
from tokbench.cache import UnsafeCache, check_cache_folder, content_key, sweep_stale_temp_files
from tokbench.config import RunConfig
from tokbench.data.dataset import Sample
from tokbench.memory import release_freed_memory
from tokbench.pool import SetPart, write_pooled
from tokbench.reconstruct import CallStats, item_of, prepared_batches, reconstruct, reload_item
from tokbench.score import score
from tokbench.suite import Item

Progress = Callable[[str, int, int], None]


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
    """Runs one :class:`RunConfig`; nothing happens (no files, no environment change) until :meth:`run`."""

    def __init__(self, config: RunConfig, progress: Progress | None = None) -> None:
        from tokbench.paths import cache_dir

        self.config = config
        self.progress = progress or (lambda stage, done, total: None)
        self.caches = Caches(cache_dir(config.cache_dir))
        self.calls = CallStats()
        self.ctx: RunContext | None = None
        self._parts: list[SetPart] = []  # each set's pass at the current resolution, for the pooled result

    @property
    def tokenizer_calls(self) -> int:
        return self.calls.calls

    @property
    def recon_cache(self) -> Any:
        return self.caches.recon

    @property
    def record_cache(self) -> Any:
        return self.caches.records

    def run(self) -> list[Path]:
        """Run the configuration; return the result files written (none on torchrun ranks other than 0)."""
        with offline_environment(self.config.offline):
            if os.environ.get("RANK", "0") != "0":
                # torchrun: only rank 0 writes results, so only it takes the output lock (a lock held by a
                # rank waiting at a barrier would deadlock rank 0)
                return self._run()
            if not self.config.shared_cache:
                try:
                    check_cache_folder(self.caches.root)
                except UnsafeCache as e:
                    raise RunError(str(e)) from None
            with output_lock(Path(self.config.output_dir)):
                for folder in (Path(self.config.output_dir), self.caches.recon.root, self.caches.records.root):
                    sweep_stale_temp_files(folder)
                return self._run()

    def _run(self) -> list[Path]:
        cfg = self.config
        random.seed(cfg.seed)
        np.random.seed(cfg.seed)
        import torch

        torch.manual_seed(cfg.seed)
        ctx = self.ctx = build(cfg, self.caches, self.calls)
        load(ctx)
        dist = Distributed.from_env()
        if dist.world > 1:
            # Each rank fills the shared content-keyed caches with its shard; then rank 0 walks the whole
            # dataset in order, hitting the cache for every image, so the merged result is exactly the
            # single-process one (same numbers, same records, same order).
            for resolution in cfg.resolutions:
                self._passes(ctx, resolution, write=False, shard=(dist.rank, dist.world))
            dist.barrier()
            written: list[Path] = []
            if dist.rank == 0:
                for resolution in cfg.resolutions:
                    written += self._passes(ctx, resolution)
            dist.barrier()
            dist.close()
            return written
        written = []
        for resolution in cfg.resolutions:
            written += self._passes(ctx, resolution)
        return written

    def _passes(
        self, ctx: RunContext, resolution: int, write: bool = True, shard: tuple[int, int] | None = None
    ) -> list[Path]:
        """The run's dataset with the suites that score it, then each suite that brings its own data
        (:meth:`~tokbench.suite.Suite.own_dataset`) on that data; ``shard`` = (rank, world) walks every
        world-th image only."""
        size = ctx.adapter.info.canvas_size(resolution)
        own = [(s, d) for s in ctx.suites if (d := s.own_dataset(size, ctx.adapter.info)) is not None]
        plain = [s for s in ctx.suites if all(s is not o for o, _ in own)]
        sets = ctx.datasets or [ctx.dataset]
        passes = ([(d, plain) for d in sets] if plain else []) + [(d, [s]) for s, d in own]
        dataset, suites = ctx.dataset, ctx.suites
        written: list[Path] = []
        self._parts = []
        try:
            for data, chosen in passes:
                ctx.dataset, ctx.suites, full = data, chosen, data.samples
                for suite in chosen:  # the whole set, before sharding; a suite's identity may depend on it
                    suite.begin(data)
                    ctx.suite_keys[suite.name] = content_key(suite.fingerprint(), ctx.suite_code[suite.name]["sha256"])
                if shard is not None:
                    data.samples = full[shard[0] :: shard[1]]
                try:
                    written += self._resolution(ctx, resolution, write)
                finally:
                    data.samples = full
            ctx.dataset, ctx.suites = dataset, plain
            if write and ctx.pooled_name and plain:  # several sets: one pooled result per suite besides theirs
                written += [write_pooled(ctx, s, resolution, size, self._parts) for s in plain]
        finally:
            ctx.dataset, ctx.suites = dataset, suites
            self._parts = []
        return written

    def _resolution(self, ctx: RunContext, resolution: int, write: bool = True) -> list[Path]:
        size = ctx.adapter.info.canvas_size(resolution)
        records: dict[str, list[dict[str, Any]]] = {s.name: [] for s in ctx.suites}
        seen: dict[str, Sample] = {}
        skipped_images: list[dict[str, str]] = [{"image": w, "reason": r} for w, r in ctx.dataset.skipped]
        bits: list[float] = []
        reading: dict[str, Counter[str]] = {"conversions": Counter(), "stored_as": Counter()}
        t_recon = 0.0
        t_suite = dict.fromkeys(records, 0.0)
        total, done = len(ctx.dataset.samples), 0
        for batch in prepared_batches(ctx, size, skipped_images):
            t = time.perf_counter()
            entries = reconstruct(ctx, batch, size, skipped_images)
            t_recon += time.perf_counter() - t
            items: list[tuple[Item, str]] = []
            for prep in batch:
                seen[prep.sample.image_id] = prep.sample
                entry = entries.get(prep.key)
                if entry is None:
                    continue
                if entry.bits is not None:
                    bits.append(entry.bits)
                items.append((item_of(ctx, prep, entry, resolution), prep.key))
                reading["conversions"].update(prep.conversions)
                if prep.stored is not None:
                    reading["stored_as"][prep.stored] += 1
            for suite in ctx.suites:
                t = time.perf_counter()
                score(ctx, suite, items, records[suite.name])
                t_suite[suite.name] += time.perf_counter() - t
            done += len(batch)
            del items, entries  # drop this batch's arrays first, so the trim can hand their pages back
            release_freed_memory()
            self.progress(f"{ctx.spec.id} @{resolution}", done, total)
        if not write:
            return []
        written = []
        for suite in ctx.suites:
            t = time.perf_counter()
            aggregate = suite.aggregate(records[suite.name], resolution)
            timings = {
                "reconstruct_s": t_recon,
                "suite_s": t_suite[suite.name],
                "aggregate_s": time.perf_counter() - t,
                "total_s": time.perf_counter() - ctx.started,
            }
            result = record.make_result(
                ctx, suite, resolution, size, aggregate, records[suite.name], skipped_images, bits, timings, reading
            )
            written.append(
                record.write(
                    ctx,
                    result,
                    suite,
                    records[suite.name],
                    lambda image_id: reload_item(ctx, seen.get(image_id), size, resolution),
                )
            )
        if ctx.pooled_name and any(ctx.dataset is d for d in ctx.datasets):
            part = SetPart(ctx.dataset, records, skipped_images, bits, reading, seen)
            part.results = {s.name: path for s, path in zip(ctx.suites, written, strict=True)}
            self._parts.append(part)
        return written


@contextlib.contextmanager
def offline_environment(offline: bool) -> Iterator[None]:
    """With ``offline``, the hub clients (datasets, adapters, backends) see HF_HUB_OFFLINE=1 for the
    run only; the process's environment is as it was afterwards."""
    names = ("HF_HUB_OFFLINE", "TOKBENCH_OFFLINE")
    before = {n: os.environ.get(n) for n in names}
    if offline:
        os.environ.update(dict.fromkeys(names, "1"))
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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
            print(
                f"tokbench: {out_dir} is in use by another tokbench run ({holder}); waiting for it to finish",
                file=sys.stderr,
                flush=True,
            )
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run(config: RunConfig, progress: Progress | None = None) -> list[Path]:
    """Run a configuration; return the result files written."""
    return Runner(config, progress).run()


__all__ = ["RunConfig", "RunError", "Runner", "run"]
