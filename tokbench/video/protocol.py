"""``tokbench-video``: TokBench's video preprocessing, and its hidden storage step as a named option.

As ``tokenzier_vae_scripts/video_scripts/resize_rec.py`` @855802d: every frame is resized (Pillow
BILINEAR) so its short side is S, the long side to round(long * S / short); the canvas is padded black,
centred, up to the next multiple of 32 (and of the tokenizer's own size multiple; TokBench's 32 covers
its models). After decoding, the padding is cropped and the frame BILINEAR-resized back to the original
size. TokBench then writes the restored frames with imageio's default writer (libx264 CRF 23, yuv420p,
preset medium) and scores what it reads back: ``store="reference"`` (the default) does the same through
PyAV; ``store="lossless"`` scores the restored frames as they are. Differences: an odd-sized frame is
padded to even sides by repeating its last row / column and cropped after decoding (imageio scales it up
to a multiple of 16, which moves it off its annotation boxes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from tokbench.errors import ConfigError
from tokbench.registry import parse_options

VIDEO_PROTOCOLS = ("tokbench-video",)
STORES = ("reference", "lossless")
# x264's C path (asm=0): its SIMD path gave different bytes for the same frames within one process here
# (docs/video.md, "Determinism"); the C path is deterministic
X264_DETERMINISTIC = "asm=0"
REFERENCE_STORE = {
    "codec": "libx264",
    "crf": 23,
    "pix_fmt": "yuv420p",
    "preset": "medium",
    "container": "mp4",
    "x264_params": X264_DETERMINISTIC,
}


@dataclass(frozen=True)
class ClipPlacement:
    """Where the resized frames sit on the canvas, and the original size."""

    canvas_w: int
    canvas_h: int
    x: int
    y: int
    w: int
    h: int
    orig_w: int
    orig_h: int


@dataclass(frozen=True)
class VideoProtocol:
    name: str = "tokbench-video"
    multiple: int = 32
    store: str = "reference"
    resample: str = "bilinear"
    read: str = "pyav-rgb24"  # every frame of the first video stream, FFmpeg's RGB24 conversion

    def __post_init__(self) -> None:
        if self.name not in VIDEO_PROTOCOLS:
            raise ConfigError(f"unknown video protocol {self.name!r}; choose from {', '.join(VIDEO_PROTOCOLS)}")
        if self.store not in STORES:
            raise ConfigError(f"protocol {self.name}: store must be one of {', '.join(STORES)}, got {self.store!r}")
        if not isinstance(self.multiple, int) or self.multiple < 1:
            raise ConfigError(f"protocol {self.name}: multiple must be an integer >= 1, got {self.multiple!r}")

    @classmethod
    def parse(cls, spec: str) -> VideoProtocol:
        """``tokbench-video`` or ``tokbench-video:store=lossless,multiple=32``."""
        name, _, rest = spec.partition(":")
        options = parse_options(rest) if rest else {}
        unknown = set(options) - {"store", "multiple"}
        if unknown:
            raise ConfigError(
                f"--protocol {spec!r}: unknown option(s) {', '.join(sorted(unknown))}; known: store, multiple"
            )
        return cls(name=name, **options)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "resample": self.resample,
            "short_side": "resolution",
            "long_side": "round(long * S / short)",
            "pad": f"black, centred, to a multiple of lcm({self.multiple}, tokenizer size multiple)",
            "multiple": self.multiple,
            "store": self.store,
            "store_codec": REFERENCE_STORE if self.store == "reference" else None,
            "quantize": "round",
            "read": self.read,
        }

    def canvas_key(self) -> dict[str, Any]:
        """What shapes the canvas reconstruction (the store step comes after it and is not part of it)."""
        d = self.to_dict()
        for k in ("store", "store_codec"):
            d.pop(k)
        return d

    def geometry(self, orig_w: int, orig_h: int, short: int, multiple: int) -> ClipPlacement:
        if orig_w < 1 or orig_h < 1:
            raise ValueError(f"frame size {orig_w}x{orig_h} is empty")
        if orig_w <= orig_h:
            w, h = short, max(1, round(orig_h * short / orig_w))
        else:
            w, h = max(1, round(orig_w * short / orig_h)), short
        cw, ch = -(-w // multiple) * multiple, -(-h // multiple) * multiple
        return ClipPlacement(cw, ch, (cw - w) // 2, (ch - h) // 2, w, h, orig_w, orig_h)

    def prepare(self, frames: np.ndarray, short: int, multiple: int) -> tuple[np.ndarray, ClipPlacement]:
        """uint8 ``[T,H,W,3]`` -> uint8 canvas ``[T,Hc,Wc,3]`` and its placement."""
        t, orig_h, orig_w = frames.shape[:3]
        p = self.geometry(orig_w, orig_h, short, multiple)
        canvas = np.zeros((t, p.canvas_h, p.canvas_w, 3), dtype=np.uint8)
        for i in range(t):
            resized = Image.fromarray(frames[i]).resize((p.w, p.h), Image.Resampling.BILINEAR)
            canvas[i, p.y : p.y + p.h, p.x : p.x + p.w] = np.asarray(resized)
        return canvas, p

    def restore(self, canvas: np.ndarray, p: ClipPlacement) -> np.ndarray:
        """Reconstructed canvas ``[T,Hc,Wc,3]`` -> frames at the original size ``[T,H,W,3]``."""
        out = np.empty((canvas.shape[0], p.orig_h, p.orig_w, 3), dtype=np.uint8)
        for i in range(canvas.shape[0]):
            valid = canvas[i, p.y : p.y + p.h, p.x : p.x + p.w]
            out[i] = np.asarray(Image.fromarray(valid).resize((p.orig_w, p.orig_h), Image.Resampling.BILINEAR))
        return out

    def stored(self, frames: np.ndarray, fps: float) -> np.ndarray:
        """The frames as scoring sees them: through the reference's H.264 generation, or unchanged."""
        if self.store == "lossless":
            return frames
        from tokbench.video.io import decode_video_bytes, encode_video

        c = REFERENCE_STORE
        options = {"crf": str(c["crf"]), "preset": str(c["preset"]), "threads": "1"}
        options["x264-params"] = str(c["x264_params"])
        data, _ = encode_video(frames, str(c["codec"]), str(c["container"]), str(c["pix_fmt"]), options, fps)
        return decode_video_bytes(data, frames.shape[0], frames.shape[1:3])
