"""Reading images into uint8 RGB arrays, with every conversion recorded.

Three ways to read (:data:`READ_MODES`), each conversion named per image:

- ``oriented`` (tokbench's own): EXIF orientation applied; alpha composited on black; grayscale, palette
  and CMYK through Pillow's RGB conversion; 16-bit shifted to 8 bits (``>> 8``).
- ``pil`` (TokBench's text reading, ``Image.open(p).convert("RGB")``): EXIF orientation ignored (the
  ground-truth boxes index the stored pixel grid), alpha dropped, 16-bit clipped to 255 by Pillow.
- ``cv2`` (TokBench's face originals, ``cv2.imread``): EXIF orientation applied, alpha dropped, 16-bit
  shifted to 8 bits; emulated with Pillow (both decode JPEG with libjpeg-turbo's default IDCT).

Only regular files are read (a FIFO or device is refused without blocking: the file is opened
non-blocking and checked with ``fstat``), the pixel count is checked from the header before the
file is read in full, and at most ``MAX_FILE_BYTES`` are read.
"""

from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from tokbench.errors import DataError
from tokbench.hashing import sha256_bytes

# What one image through the pipeline can take within 2 GB of memory (recon,text measured at 1.70 GB for
# 25 megapixels, about 37 bytes a pixel more beyond): 32 Mi pixels, so 8K UHD (7680 x 4320) fits.
MAX_PIXELS = 1 << 25
# Far above any real image file; stops a huge or growing file from being read into memory.
MAX_FILE_BYTES = 1 << 30
# How pixels are read: part of the protocol (a change changes values).
IMAGE_READ_OPTIONS = {"exif_orientation": "applied", "alpha": "composite-on-black", "sixteen_bit": "shift-8"}
READ_MODES: dict[str, dict[str, str]] = {
    "oriented": IMAGE_READ_OPTIONS,
    "pil": {"exif_orientation": "ignored", "alpha": "dropped", "sixteen_bit": "clip-255"},
    "cv2": {"exif_orientation": "applied", "alpha": "dropped", "sixteen_bit": "shift-8"},
}
# Which files are read at all: recorded with the run, not the protocol (a limit skips an image, counted,
# but never changes the values of the images it admits, so results under other limits stay comparable).
IMAGE_READ_LIMITS = {"max_pixels": MAX_PIXELS, "max_file_bytes": MAX_FILE_BYTES}


def read_record(read: str) -> dict[str, Any]:
    """How a protocol's ``read`` option reads files, as results record it."""
    if read == "oriented":
        return IMAGE_READ_OPTIONS
    return {"text images": READ_MODES["pil"], "face-only images": READ_MODES["cv2"]}


class BadImage(DataError):
    """An image that cannot be used; the message names the file and the reason."""


@dataclass(frozen=True)
class LoadedImage:
    pixels: np.ndarray  # uint8 [H,W,3]
    sha256: str  # of the file's bytes
    conversions: tuple[str, ...]


def load_rgb(path: Path, mode: str = "oriented") -> LoadedImage:
    """Read ``path`` as uint8 RGB the ``mode`` way (:data:`READ_MODES`); raise :class:`BadImage` naming the
    file on any problem."""
    if mode not in READ_MODES:
        raise ValueError(f"read mode {mode!r} is not one of {', '.join(READ_MODES)}")
    data = read_image_bytes(path)
    Image.MAX_IMAGE_PIXELS = None  # our own header check below replaces Pillow's warning/bomb error
    try:
        with Image.open(io.BytesIO(data)) as img:
            _check_size(path, img)  # again: the bytes read may not be those whose header was checked
            img.load()
            pixels, conversions = _to_rgb(img) if mode == "oriented" else _as_reference(img, mode)
    except BadImage:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise BadImage(f"{path}: not a readable image ({type(e).__name__}: {e})") from None
    if pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise BadImage(f"{path}: image has no pixels")
    return LoadedImage(pixels, sha256_bytes(data), conversions)


def read_image_bytes(path: Path) -> bytes:
    """The bytes of a regular image file whose header passed the pixel limit; BadImage otherwise."""
    try:
        # non-blocking: opening a FIFO for reading would otherwise wait for a writer forever
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise BadImage(f"{path}: cannot read ({e.strerror or e})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise BadImage(f"{path}: not a regular file ({_file_kind(info.st_mode)})")
    with os.fdopen(fd, "rb") as f:
        if info.st_size == 0:
            raise BadImage(f"{path}: empty file (0 bytes)")
        if info.st_size > MAX_FILE_BYTES:
            raise BadImage(
                f"{path}: {info.st_size} bytes exceeds the limit of {MAX_FILE_BYTES} "
                "(tokbench.data.images.MAX_FILE_BYTES)"
            )
        Image.MAX_IMAGE_PIXELS = None
        try:
            with Image.open(f) as header:  # reads the header only: no pixel is decoded yet
                _check_size(path, header)
        except BadImage:
            raise
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
            raise BadImage(f"{path}: not a readable image ({type(e).__name__}: {e})") from None
        try:
            f.seek(0)
            data = f.read(MAX_FILE_BYTES + 1)  # one byte more tells a file that grew past the cap
        except OSError as e:
            raise BadImage(f"{path}: cannot read ({e.strerror or e})") from None
    if len(data) > MAX_FILE_BYTES:
        raise BadImage(f"{path}: more than {MAX_FILE_BYTES} bytes (tokbench.data.images.MAX_FILE_BYTES)")
    if not data:
        raise BadImage(f"{path}: empty file (0 bytes)")
    return data


def _check_size(path: Path, img: Image.Image) -> None:
    if img.width * img.height > MAX_PIXELS:
        raise BadImage(
            f"{path}: {img.width}x{img.height} pixels exceeds the limit of {MAX_PIXELS} "
            "(tokbench.data.images.MAX_PIXELS)"
        )


def _file_kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a plain file"


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


def _as_reference(img: Image.Image, mode: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """TokBench's reading: ``convert("RGB")`` (``pil``), or with EXIF applied and 16-bit shifted (``cv2``)."""
    conversions: list[str] = []
    if _has_orientation(img):
        if mode == "cv2":
            img = ImageOps.exif_transpose(img) or img
            conversions.append("exif-orientation")
        else:
            conversions.append("exif-orientation-ignored")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        if mode == "cv2":
            arr = np.asarray(img).astype(np.uint32) >> 8
            img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
            conversions.append("16-bit-to-8-bit")
        else:
            conversions.append("16-bit-clipped")
    if img.mode == "P":
        conversions.append("palette")
    elif img.mode in ("RGBA", "LA", "RGBa", "La", "PA"):
        conversions.append("alpha-dropped")
    elif img.mode != "RGB":
        conversions.append(f"{img.mode}-to-RGB")
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8)), tuple(conversions)


def _has_orientation(img: Image.Image) -> bool:
    try:
        return img.getexif().get(0x0112, 1) not in (1, None)
    except Exception:  # malformed EXIF must not make a readable image unreadable
        return False
