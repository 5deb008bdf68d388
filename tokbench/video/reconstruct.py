"""A clip's canvas through a video tokenizer: windows, frame-count padding, checks, trimming.

The clip is cut into the tokenizer's temporal windows (its ``window``; the whole clip when None; an image
tokenizer run frame by frame takes ``--batch-size`` frames per call, its frames being independent); each
window is padded to the next accepted frame count by repeating its last frame, encoded and decoded alone,
checked (tensor, frame count, shape, finite, range), and trimmed back to its real frames into one
preallocated array: the tokenizer, and every float tensor, sees one window at a time. A discrete
tokenizer's codes are kept per window (a per-frame image tokenizer's trimmed to the real frames; a video
tokenizer's as emitted for the padded window, since those are the tokens it needs). This module is part
of every video reconstruction's identity (:data:`VIDEO_PATH`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from tokbench.protocol import to_uint8
from tokbench.reconstruct import CallStats, _autocast
from tokbench.validate import AdapterError, validate_decode
from tokbench.video.cache import ClipEntry
from tokbench.video.contract import VideoTokenizer, VideoTokenizerInfo, pad_frames, windows

# the modules that turn a decoded clip into a cached canvas reconstruction, whatever the adapter
VIDEO_PATH = (
    "tokbench.video.contract",
    "tokbench.video.protocol",
    "tokbench.video.io",
    "tokbench.video.reconstruct",
    "tokbench.validate",
    "tokbench.tokenizer",
)


def call_window(info: VideoTokenizerInfo, batch_size: int) -> int | None:
    """Frames per tokenizer call: the declared window; ``batch_size`` frames for a per-frame image
    tokenizer (its frames are independent, so this changes no number and bounds its activations)."""
    if info.window is None and info.mode == "per-frame":
        return max(1, batch_size)
    return info.window


def reconstruct_clip(
    adapter: VideoTokenizer,
    canvas: np.ndarray,
    clip_id: str,
    device: str,
    precision: str,
    stats: CallStats,
    window: int | None = None,
) -> ClipEntry:
    """uint8 canvas ``[T,H,W,3]`` -> its reconstruction, bits and codes (None if any window has none), padding.

    ``window``: frames per call when the tokenizer declares none (see :func:`call_window`)."""
    import torch

    info = adapter.info
    recon = np.empty_like(canvas)
    padded: list[int] = []
    bits: float | None = 0.0
    codes: list[list[np.ndarray]] | None = []
    for start, stop in windows(canvas.shape[0], info.window if info.window is not None else window):
        real = stop - start
        count = info.frames.padded(real)
        ids = [f"{clip_id} frames {start + 1}-{stop}"]
        x = torch.from_numpy(pad_frames(canvas[start:stop], count)).permute(0, 3, 1, 2).float().div(255.0)[None]
        try:
            x = x.to(device)
            t = time.perf_counter()
            with _autocast(device, precision), torch.no_grad():
                stats.calls += 1
                encoded = adapter.encode(x)
                out = adapter.decode(encoded)
            stats.seconds += time.perf_counter() - t
        except AdapterError:
            raise
        except Exception as e:
            raise AdapterError(info.name, f"raised {type(e).__name__}: {e}", ids) from e
        out = _checked(info.name, out, tuple(x.shape), ids)
        recon[start:stop] = to_uint8(out[0, :real])
        padded.append(count)
        if bits is not None:
            bits = None if encoded.bits is None else bits + float(encoded.bits.reshape(-1)[0])
        if codes is not None:
            levels = _window_codes(info, encoded, real, ids)
            codes = None if levels is None else [*codes, levels]
        del x, out, encoded  # this window's tensors go before the next window's are made
    return ClipEntry(recon, bits, padded, codes)


def _window_codes(info: VideoTokenizerInfo, encoded: Any, real: int, ids: list[str]) -> list[np.ndarray] | None:
    """One window's codes per level, batch axis dropped, as integers; a per-frame tokenizer's (``[T,...]``,
    one row per frame) trimmed to the ``real`` frames. None when the tokenizer gave none."""
    levels = encoded.code_levels()
    if not levels:
        return None
    out = []
    for level in levels:
        c = np.asarray(level.detach().to("cpu").numpy() if hasattr(level, "detach") else level)[0]
        if info.mode == "per-frame":
            c = c[:real]
        if not np.issubdtype(c.dtype, np.integer):
            if c.size and not np.all(np.mod(c, 1) == 0):
                raise AdapterError(info.name, f"codes must be integers, got {c.dtype} with fractions", ids)
            c = c.astype(np.int64)
        out.append(np.ascontiguousarray(c))
    return out


def _checked(name: str, out: Any, shape: tuple[int, ...], ids: list[str]) -> Any:
    import torch

    if isinstance(out, torch.Tensor) and out.ndim == 5 and out.shape[1] != shape[1]:
        raise AdapterError(
            name,
            f"decode returned {out.shape[1]} frames for {shape[1]} (a video tokenizer must not drop or add "
            "frames: declare the counts it accepts in info.frames, the runner pads to them)",
            ids,
        )
    if isinstance(out, torch.Tensor) and out.ndim == 5:
        b, t = out.shape[:2]
        flat = validate_decode(name, out.reshape(b * t, *out.shape[2:]), (b * t, *shape[2:]), ids)
        return flat.reshape(b, t, *flat.shape[1:])
    return validate_decode(name, out, shape, ids)  # fails, naming what came back
