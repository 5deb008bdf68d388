"""The face backend interface: align once from the original, embed both images, compare.

``prepare(original, face)`` turns one ground-truth face (TokBench ``{kps, box, ratio}``) into an
alignment computed from the ORIGINAL image only; ``chip(image, alignment)`` applies it to any image of
the same size (the original and the reconstruction get the same geometry, the reconstruction is never
re-detected); ``embed(chips)`` returns one row per chip, batched. ``threshold`` is the backend's
same-identity L2 threshold on its embeddings (None when it has none).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class FaceBackend(Protocol):
    name: ClassVar[str]
    threshold: float | None

    def fingerprint(self) -> dict[str, Any]: ...

    def setup(self, device: str) -> None: ...

    def prepare(self, original: np.ndarray, face: dict[str, Any]) -> Any: ...

    def chip(self, image: np.ndarray, alignment: Any) -> np.ndarray: ...

    def embed(self, chips: list[np.ndarray]) -> np.ndarray: ...


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two embeddings (0 when either is all zeros)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


def l2(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)))


def parse_box(box: Any) -> tuple[float, float, float, float] | None:
    """``[x0, y0, x1, y1]`` as floats, or None if absent or unreadable."""
    try:
        values = [float(v) for v in box]
    except (TypeError, ValueError):
        return None
    if (
        len(values) != 4
        or not all(math.isfinite(v) for v in values)
        or values[2] <= values[0]
        or values[3] <= values[1]
    ):
        return None
    return values[0], values[1], values[2], values[3]


def face_ratio(box: Any, height: int, width: int) -> float | None:
    """Our face ratio: max(box width, box height) / max(H, W) (TokBench does not document its own)."""
    parsed = parse_box(box)
    if parsed is None:
        return None
    x0, y0, x1, y1 = parsed
    return max(x1 - x0, y1 - y0) / max(height, width)


def batched(fn: Any, chips: list[np.ndarray], batch_size: int) -> np.ndarray:
    """Run ``fn`` (list of chips -> [n, d] array) over ``chips`` in batches and stack."""
    if not chips:
        return np.zeros((0, 0), dtype=np.float32)
    size = max(1, int(batch_size))
    parts = [np.asarray(fn(chips[i : i + size]), dtype=np.float32) for i in range(0, len(chips), size)]
    return np.concatenate(parts, axis=0)
