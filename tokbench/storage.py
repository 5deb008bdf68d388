"""The reconstruction's storage step: TokBench's scripts save every restored reconstruction under the
source file's name with Pillow and the evaluation reads that file back, so a ``.jpg`` source is scored
after a JPEG round trip at Pillow's default quality (75, 4:2:0 chroma subsampling).

``store=reference`` (the default under ``tokbench-paper``) does the same in memory: the format is the one
Pillow picks for the source's extension (JPEG for ``.jpg``/``.jpeg``, PNG for ``.png``, ...), saved with
Pillow's defaults and decoded back with ``convert("RGB")``. ``store=lossless`` keeps the in-memory image.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from tokbench.errors import DataError


def stored_format(suffix: str) -> str:
    """The Pillow format a file named ``*suffix`` is saved as (what ``Image.save(path)`` chooses)."""
    Image.init()
    fmt = Image.registered_extensions().get(suffix.lower())
    if fmt is None:
        raise DataError(f"no Pillow format saves files ending in {suffix!r}; use --protocol NAME:store=lossless")
    return fmt


def stored_bytes(pixels: np.ndarray, fmt: str) -> bytes:
    """uint8 ``[H,W,3]`` saved as Pillow saves it to a file of format ``fmt``, default settings."""
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format=fmt)
    return buf.getvalue()


def store(pixels: np.ndarray, source: Path, mode: str) -> tuple[np.ndarray, str | None]:
    """``pixels`` after the ``mode`` storage step for the source file ``source``, and the format used
    (None for ``lossless``)."""
    if mode == "lossless":
        return pixels, None
    try:
        fmt = stored_format(source.suffix)
    except DataError as e:
        raise DataError(f"{source}: {e}") from None
    with Image.open(io.BytesIO(stored_bytes(pixels, fmt))) as img:
        return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8)), fmt
