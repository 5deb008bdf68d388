"""The video runner: clips -> cached canvas reconstructions -> frame and clip suites -> result files.

Same rooms as the image runner, with clips: names become objects (a video model, or an image model run
frame by frame); each clip is decoded, put on the ``tokbench-video`` canvas, reconstructed once per
(model, protocol, canvas) and cached by content; the restored frames go through the protocol's storage
step; ``text`` / ``face`` score every annotated frame (instances pool over frame and box, TokBench's
video edges), clip suites score whole clips. Results are written by :mod:`tokbench.record`, the image
runner's writer, so they share one table. A killed run resumes from the caches. Under torchrun each rank
fills the shared caches with every world-th clip, then rank 0 walks all clips in order, hitting the
caches, and writes: the single-process result, record for record. One clip is in memory at a time.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from tokbench import record
from tokbench.build import Caches, RunContext, RunError, run_device
from tokbench.cache import UnsafeCache, check_cache_folder, content_key, sweep_stale_temp_files
from tokbench.config import RunConfig
from tokbench.errors import ConfigError
from tokbench.fingerprint import code_fingerprint
from tokbench.memory import release_freed_memory
from tokbench.reconstruct import CallStats
from tokbench.registry import parse_model_spec
from tokbench.runner import Distributed, Progress, offline_environment, output_lock
from tokbench.score import record_key, score
from tokbench.suite import Item, Suite
from tokbench.validate import AdapterError
from tokbench.video.cache import LAYOUT, ClipCache, ClipEntry
from tokbench.video.config import VideoRunConfig
from tokbench.video.contract import FrameByFrame, VideoTokenizer, canvas_multiple, windows
from tokbench.video.data import Clip, VideoDataset
from tokbench.video.io import BadVideo, read_video
from tokbench.video.protocol import REFERENCE_STORE, VideoProtocol
from tokbench.video.reconstruct import VIDEO_PATH, call_window, reconstruct_clip
from tokbench.video.registry import build_video_model, video_edges, video_suite_class
from tokbench.video.sets import per_clip, resolve_video_datasets
from tokbench.video.suite import ClipItem

DEFAULT_FPS = 16.0  # a stream without a frame rate is stored at this rate (recorded)


def run_video(config: RunConfig, progress: Progress | None = None) -> list[Path]:
    """Run a video configuration; return the result files written (the image runner's signature)."""
    from tokbench.paths import cache_dir

    if not isinstance(config, VideoRunConfig):
        raise ConfigError(f"--dataset {config.dataset!r} is not a video dataset")

    caches = Caches(cache_dir(config.cache_dir))
    with offline_environment(config.offline):
        if os.environ.get("RANK", "0") != "0":
            # torchrun: only rank 0 writes results and takes the output lock (as the image runner)
            return VideoRunner(config, caches, progress).run()
        if not config.shared_cache:
            try:
                check_cache_folder(caches.root)
            except UnsafeCache as e:
                raise RunError(str(e)) from None
        with output_lock(Path(config.output_dir)):
            for folder in (Path(config.output_dir), caches.root / "video-recon", caches.records.root):
                sweep_stale_temp_files(folder)
            return VideoRunner(config, caches, progress).run()


@dataclass
class SetPass:
    """One set's walk at one resolution: what its results (and a pooled result) are made of."""

    dataset: VideoDataset
    records: dict[str, list[dict[str, Any]]]  # suite name -> records, in clip order
    skipped: list[dict[str, str]]
    rate: list[dict[str, Any]] = field(default_factory=list)
    clips: list[dict[str, Any]] = field(default_factory=list)  # per-clip provenance
    stored_as: Counter[str] = field(default_factory=Counter)
    t_recon: float = 0.0
    t_suite: dict[str, float] = field(default_factory=dict)
    results: dict[str, Path] = field(default_factory=dict)  # suite name -> this set's result file


class VideoRunner:
    def __init__(self, config: VideoRunConfig, caches: Caches, progress: Progress | None = None) -> None:
        self.config = config
        self.caches = caches
        self.clips = ClipCache(caches.root)
        self.progress = progress or (lambda stage, done, total: None)
        self.calls = CallStats()

    def run(self) -> list[Path]:
        cfg = self.config
        random.seed(cfg.seed)
        np.random.seed(cfg.seed)
        import torch

        torch.manual_seed(cfg.seed)
        spec = parse_model_spec(cfg.model)
        for name in cfg.suites:
            video_suite_class(name)  # a typo fails before any work
        adapter = build_video_model(spec)
        protocol = cfg.video_protocol()
        if adapter.info.native_size is not None:
            raise RunError(
                f"model {adapter.info.name!r} only takes {adapter.info.native_size}x{adapter.info.native_size} "
                "inputs; tokbench-video canvases keep the clip's aspect ratio"
            )
        datasets, pooled_name = resolve_video_datasets(cfg.dataset, cfg.images, cfg.data_root)
        for dataset in datasets:
            if cfg.limit is not None:
                dataset.samples = dataset.samples[: cfg.limit]
        device = run_device(cfg)  # under torchrun, each rank its own GPU
        adapter.load(device=device, dtype=cfg.precision)
        code = {"adapter": code_fingerprint(type(adapter)), "reconstruction": _path_fingerprint()}
        if isinstance(adapter, FrameByFrame):
            code["image_adapter"] = code_fingerprint(type(adapter.image))
        model_key = content_key(
            "video-model", spec.id, adapter.info.to_dict(), cfg.precision, {k: v["sha256"] for k, v in code.items()}
        )
        dist = Distributed.from_env()
        written: list[Path] = []
        for resolution in cfg.resolutions:
            suites = [self._suite(name, resolution, adapter) for name in cfg.suites]
            ctx = RunContext(
                cfg, spec, cast(Any, adapter), cast(Any, datasets[0]), suites, cast(Any, protocol), self.caches,
                self.calls, device, code, model_key,
            )  # fmt: skip
            for suite in suites:
                suite.cache_root = self.caches.root
                suite.setup(device)
            ctx.suite_code = {s.name: code_fingerprint(type(s)) for s in suites}
            ctx.suite_keys = {s.name: content_key(s.fingerprint(), ctx.suite_code[s.name]["sha256"]) for s in suites}
            if dist.world > 1:
                # each rank reconstructs and scores its share into the shared caches; rank 0 then walks every
                # clip in order (cache hits) and writes, so the result is the single-process one
                for dataset in datasets:
                    self._walk(ctx, adapter, protocol, dataset, resolution, shard=(dist.rank, dist.world))
                dist.barrier()
            if dist.rank == 0:
                parts = [self._walk(ctx, adapter, protocol, dataset, resolution) for dataset in datasets]
                for part in parts:
                    ctx.dataset = cast(Any, part.dataset)
                    _begin(ctx, part.dataset)  # the result records the identity its set's records were made under
                    written += self._write(ctx, adapter, protocol, resolution, part)
                if pooled_name is not None:  # several sets: one pooled result per suite besides theirs
                    written += self._write_pooled(ctx, adapter, protocol, resolution, pooled_name, parts)
                ctx.dataset = cast(Any, datasets[0])
            if dist.world > 1:
                dist.barrier()
        dist.close()
        return written

    def _suite(self, name: str, resolution: int, adapter: VideoTokenizer) -> Suite:
        cls = video_suite_class(name)
        options = dict(
            self.config.suite_options.get(name) or self.config.suite_options.get(getattr(cls, "name", ""), {})
        )
        if getattr(cls, "name", "") in ("text", "face") and "edges" not in options:
            options["edges"] = "/".join(
                str(e) for e in video_edges("text" if cls.name == "text" else "face", resolution)
            )
        if getattr(cls, "needs_codes", False):
            from tokbench.suites.language import LanguageSuite
            from tokbench.suites.video_language import VideoLanguageSuite

            if cls is LanguageSuite:  # the image suite's arithmetic over each clip's token sentences
                cls = VideoLanguageSuite
            image = adapter.info.image_info or {}
            options.setdefault("codebook_sizes", list(adapter.info.codebook_sizes))
            options.setdefault("token_layout", image.get("token_layout", "video"))
        return cast(Suite, cls(**options))

    def _walk(
        self,
        ctx: RunContext,
        adapter: VideoTokenizer,
        protocol: VideoProtocol,
        dataset: VideoDataset,
        resolution: int,
        shard: tuple[int, int] | None = None,
    ) -> SetPass:
        """Every clip of ``dataset`` reconstructed and scored (``shard`` = (rank, world): every world-th, into
        the caches only)."""
        multiple = canvas_multiple(adapter.info, protocol.multiple)
        _begin(ctx, dataset)  # the whole set, before sharding
        samples = dataset.samples if shard is None else dataset.samples[shard[0] :: shard[1]]
        part = SetPass(
            dataset, {s.name: [] for s in ctx.suites}, [{"image": w, "reason": r} for w, r in dataset.skipped]
        )
        part.t_suite = dict.fromkeys(part.records, 0.0)
        for done, clip in enumerate(samples, 1):
            t = time.perf_counter()
            got = self._clip(ctx, adapter, protocol, clip, resolution, multiple, part.skipped)
            part.t_recon += time.perf_counter() - t
            if got is not None:
                frame_items, clip_item, entry, meta = got
                part.clips.append(meta)
                part.stored_as[meta["stored_as"]] += meta["frames"]
                if entry.bits is not None:
                    part.rate.append({"bits": entry.bits, "frames": meta["frames"], "pixels": meta["canvas_pixels"]})
                for suite in ctx.suites:
                    t = time.perf_counter()
                    score(
                        ctx,
                        suite,
                        [clip_item] if getattr(suite, "clip_level", False) else frame_items,
                        part.records[suite.name],
                    )
                    part.t_suite[suite.name] += time.perf_counter() - t
                del frame_items, clip_item, entry
            # this clip's arrays go (and their pages back to the OS) before the next clip is decoded
            del got
            release_freed_memory()
            stage = f"{ctx.spec.id} @{resolution}" + ("" if shard is None else f" (rank {shard[0]})")
            self.progress(stage, done, len(samples))
        return part

    def _write(
        self,
        ctx: RunContext,
        adapter: VideoTokenizer,
        protocol: VideoProtocol,
        resolution: int,
        part: SetPass,
        pooled: dict[str, Any] | None = None,
    ) -> list[Path]:
        """One result per suite of ``part`` (the set ``ctx.dataset``); ``pooled``: suite name -> ``extra.pooled``."""
        multiple = canvas_multiple(adapter.info, protocol.multiple)
        written = []
        for suite in ctx.suites:
            t = time.perf_counter()
            records = part.records[suite.name]
            aggregate = suite.aggregate(records, resolution)
            if suite.name in ("text", "face"):
                aggregate["extra"] = {
                    **aggregate.get("extra", {}),
                    "per_clip": per_clip(suite, records, resolution, by_set=pooled is not None),
                }
            timings = {
                "reconstruct_s": part.t_recon,
                "suite_s": part.t_suite[suite.name],
                "aggregate_s": time.perf_counter() - t,
                "total_s": time.perf_counter() - ctx.started,
            }
            bits = [r["bits"] for r in part.rate]
            result = record.make_result(
                ctx, suite, resolution, resolution, aggregate, records, part.skipped, bits, timings,
                {"stored_as": part.stored_as},
            )  # fmt: skip
            result["protocol"] = protocol.to_dict()  # the image writer's protocol block describes image reading
            result["rate"] = _video_rate(part.rate)
            result["cache"]["video_recon"] = self.clips.stats.to_dict()
            window = call_window(adapter.info, self.config.batch_size)
            result["extra"] = {
                **result.get("extra", {}),
                "video": _video_provenance(adapter, part.clips, multiple, window),
            }
            if pooled is not None:
                result["extra"]["pooled"] = pooled[suite.name]
            path = record.write(ctx, result, suite, records, lambda image_id: None)
            part.results[suite.name] = path
            written.append(path)
        return written

    def _write_pooled(
        self,
        ctx: RunContext,
        adapter: VideoTokenizer,
        protocol: VideoProtocol,
        resolution: int,
        name: str,
        parts: list[SetPass],
    ) -> list[Path]:
        """Each suite over the sets' concatenated records (:mod:`tokbench.pool`'s arithmetic), with the per-set
        metrics as ``extra.pooled``; the sets' results are written already."""
        from tokbench.pool import breakdown, pool_records, pooled_dataset
        from tokbench.results import read_result

        merged = SetPass(
            cast(Any, pooled_dataset(name, [cast(Any, p.dataset) for p in parts])),
            {s.name: pool_records([(p.dataset.name, p.records[s.name]) for p in parts]) for s in ctx.suites},
            [{**s, "image": f"{p.dataset.name}/{s['image']}"} for p in parts for s in p.skipped],
        )
        merged.rate = [r for p in parts for r in p.rate]
        merged.clips = [{"dataset": p.dataset.name, **c} for p in parts for c in p.clips]
        merged.stored_as = sum((p.stored_as for p in parts), Counter())
        merged.t_recon = sum(p.t_recon for p in parts)
        merged.t_suite = {s.name: sum(p.t_suite[s.name] for p in parts) for s in ctx.suites}
        per_set = {
            s.name: breakdown(
                [(p.dataset.name, dict(read_result(p.results[s.name])["metrics"]), p.results[s.name]) for p in parts]
            )
            for s in ctx.suites
        }
        ctx.dataset = cast(Any, merged.dataset)
        return self._write(ctx, adapter, protocol, resolution, merged, per_set)

    def _clip(
        self,
        ctx: RunContext,
        adapter: VideoTokenizer,
        protocol: VideoProtocol,
        clip: Clip,
        resolution: int,
        multiple: int,
        skipped: list[dict[str, str]],
    ) -> tuple[list[tuple[Item, str]], tuple[Item, str], ClipEntry, dict[str, Any]] | None:
        """The clip's frame items and clip item with their record keys, its entry and provenance; None if skipped."""
        try:
            video = read_video(clip.path)
        except BadVideo as e:
            skipped.append({"image": clip.clip_id, "reason": f"unreadable video: {e}"})
            return None
        frames = video.frames
        window = call_window(adapter.info, self.config.batch_size)
        canvas, placement = protocol.prepare(frames, resolution, multiple)
        # frames per call shape the windows (and their codes) the entry holds
        key = content_key(
            "video-recon", LAYOUT, ctx.model_key, protocol.canvas_key(), resolution, multiple, window, _clip_sha(frames)
        )
        entry = self.clips.get(key, canvas.shape)
        if entry is None:
            try:
                entry = reconstruct_clip(
                    adapter, canvas, clip.clip_id, ctx.device, self.config.precision, self.calls, window
                )
            except AdapterError as e:
                if self.config.on_error != "skip":
                    raise
                skipped.append({"image": clip.clip_id, "reason": f"adapter error: {e.check}"})
                return None
            ctx.caches.write(self.clips.put, key, entry)
        fps = video.fps if video.fps > 0 else DEFAULT_FPS
        # the frame rate shapes the storage step's encode, cvvdp and tokens per second
        scored_key = content_key(key, protocol.store, REFERENCE_STORE if protocol.store == "reference" else None, fps)
        annotated: list[tuple[int, dict[str, Any], str]] = []
        for t, anns in sorted(clip.frames.items()):
            if t >= frames.shape[0]:
                n = sum(len(v) for v in anns.values())
                skipped.append(
                    {
                        "image": f"{clip.clip_id}#frame{t + 1}",
                        "reason": f"annotated frame beyond the clip: frame {t + 1} of {frames.shape[0]}, {n} instances",
                    }
                )
                continue
            annotations = {**anns, "dataset": clip.dataset, "clip": clip.clip_id, "frame": t + 1}
            annotated.append((t, annotations, content_key(scored_key, "frame", t)))
        clip_annotations = {"dataset": clip.dataset}
        clip_key = content_key(scored_key, "clip")
        frame_ids = [(f"{clip.clip_id}#frame{t + 1}", a, k) for t, a, k in annotated]
        if _records_cached(ctx, frame_ids, (clip.clip_id, clip_annotations, clip_key)):
            # every suite's records are cached (a resumed run, rank 0 after the shards): the storage step
            # would feed nothing, so it is skipped; empty frames make any use of them fail loudly
            stored = np.zeros((frames.shape[0], 0, 0, 3), np.uint8)
        else:
            stored = protocol.stored(protocol.restore(entry.canvas_recon, placement), fps)
        frame_items: list[tuple[Item, str]] = []
        for t, annotations, frame_key in annotated:
            item = Item(
                f"{clip.clip_id}#frame{t + 1}", frames[t], stored[t], canvas[t], entry.canvas_recon[t], resolution,
                annotations,
            )  # fmt: skip
            frame_items.append((item, frame_key))
        clip_item = ClipItem(
            clip.clip_id, frames[0], stored[0], canvas[0], entry.canvas_recon[0], resolution, clip_annotations,
            frames=frames, frames_restored=stored, canvas_frames=canvas, canvas_frames_recon=entry.canvas_recon,
            fps=fps, mode=adapter.info.mode, code_windows=entry.codes,
            window_frames=[stop - start for start, stop in windows(frames.shape[0], window)],
            codes=None if entry.codes is None else [c for w in entry.codes for c in w],
        )  # fmt: skip
        meta = {
            "clip": clip.clip_id,
            "frames": int(frames.shape[0]),
            "padded_to": entry.padded,
            "size": [int(frames.shape[2]), int(frames.shape[1])],
            "canvas": [int(canvas.shape[2]), int(canvas.shape[1])],
            "canvas_pixels": int(canvas.shape[1] * canvas.shape[2]),
            "fps": fps,
            "fps_source": video.fps_source if video.fps > 0 else "default",
            "vfr": video.vfr,
            "frame_interval_s": video.frame_interval_s,
            "codec": video.codec,
            "coded_size": list(video.coded_size),
            "rotation": video.rotation,
            "orientation": video.orientation,
            "stored_as": "h264-crf23-yuv420p" if protocol.store == "reference" else "lossless",
        }
        return frame_items, (clip_item, clip_key), entry, meta


def _begin(ctx: RunContext, dataset: VideoDataset) -> None:
    """Suites whose records depend on the whole set (capped decoding) see its annotated frames as images
    named as the frame items are, text frames in the annotation files' order (TokBench's loader order), the
    rest after them; their record keys follow their identity, as in image runs."""
    from tokbench.data.dataset import Dataset, Sample

    first: dict[tuple[str, int], int] = {}
    for i, where in enumerate(dataset.text_order):
        first.setdefault(where, i)
    frames = sorted(
        ((c, t) for c in dataset.samples for t in c.frames),
        key=lambda ct: (first.get((ct[0].clip_id, ct[1]), len(first)), ct[0].clip_id, ct[1]),
    )
    samples = [Sample(f"{c.clip_id}#frame{t + 1}", c.path, c.frames[t], c.dataset) for c, t in frames]
    frame_set = Dataset(dataset.name, samples, dataset.identity)
    for suite in ctx.suites:
        suite.begin(frame_set)
        ctx.suite_keys[suite.name] = content_key(suite.fingerprint(), ctx.suite_code[suite.name]["sha256"])


def _clip_sha(frames: np.ndarray) -> str:
    """sha256 of the shape and the frames' bytes, fed frame by frame (no copy of the clip)."""
    h = hashlib.sha256(f"{frames.shape}|".encode())
    for frame in frames:
        h.update(np.ascontiguousarray(frame).data)
    return h.hexdigest()


def _records_cached(
    ctx: RunContext, frames: list[tuple[str, dict[str, Any], str]], clip: tuple[str, dict[str, Any], str]
) -> bool:
    """Whether every suite's records of these (id, annotations, key) items are in the record cache and
    readable, by :func:`tokbench.score.record_key`; read here without counting, as score will count them."""
    from tokbench.cache import decode_records

    cache = ctx.caches.records
    for suite in ctx.suites:
        kind = suite.annotation_kind
        for item_id, anns, key in [clip] if getattr(suite, "clip_level", False) else frames:
            if kind is not None and kind not in anns:
                continue
            where = cache._path(record_key(key, ctx.suite_keys[suite.name], item_id, anns))
            try:
                decode_records(where.read_bytes())
            except Exception:  # missing or damaged: score() recomputes it, so the frames are needed
                return False
    return True


def _path_fingerprint() -> dict[str, Any]:
    from tokbench.fingerprint import _combine, _module_file
    from tokbench.hashing import sha256_file_memo

    files = {name: sha256_file_memo(path) for name in VIDEO_PATH if (path := _module_file(name)) is not None}
    return {"files": files, "sha256": _combine(files, None)}


def _video_rate(rate: list[dict[str, Any]]) -> dict[str, float | None]:
    """Bits per clip, per frame and per canvas pixel per frame (bpp); None without bits."""
    if not rate:
        return {"bits_per_clip_mean": None, "bits_per_frame_mean": None, "bpp_mean": None}
    return {
        "bits_per_clip_mean": float(np.mean([r["bits"] for r in rate])),
        "bits_per_frame_mean": float(np.mean([r["bits"] / r["frames"] for r in rate])),
        "bpp_mean": float(np.mean([r["bits"] / (r["frames"] * r["pixels"]) for r in rate])),
    }


def _video_provenance(
    adapter: VideoTokenizer, clips: list[dict[str, Any]], multiple: int, window: int | None
) -> dict[str, Any]:
    info = adapter.info
    return {
        "mode": info.mode,
        "frame_rule": info.frames.describe(),
        "window": info.window,
        "frames_per_call": window,  # None: the whole clip in one call
        "canvas_multiple": multiple,
        "clips": len(clips),
        "frames": sum(c["frames"] for c in clips),
        "frames_padded": sum(sum(c["padded_to"]) - c["frames"] for c in clips),
        "per_clip": clips,
    }


__all__ = ["VideoRunConfig", "VideoRunner", "run_video"]
