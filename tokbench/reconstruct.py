"""Room 2 of a run: images become cached canvas reconstructions.

Images are read and letterboxed on worker threads a batch ahead; each canvas is looked up in the
reconstruction cache and only misses reach the tokenizer (device copy, autocast, OOM halving, decode
checks). This module is part of every reconstruction's identity
(:data:`tokbench.fingerprint.RECONSTRUCTION_PATH`): a change here changes every reconstruction key.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tokbench.cache import ReconEntry, content_key
from tokbench.data.dataset import Sample
from tokbench.data.images import BadImage, load_rgb
from tokbench.protocol import Placement, to_uint8
from tokbench.storage import store
from tokbench.suite import Item
from tokbench.tokenizer import Tokenizer
from tokbench.validate import AdapterError, validate_decode

if TYPE_CHECKING:
    from tokbench.build import RunContext


@dataclass
class CallStats:
    """How often and how long the tokenizer ran (recorded in results)."""

    calls: int = 0
    seconds: float = 0.0


def reconstruct_batch(
    adapter: Tokenizer, canvases: list[np.ndarray], ids: list[str], device: str, precision: str, stats: CallStats
) -> list[ReconEntry]:
    """Encode and decode uint8 ``[S,S,3]`` canvases; on CUDA out-of-memory, halve the batch and retry."""
    import torch

    x = torch.from_numpy(np.stack(canvases)).permute(0, 3, 1, 2).float().div(255.0)
    try:
        if device.startswith("cuda"):
            x = x.pin_memory()  # page-locked, so the copy below overlaps with host work
        x = x.to(device, non_blocking=True)
        t = time.perf_counter()
        with _autocast(device, precision), torch.no_grad():
            stats.calls += 1
            encoded = adapter.encode(x)
            out = adapter.decode(encoded)
        stats.seconds += time.perf_counter() - t
    except torch.cuda.OutOfMemoryError:
        if len(canvases) == 1:
            raise AdapterError(adapter.info.name, "out of memory with batch size 1", ids) from None
        torch.cuda.empty_cache()
        half = len(canvases) // 2
        return reconstruct_batch(adapter, canvases[:half], ids[:half], device, precision, stats) + reconstruct_batch(
            adapter, canvases[half:], ids[half:], device, precision, stats
        )
    except AdapterError:
        raise
    except Exception as e:
        raise AdapterError(adapter.info.name, f"raised {type(e).__name__}: {e}", ids) from e
    out = validate_decode(adapter.info.name, out, tuple(x.shape), ids)
    recon = to_uint8(out)
    codes = [c.detach().to("cpu").numpy() for c in encoded.code_levels()]
    bits = encoded.bits.detach().to("cpu").double().numpy() if encoded.bits is not None else None
    entries = []
    for i in range(len(canvases)):
        per_image = [c[i] for c in codes] if codes else None
        entries.append(ReconEntry(recon[i], per_image, float(bits[i]) if bits is not None else None))
    return entries


def _autocast(device: str, precision: str) -> Any:
    import torch

    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.split(":")[0], dtype=dtype)


@dataclass
class Prepared:
    """An image read and letterboxed, with the key of its reconstruction."""

    sample: Sample
    original: np.ndarray
    canvas: np.ndarray
    placement: Placement
    key: str
    conversions: tuple[str, ...] = ()  # how the file became pixels (tokbench.data.images), counted in results
    stored: str | None = None  # the format the storage step saved the reconstruction as (set by item_of)


def read_mode(ctx: RunContext, sample: Sample) -> str:
    """How ``sample``'s file is read: TokBench reads text images with PIL (no EXIF) and face originals with
    cv2 (EXIF applied) under ``read=reference``; tokbench's own ``oriented`` reading otherwise."""
    if ctx.protocol.read != "reference":
        return "oriented"
    faces_only = "faces" in sample.annotations and "text" not in sample.annotations
    return "cv2" if faces_only else "pil"


def recon_key(ctx: RunContext, size: int, image_sha256: str) -> str:
    return content_key("recon", ctx.model_key, ctx.protocol.to_dict(), size, image_sha256)


def prepared_batches(ctx: RunContext, size: int, skipped: list[dict[str, str]]) -> Iterator[list[Prepared]]:
    """Read and letterbox images on worker threads, a batch ahead of the model; unreadable ones are skipped."""

    def prepare(sample: Sample) -> Prepared | str:
        try:
            img = load_rgb(sample.path, read_mode(ctx, sample))
        except BadImage as e:
            return str(e)
        canvas, placement = ctx.protocol.prepare(img.pixels, size)
        key = recon_key(ctx, size, img.sha256)
        return Prepared(sample, img.pixels, canvas, placement, key, img.conversions)

    bs = ctx.config.batch_size
    samples = ctx.dataset.samples
    chunks = [samples[i : i + bs] for i in range(0, len(samples), bs)]
    with ThreadPoolExecutor(max(1, ctx.config.workers)) as pool:
        pending: list[Iterator[Prepared | str] | None] = [pool.map(prepare, c) for c in chunks[:2]]
        for i in range(len(chunks)):
            if i + 2 < len(chunks):
                pending.append(pool.map(prepare, chunks[i + 2]))
            batch: list[Prepared] = []
            outs = pending[i]
            assert outs is not None
            for sample, out in zip(chunks[i], outs, strict=True):
                if isinstance(out, str):
                    skipped.append({"image": sample.image_id, "reason": f"unreadable image: {out}"})
                else:
                    batch.append(out)
            pending[i] = None  # the batch's arrays go with it
            yield batch


def reconstruct(
    ctx: RunContext, batch: list[Prepared], size: int, skipped: list[dict[str, str]]
) -> dict[str, ReconEntry]:
    """Each prepared image's reconstruction by key: from the cache, else from the tokenizer (then cached)."""
    cache = ctx.caches.recon
    entries: dict[str, ReconEntry] = {}
    todo: list[Prepared] = []
    for prep in batch:
        hit = cache.get(prep.key, size)
        if hit is not None:
            entries[prep.key] = hit
        elif prep.key not in {p.key for p in todo}:
            todo.append(prep)
    if todo:
        try:
            fresh = reconstruct_batch(
                ctx.adapter,
                [p.canvas for p in todo],
                [p.sample.image_id for p in todo],
                ctx.device,
                ctx.config.precision,
                ctx.calls,
            )
            for prep, entry in zip(todo, fresh, strict=True):
                ctx.caches.write(cache.put, prep.key, entry)
                entries[prep.key] = entry
        except AdapterError as e:
            if ctx.config.on_error != "skip":
                raise
            for prep in todo:
                skipped.append({"image": prep.sample.image_id, "reason": f"adapter error: {e.check}"})
    return entries


def item_of(ctx: RunContext, prep: Prepared, entry: ReconEntry, resolution: int) -> Item:
    """What suites see of one image: the reconstruction restored to the original's size, then stored as
    the protocol says (:mod:`tokbench.storage`)."""
    restored = ctx.protocol.restore(entry.canvas_recon, prep.placement, prep.original)
    restored, prep.stored = store(restored, prep.sample.path, ctx.protocol.store)
    return Item(
        prep.sample.image_id,
        prep.original,
        restored,
        prep.canvas,
        entry.canvas_recon,
        resolution,
        prep.sample.annotations,
        entry.codes,
        entry.bits,
    )


def reload_item(ctx: RunContext, sample: Sample | None, size: int, resolution: int) -> Item | None:
    """An image's item again, from disk and the reconstruction cache (no tokenizer call)."""
    if sample is None:
        return None
    try:
        img = load_rgb(sample.path, read_mode(ctx, sample))
    except BadImage:
        return None
    canvas, placement = ctx.protocol.prepare(img.pixels, size)
    entry = ctx.caches.recon.get(recon_key(ctx, size, img.sha256), size)
    if entry is None:
        return None
    return item_of(ctx, Prepared(sample, img.pixels, canvas, placement, ""), entry, resolution)
