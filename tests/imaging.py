"""Small synthetic images for tests."""

from __future__ import annotations

import numpy as np


def photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth-plus-texture RGB image with real structure (so codecs and SSIM behave)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack([np.sin(xx / (7 + c * 3) + c) * np.cos(yy / (11 + c)) for c in range(3)], -1)
    img = 127.5 + 80 * base + rng.normal(0, 12, (h, w, 3))
    img[h // 4 : h // 2, w // 5 : w // 2] = [240, 240, 240]
    return np.clip(img, 0, 255).astype(np.uint8)
