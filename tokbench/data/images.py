"""Reading images into uint8 RGB arrays, with every conversion recorded.

Conversions (TokBench reads with ``Image.open(p).convert("RGB")``; where we differ it is said):
EXIF orientation is applied; alpha is composited on black; grayscale, palette and CMYK go
through Pillow's RGB conversion; 16-bit images are scaled to 8 bits (``>> 8``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from tokbench.hashing import sha256_bytes

# A decompression-bomb guard that still admits very large scans; recorded in results.
MAX_PIXELS = 20_000 * 20_000
IMAGE_READ_OPTIONS = {"exif_orientation": "applied", "alpha": "composite-on-black", "sixteen_bit": "shift-8",
                      "max_pixels": MAX_PIXELS}


class BadImage(ValueError):
    """An image that cannot be used; the message names the file and the reason."""


@dataclass(frozen=True)
class LoadedImage:
    pixels: np.ndarray  # uint8 [H,W,3]
    sha256: str  # of the file's bytes
    conversions: tuple[str, ...]


def load_rgb(path: Path) -> LoadedImage:
    """Read ``path`` as uint8 RGB; raise :class:`BadImage` naming the file on any problem."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise BadImage(f"{path}: cannot read ({e.strerror or e})") from None
    if not data:
        raise BadImage(f"{path}: empty file (0 bytes)")
    Image.MAX_IMAGE_PIXELS = None  # our own header check below replaces Pillow's warning/bomb error
    try:
        import io

        with Image.open(io.BytesIO(data)) as img:
            # checked from the header, before any pixel is decoded: memory stays bounded
            if img.width * img.height > MAX_PIXELS:
                raise BadImage(f"{path}: {img.width}x{img.height} pixels exceeds the limit of {MAX_PIXELS} "
                               "(tokbench.data.images.MAX_PIXELS)")
            img.load()
            pixels, conversions = _to_rgb(img)
    except BadImage:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise BadImage(f"{path}: not a readable image ({type(e).__name__}: {e})") from None
    if pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise BadImage(f"{path}: image has no pixels")
    return LoadedImage(pixels, sha256_bytes(data), conversions)


def _to_rgb(img: Image.Image) -> tuple[np.ndarray, tuple[str, ...]]:
    conversions: list[str] = []
    oriented = ImageOps.exif_transpose(img)
    if oriented is not None and oriented.size != img.size or _has_orientation(img):
        conversions.append("exif-orientation")
    img = oriented if oriented is not None else img
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img).astype(np.uint32) >> 8
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
        conversions.append("16-bit-to-8-bit")
    if img.mode == "P":
        img = img.convert("RGBA")
        conversions.append("palette")
    if img.mode in ("RGBA", "LA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        img = Image.alpha_composite(black, rgba)
        conversions.append("alpha-on-black")
    if img.mode != "RGB":
        conversions.append(f"{img.mode}-to-RGB")
        img = img.convert("RGB")
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8)), tuple(conversions)


def _has_orientation(img: Image.Image) -> bool:
    try:
        return img.getexif().get(0x0112, 1) not in (1, None)
    except Exception:  # malformed EXIF must not make a readable image unreadable
        return False
