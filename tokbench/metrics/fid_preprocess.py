"""Named preprocessings of the originals that tokenizer papers score rFID under.

- ``adm``: guided-diffusion's ``center_crop_arr`` (used by ADM, LlamaGen, GigaTok): while the short side is
  at least twice the target, halve both sides (floor) with PIL BOX; then one PIL BICUBIC resize so the short
  side is S (sizes rounded with Python's ``round``); then a centre crop with floor offsets.
- ``torchvision``: ``transforms.Resize(S)`` then ``transforms.CenterCrop(S)`` on a PIL image: short side to S,
  long side ``int(S * long / short)``, PIL BILINEAR (torchvision's default), crop offsets
  ``int(round((side - S) / 2))``.
- ``letterbox``: the ``tokbench-paper`` protocol's canvas (:func:`tokbench.protocol.letterbox`).

Each function maps uint8 ``[H,W,3]`` to uint8 ``[S,S,3]``; the geometry helpers give the resized size and the
crop offsets without touching pixels (the protocol uses them to restore a reconstruction).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

#: what each name does, recorded beside rFID
RECIPES = {
    "adm": "ADM center_crop_arr: BOX halving while short side >= 2S, BICUBIC short side to S (round), "
    "centre crop (floor offsets)",
    "torchvision": "torchvision Resize(S) [short side S, long int(S*long/short), PIL BILINEAR] + CenterCrop(S) "
    "[offsets int(round((side-S)/2))]",
    "letterbox": "tokbench-paper letterbox: long side to S (ceil, LANCZOS), centred on a black S x S canvas",
}


def adm_halvings(w: int, h: int, size: int) -> tuple[int, int]:
    """Size after ADM's BOX halving steps (each floors both sides)."""
    while min(w, h) >= 2 * size:
        w, h = w // 2, h // 2
    return w, h


def adm_geometry(w: int, h: int, size: int) -> tuple[int, int, int, int]:
    """(resized w, resized h, crop x, crop y) of the ADM crop of a ``w x h`` image."""
    w, h = adm_halvings(w, h, size)
    scale = size / min(w, h)
    rw, rh = round(w * scale), round(h * scale)
    return rw, rh, (rw - size) // 2, (rh - size) // 2


def adm_center_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The ADM centre crop of a uint8 ``[H,W,3]`` image to ``[size,size,3]``."""
    pil = Image.fromarray(image)
    halved = adm_halvings(pil.width, pil.height, size)
    while pil.size != halved:  # one BOX step per halving, as ADM does (not one BOX to the final size)
        pil = pil.resize((pil.width // 2, pil.height // 2), Image.Resampling.BOX)
    rw, rh, cx, cy = adm_geometry(image.shape[1], image.shape[0], size)
    arr = np.asarray(pil.resize((rw, rh), Image.Resampling.BICUBIC))
    return np.ascontiguousarray(arr[cy : cy + size, cx : cx + size])


def torchvision_geometry(w: int, h: int, size: int) -> tuple[int, int, int, int]:
    """(resized w, resized h, crop x, crop y) of ``Resize(size)`` + ``CenterCrop(size)``."""
    if w <= h:
        rw, rh = size, int(size * h / w)
    else:
        rw, rh = int(size * w / h), size
    return rw, rh, int(round((rw - size) / 2.0)), int(round((rh - size) / 2.0))


def torchvision_center_crop(image: np.ndarray, size: int) -> np.ndarray:
    """``Resize(size)`` + ``CenterCrop(size)`` of a uint8 ``[H,W,3]`` image, as torchvision does on PIL."""
    rw, rh, cx, cy = torchvision_geometry(image.shape[1], image.shape[0], size)
    arr = np.asarray(Image.fromarray(image).resize((rw, rh), Image.Resampling.BILINEAR))
    return np.ascontiguousarray(arr[cy : cy + size, cx : cx + size])


def _letterbox(image: np.ndarray, size: int) -> np.ndarray:
    from tokbench.protocol import letterbox

    return letterbox(image, size)[0]


PREPROCESS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "adm": adm_center_crop,
    "torchvision": torchvision_center_crop,
    "letterbox": _letterbox,
}
