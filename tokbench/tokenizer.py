"""The tokenizer contract: what every adapter implements and what the runner checks.

Images cross the contract as float32 RGB tensors ``[B,3,H,W]`` in ``[0,1]``; converting to a
model's own range ([-1,1] for most) happens inside the adapter (see :func:`to_model_range`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from tokbench.errors import ConfigError, ResourceUnavailable

if TYPE_CHECKING:
    import torch

Kind = Literal["discrete", "continuous", "codec", "identity"]
Layout = Literal["none", "2d", "1d", "multi_scale", "multi_codebook", "latent"]


@dataclass(frozen=True)
class TokenizerInfo:
    """Static description of a tokenizer, recorded in every result file."""

    name: str
    family: str
    kind: Kind
    native_size: int | None = None  # fixed input side, e.g. 256; None = any size
    size_multiple: int = 1  # input sides must be a multiple of this
    codebook_sizes: tuple[int, ...] = ()
    token_layout: Layout = "none"
    downsample: int | None = None  # spatial factor pixels -> tokens, if any
    params: int | None = None
    license: str = "unknown"
    weights_source: str = "none"
    weights_sha256: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def canvas_size(self, resolution: int) -> int:
        """Side of the square canvas this tokenizer needs when asked for ``resolution``.

        Sizes are rounded up to the size multiple; a fixed-size tokenizer only takes its own size
        (TokBench skips such models at other settings rather than resizing silently)."""
        if self.native_size is not None:
            if resolution != self.native_size:
                raise ConfigError(
                    f"model {self.name!r} only takes {self.native_size}x{self.native_size} inputs; "
                    f"resolution {resolution} is not possible (use --resolution {self.native_size})"
                )
            return self.native_size
        m = max(1, self.size_multiple)
        return int(math.ceil(resolution / m) * m)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["codebook_sizes"] = list(self.codebook_sizes)
        return d


@dataclass
class Encoded:
    """What ``encode`` returns and ``decode`` consumes.

    ``codes``: discrete ids, one ``LongTensor [B,...]`` or a list of them (multi-scale or
    multi-codebook tokenizers; one entry per level). ``latents``: continuous latents.
    ``bits``: float tensor ``[B]`` with the bits each image costs (codebook bits for
    tokenizers, real file bytes x 8 for codecs), or None when not meaningful.
    ``meta``: anything else ``decode`` needs.
    """

    codes: Any = None
    latents: Any = None
    bits: Any = None
    meta: dict[str, Any] = field(default_factory=dict)

    def code_levels(self) -> list[torch.Tensor]:
        """Codes as a list of per-level tensors (empty for continuous tokenizers)."""
        if self.codes is None:
            return []
        return list(self.codes) if isinstance(self.codes, (list, tuple)) else [self.codes]


class Tokenizer:
    """Base class of every adapter. Subclasses set ``info`` and implement encode/decode."""

    info: TokenizerInfo

    def load(self, device: str = "cpu", dtype: str = "fp32") -> None:
        """Move weights to ``device``; heavy loading may happen here. Default: nothing."""

    def encode(self, images: torch.Tensor) -> Encoded:
        raise NotImplementedError

    def decode(self, encoded: Encoded) -> torch.Tensor:
        raise NotImplementedError

    def reconstruct(self, images: torch.Tensor) -> tuple[torch.Tensor, Encoded]:
        encoded = self.encode(images)
        return self.decode(encoded), encoded


class WeightsUnavailable(ResourceUnavailable):
    """A model's weights or code are missing; the message names the file and how to get it."""


def nominal_bits(codebook_sizes: tuple[int, ...], tokens_per_level: list[int]) -> float:
    """Sum of log2(K) over every token position: the nominal bits of one image."""
    return float(sum(n * math.log2(k) for k, n in zip(codebook_sizes, tokens_per_level, strict=True)))


def to_model_range(images: torch.Tensor, model_range: str) -> torch.Tensor:
    """Map ``[0,1]`` images into a model's range (``"[0,1]"`` or ``"[-1,1]"``)."""
    if model_range == "[-1,1]":
        return images * 2.0 - 1.0
    if model_range == "[0,1]":
        return images
    raise ValueError(f"unknown model range {model_range!r}; expected '[0,1]' or '[-1,1]'")


def from_model_range(images: torch.Tensor, model_range: str) -> torch.Tensor:
    """Map a model's output back to ``[0,1]`` and clamp."""
    if model_range == "[-1,1]":
        images = (images + 1.0) / 2.0
    elif model_range != "[0,1]":
        raise ValueError(f"unknown model range {model_range!r}; expected '[0,1]' or '[-1,1]'")
    return images.clamp(0.0, 1.0)
