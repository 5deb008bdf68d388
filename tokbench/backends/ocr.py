"""The OCR backend interface: batched recognition of RGB crops into strings.

A backend is built with its options, loads its model once in ``setup(device)``, then
``recognize(crops)`` returns one :class:`Reading` per crop, in order. ``charset`` is the set of
characters the model can emit (None when unknown); the text suite uses it to flag ground truths
the backend can never read exactly. ``fingerprint()`` names everything a reading depends on (it is part
of the record cache key) and must not load the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np


@dataclass
class Reading:
    text: str
    confidence: float | None = None


@runtime_checkable
class OcrBackend(Protocol):
    name: ClassVar[str]
    charset: str | None

    def fingerprint(self) -> dict[str, Any]: ...

    def setup(self, device: str) -> None: ...

    def recognize(self, crops: list[np.ndarray]) -> list[Reading]: ...


def rgb_to_gray(img: np.ndarray) -> np.ndarray:
    """uint8 RGB -> uint8 luma (ITU-R BT.601 weights, as OpenCV's RGB2GRAY)."""
    if img.ndim == 2:
        return img
    gray = img[..., 0] * 0.299 + img[..., 1] * 0.587 + img[..., 2] * 0.114
    return np.clip(np.floor(gray + 0.5), 0, 255).astype(np.uint8)


def is_cuda(device: str) -> bool:
    return str(device).startswith("cuda")


def chunks(n: int, size: int) -> list[range]:
    """Index ranges of at most ``size`` covering ``range(n)``."""
    size = max(1, int(size))
    return [range(i, min(n, i + size)) for i in range(0, n, size)]
