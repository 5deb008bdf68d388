"""Named preprocessing protocols: how an image becomes an S x S canvas and comes back.

``tokbench-paper`` reproduces TokBench's ``smart_padding`` / ``restore_original``: scale the
long side to S keeping the aspect ratio (ceil rounding, LANCZOS), paste centred on a black
S x S canvas; after decoding, crop the valid region and LANCZOS it back to the original size.
``center-crop`` is VTBench's: scale so the short side covers S, centre-crop S x S; restore
maps the crop back into the original frame and keeps the original outside it (recorded).
``adm-crop`` (ADM / LlamaGen / GigaTok rFID) and ``torchvision-crop`` (``Resize(S)`` + ``CenterCrop(S)``)
make the canvas with the fixed recipes of :mod:`tokbench.metrics.fid_preprocess` (``resample`` is used only to
restore) and restore like ``center-crop``.

Options use the model syntax (``tokbench-paper:store=lossless,read=oriented``) and are part of the identity:
``store`` (:mod:`tokbench.storage`) and ``read`` (:mod:`tokbench.data.images`) default to TokBench's behaviour
under ``tokbench-paper`` (``reference``) and to tokbench's own elsewhere (``lossless``, ``oriented``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from PIL import Image

from tokbench.errors import ConfigError

PROTOCOLS = ("tokbench-paper", "center-crop", "adm-crop", "torchvision-crop")
# protocol name -> preprocessing name in tokbench.metrics.fid_preprocess (fixed recipes)
FIXED_CROPS = {"adm-crop": "adm", "torchvision-crop": "torchvision"}


@dataclass(frozen=True)
class Placement:
    """Where the resized image sits on the canvas (x, y, w, h) and the original size."""

    canvas: int
    x: int
    y: int
    w: int
    h: int
    orig_w: int
    orig_h: int
    # center-crop only: the region of the resized image that was kept
    crop_x: int = 0
    crop_y: int = 0


# store: what happens to the restored reconstruction before it is scored. "reference" saves it as TokBench's
# scripts do (Pillow, the source file's format by its extension, Pillow's default quality: JPEG q75 4:2:0 for
# .jpg) and reads it back; "lossless" scores the in-memory image. read: how image files become pixels, see
# tokbench.data.images.READ_MODES. Both default to TokBench's behaviour under tokbench-paper only.
STORES = ("reference", "lossless")
READS = ("reference", "oriented")
OPTIONS = ("store", "read", "resample")


@dataclass(frozen=True)
class Protocol:
    """A recorded preprocessing recipe; ``store`` and ``read`` left empty take the protocol's defaults."""

    name: str = "tokbench-paper"
    resample: str = "lanczos"
    quantize: str = "round"  # float [0,1] -> uint8: x*255, round half to even, clamp (as TokBench)
    store: str = ""
    read: str = ""

    def __post_init__(self) -> None:
        if self.name not in PROTOCOLS:
            raise ConfigError(f"unknown protocol {self.name!r}; choose from {', '.join(PROTOCOLS)}")
        if self.resample not in _RESAMPLE:
            raise ConfigError(f"unknown resample {self.resample!r}; choose from {', '.join(_RESAMPLE)}")
        paper = self.name == "tokbench-paper"
        object.__setattr__(self, "store", self.store or ("reference" if paper else "lossless"))
        object.__setattr__(self, "read", self.read or ("reference" if paper else "oriented"))
        for option, allowed in (("store", STORES), ("read", READS)):
            if getattr(self, option) not in allowed:
                raise ConfigError(
                    f"protocol {self.name}: {option} must be one of {', '.join(allowed)}, got {getattr(self, option)!r}"
                )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["canvas_fill"] = "black"
        d["rounding"] = "ceil" if self.name == "tokbench-paper" else "round"
        if self.name in FIXED_CROPS:
            from tokbench.metrics.fid_preprocess import RECIPES

            d["rounding"] = "as the recipe"
            d["recipe"] = RECIPES[FIXED_CROPS[self.name]]
        return d

    def prepare(self, image: np.ndarray, size: int) -> tuple[np.ndarray, Placement]:
        """uint8 ``[H,W,3]`` -> uint8 ``[size,size,3]`` canvas and its placement."""
        if self.name == "tokbench-paper":
            return letterbox(image, size, self.resample)
        if self.name in FIXED_CROPS:
            return fixed_crop(FIXED_CROPS[self.name], image, size)
        return center_crop(image, size, self.resample)

    def restore(self, canvas: np.ndarray, placement: Placement, original: np.ndarray) -> np.ndarray:
        """Bring a reconstructed canvas back to the original image's size."""
        if self.name == "tokbench-paper":
            return unletterbox(canvas, placement, self.resample)
        return uncrop(canvas, placement, original, self.resample)


_RESAMPLE = {
    "lanczos": Image.Resampling.LANCZOS,
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
}


def parse_protocol(spec: str) -> Protocol:
    """``"tokbench-paper:store=lossless,read=oriented"`` -> a :class:`Protocol` (the model option syntax)."""
    from tokbench.registry import parse_options

    name, _, rest = spec.partition(":")
    options = parse_options(rest) if rest else {}
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ConfigError(f"--protocol {spec!r}: unknown option(s) {', '.join(unknown)}; known: {', '.join(OPTIONS)}")
    return Protocol(name.strip(), **{k: str(v) for k, v in options.items()})


def letterbox_geometry(orig_w: int, orig_h: int, size: int) -> Placement:
    """TokBench's geometry: ceil-rounded aspect-kept size, centred with floor offsets."""
    ratio = min(size / orig_w, size / orig_h)
    # min(...) is a guard only: ceil(W * (S / W)) never exceeds S for S in 256/512/1024 and every side up to
    # 20,000 px (tests/test_pooling_storage.py checks it), so TokBench's unguarded code gives the same sizes.
    w = min(size, math.ceil(orig_w * ratio))
    h = min(size, math.ceil(orig_h * ratio))
    return Placement(size, (size - w) // 2, (size - h) // 2, w, h, orig_w, orig_h)


def letterbox(image: np.ndarray, size: int, resample: str = "lanczos") -> tuple[np.ndarray, Placement]:
    orig_h, orig_w = image.shape[:2]
    p = letterbox_geometry(orig_w, orig_h, size)
    resized = Image.fromarray(image).resize((p.w, p.h), _RESAMPLE[resample])
    canvas = np.zeros((size, size, 3), dtype=np.uint8)
    canvas[p.y : p.y + p.h, p.x : p.x + p.w] = np.asarray(resized)
    return canvas, p


def unletterbox(canvas: np.ndarray, p: Placement, resample: str = "lanczos") -> np.ndarray:
    valid = canvas[p.y : p.y + p.h, p.x : p.x + p.w]
    return np.asarray(Image.fromarray(valid).resize((p.orig_w, p.orig_h), _RESAMPLE[resample]))


def center_crop(image: np.ndarray, size: int, resample: str = "lanczos") -> tuple[np.ndarray, Placement]:
    orig_h, orig_w = image.shape[:2]
    ratio = max(size / orig_w, size / orig_h)
    w, h = max(size, round(orig_w * ratio)), max(size, round(orig_h * ratio))
    resized = np.asarray(Image.fromarray(image).resize((w, h), _RESAMPLE[resample]))
    cx, cy = (w - size) // 2, (h - size) // 2
    p = Placement(size, 0, 0, w, h, orig_w, orig_h, cx, cy)
    return np.ascontiguousarray(resized[cy : cy + size, cx : cx + size]), p


def fixed_crop(recipe: str, image: np.ndarray, size: int) -> tuple[np.ndarray, Placement]:
    """The canvas of a fixed crop recipe (``adm`` or ``torchvision``) and its placement."""
    from tokbench.metrics import fid_preprocess as fp

    orig_h, orig_w = image.shape[:2]
    geometry = fp.adm_geometry if recipe == "adm" else fp.torchvision_geometry
    w, h, cx, cy = geometry(orig_w, orig_h, size)
    return fp.PREPROCESS[recipe](image, size), Placement(size, 0, 0, w, h, orig_w, orig_h, cx, cy)


def uncrop(canvas: np.ndarray, p: Placement, original: np.ndarray, resample: str = "lanczos") -> np.ndarray:
    """Paste the reconstructed crop back at original scale; pixels outside it stay original."""
    sx, sy = p.orig_w / p.w, p.orig_h / p.h
    x0, y0 = round(p.crop_x * sx), round(p.crop_y * sy)
    x1, y1 = round((p.crop_x + p.canvas) * sx), round((p.crop_y + p.canvas) * sy)
    # tiny originals can round the crop to zero width: keep at least one pixel inside the image
    x0, y0 = min(x0, p.orig_w - 1), min(y0, p.orig_h - 1)
    x1, y1 = min(max(x1, x0 + 1), p.orig_w), min(max(y1, y0 + 1), p.orig_h)
    out = original.copy()
    patch = Image.fromarray(canvas).resize((x1 - x0, y1 - y0), _RESAMPLE[resample])
    out[y0:y1, x0:x1] = np.asarray(patch)
    return out


def to_uint8(images: Any) -> np.ndarray:
    """Float ``[B,3,H,W]`` in [0,1] (torch) -> uint8 ``[B,H,W,3]``, as TokBench: x*255, round, clamp."""
    arr = images.detach().float().mul(255.0).round().clamp(0, 255).to("cpu").numpy().astype(np.uint8)
    return np.ascontiguousarray(arr.transpose(0, 2, 3, 1))
