"""The video tokenizer contract, frame-count rules, and image tokenizers run frame by frame.

Clips cross the contract as float32 RGB tensors ``[B,T,3,H,W]`` in ``[0,1]`` (batch, time, channel,
height, width); an adapter converts to its model's own layout and range inside (diffusers' video VAEs
take ``[B,3,T,H,W]`` in ``[-1,1]``). A tokenizer declares the frame counts it accepts as
``offset + step * k`` (``FrameRule(4, 1)`` = 1 + 4k); the runner pads a clip up to the next accepted
count by repeating its last frame (as the families' reference scripts do), trims the decode back and
records both counts, so no frame is ever dropped silently.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from tokbench.errors import ConfigError
from tokbench.tokenizer import Encoded, Tokenizer

if TYPE_CHECKING:
    import torch

Mode = Literal["video", "per-frame"]


@dataclass(frozen=True)
class FrameRule:
    """Accepted frame counts ``offset + step * k`` (k >= 0, count >= 1)."""

    step: int = 1
    offset: int = 0

    def __post_init__(self) -> None:
        if self.step < 1 or self.offset < 0:
            raise ConfigError(f"frame rule needs step >= 1 and offset >= 0, got step={self.step} offset={self.offset}")

    def accepts(self, count: int) -> bool:
        return count >= max(1, self.offset) and (count - self.offset) % self.step == 0

    def padded(self, count: int) -> int:
        """The smallest accepted count >= ``count``."""
        if count < 1:
            raise ValueError(f"a clip needs at least one frame, got {count}")
        low = max(1, self.offset)
        if count <= low:
            return low if self.accepts(low) else low + (-(low - self.offset)) % self.step
        return count + (-(count - self.offset)) % self.step

    def describe(self) -> str:
        if self.step == 1 and self.offset <= 1:
            return "any"
        return f"{self.offset} + {self.step}k" if self.offset else f"{self.step}k"


@dataclass(frozen=True)
class VideoTokenizerInfo:
    """Static description of a video tokenizer, recorded in every video result."""

    name: str
    family: str
    kind: str  # "discrete" | "continuous" | "codec" | "identity"
    mode: Mode = "video"  # "per-frame": an image tokenizer applied to each frame on its own
    temporal_compression: int = 1
    spatial_compression: int | None = None
    size_multiple: int = 1  # canvas sides must be a multiple of this
    native_size: int | None = None  # a fixed square input side (per-frame image tokenizers), else None
    frames: FrameRule = FrameRule()
    window: int | None = None  # frames per call (temporal chunking as the family's reference); None: whole clip
    codebook_sizes: tuple[int, ...] = ()
    license: str = "unknown"
    weights_source: str = "none"
    weights_sha256: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    image_info: dict[str, Any] | None = None  # per-frame mode: the wrapped image tokenizer's info

    def __post_init__(self) -> None:
        if self.window is not None and self.window < 1:
            raise ConfigError(f"{self.name}: window must be >= 1 frame, got {self.window}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["frames"] = {"step": self.frames.step, "offset": self.frames.offset, "rule": self.frames.describe()}
        d["codebook_sizes"] = list(self.codebook_sizes)
        return d


class VideoTokenizer:
    """Base class of video adapters: ``encode`` clips ``[B,T,3,H,W]`` in [0,1], ``decode`` back."""

    info: VideoTokenizerInfo

    def load(self, device: str = "cpu", dtype: str = "fp32") -> None:
        """Move weights to ``device``. Default: nothing."""

    def encode(self, clips: torch.Tensor) -> Encoded:
        raise NotImplementedError

    def decode(self, encoded: Encoded) -> torch.Tensor:
        raise NotImplementedError


class FrameByFrame(VideoTokenizer):
    """An image :class:`~tokbench.tokenizer.Tokenizer` applied to every frame on its own (mode "per-frame").

    Bits of a clip are the sum of its frames' bits; codes keep one entry per frame (``[B,T,...]``)."""

    def __init__(self, image: Tokenizer) -> None:
        self.image = image
        i = image.info
        self.info = VideoTokenizerInfo(
            name=i.name,
            family=i.family,
            kind=i.kind,
            mode="per-frame",
            spatial_compression=i.downsample,
            size_multiple=i.size_multiple,
            native_size=i.native_size,
            codebook_sizes=i.codebook_sizes,
            license=i.license,
            weights_source=i.weights_source,
            weights_sha256=i.weights_sha256,
            options=dict(i.options),
            image_info=i.to_dict(),
        )

    def load(self, device: str = "cpu", dtype: str = "fp32") -> None:
        self.image.load(device=device, dtype=dtype)

    def encode(self, clips: torch.Tensor) -> Encoded:
        b, t = clips.shape[:2]
        inner = self.image.encode(clips.reshape(b * t, *clips.shape[2:]))
        bits = None if inner.bits is None else inner.bits.reshape(b, t).sum(1)
        codes = [c.reshape(b, t, *c.shape[1:]) for c in inner.code_levels()] or None
        return Encoded(codes=codes, bits=bits, meta={"inner": inner, "bt": (b, t)})

    def decode(self, encoded: Encoded) -> torch.Tensor:
        b, t = encoded.meta["bt"]
        out = self.image.decode(encoded.meta["inner"])
        return out.reshape(b, t, *out.shape[1:])


def pad_frames(clip: np.ndarray, count: int) -> np.ndarray:
    """``clip`` ``[T,...]`` extended to ``count`` frames by repeating its last frame."""
    t = clip.shape[0]
    if count < t:
        raise ValueError(f"cannot pad {t} frames down to {count}")
    if count == t:
        return clip
    return np.concatenate([clip, np.repeat(clip[-1:], count - t, axis=0)], axis=0)


def windows(count: int, window: int | None) -> list[tuple[int, int]]:
    """``[start, stop)`` frame ranges of consecutive windows covering ``count`` frames."""
    size = count if window is None else window
    return [(s, min(s + size, count)) for s in range(0, count, size)]


def canvas_multiple(info: VideoTokenizerInfo, protocol_multiple: int) -> int:
    """The side multiple a canvas needs: the protocol's and the tokenizer's, together."""
    return math.lcm(max(1, protocol_multiple), max(1, info.size_multiple))
