"""Regenerate the embedded ``samples`` text dataset bit for bit from a fixed seed (a maintainer's tool).

    python scripts/make_samples.py [--out DIR] [--only NAME ...]

Writes ``images/*.png``, ``text_samples.json`` (TokBench's text annotation format) and
``samples_meta.json`` (seed, font, sources, environment) into DIR, by default ``tokbench/samples/``
of this checkout.

Inputs are only scikit-image's bundled, licence-clean photos (``skimage.data``; checked to load
offline) and Pillow's built-in scalable font. The font is Pillow's own ``ImageFont.load_default``
(Aileron Regular subset, CC0), which ships inside the Pillow wheel: a fresh ``pip install`` gives the
same font bytes, while DejaVu would need a Debian package. The subset has ASCII glyphs only, so the
three non-ASCII words (``café``, ``señor``, ``Zürich``) get their diacritics composed from the same
font's ASCII glyphs (a mirrored grave accent, a tilde, two full stops) placed over the base letter.

Determinism: the only randomness is ``random.Random(SEED).random()``, whose sequence Python
guarantees across versions; resampling, rotation and compositing are element-wise float64 numpy
code; text goes through FreeType with Pillow's BASIC layout (no raqm). Pixels therefore depend on
the Pillow/FreeType versions and PNG bytes also on the zlib Pillow uses; all three are recorded in
``samples_meta.json`` (``environment``), and the shipped files were made with those versions.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from tokbench.metrics.buckets import BELOW, BUCKETS, TEXT_EDGES, bucket_of

GENERATOR_VERSION = "1"
SEED = 20240611
SAMPLES_DIR = Path(__file__).resolve().parent.parent / "tokbench" / "samples"
ANNOTATION_FILE = "text_samples.json"
META_FILE = "samples_meta.json"
IMAGE_DIR = "images"

# Ratio intervals (per-character box width / image long side) the dataset must populate. The
# harness's buckets per resolution (tokbench.metrics.buckets.TEXT_EDGES) are unions of these: 256
# small=C medium=D large=E; 512 small=B medium=C large=D+E; 1024 small=A medium=B large=C+D+E; T is
# "below the smallest bucket".
INTERVALS: dict[str, tuple[float, float]] = {
    "T": (0.0038, 0.005),
    "A": (0.005, 0.01),
    "B": (0.01, 0.02),
    "C": (0.02, 0.03),
    "D": (0.03, 0.04),
    "E": (0.04, 0.085),
}

# skimage.data photos used, with the licence their docstrings state (all ship inside scikit-image).
SOURCES: dict[str, str] = {
    "astronaut": "public domain (NASA, Eileen Collins)",
    "coffee": "CC0 (Rachel Michetti)",
    "chelsea": "CC0 (Stefan van der Walt)",
    "rocket": "public domain (SpaceX)",
    "camera": "CC0 (Lav Varshney)",
    "clock": "public domain (Stefan van der Walt)",
    "brick": "CC0 (CC0Textures)",
}
FONT_NAME = "Aileron Regular (Pillow built-in subset, ImageFont.load_default)"
FONT_LICENCE = "CC0 1.0 (Aileron by Sora Sagano, dotcolon.net)"

WORDS: tuple[str, ...] = (
    "Coffee",
    "Station",
    "Garden",
    "Market",
    "Welcome",
    "Street",
    "Library",
    "Museum",
    "Bakery",
    "Hotel",
    "Parking",
    "Ticket",
    "River",
    "Harbor",
    "Mountain",
    "Window",
    "Orange",
    "Yellow",
    "Planet",
    "Rocket",
    "Launch",
    "Kitchen",
    "Science",
    "Journal",
    "Chapter",
    "Summer",
    "Winter",
    "Monday",
    "Friday",
    "Delivery",
    "Service",
    "Private",
    "Pharmacy",
    "Theatre",
    "Gallery",
    "Airport",
    "Terminal",
    "Bicycle",
    "Sandwich",
    "Breakfast",
    "Dinner",
    "Menu",
    "Price",
    "Total",
    "Receipt",
    "Sale",
    "Fresh",
    "Bread",
    "Books",
    "News",
    "Daily",
    "North",
    "South",
    "East",
    "West",
    "Avenue",
    "Bridge",
    "Tower",
    "Center",
    "Office",
    "School",
    "Taxi",
    "Stop",
    "Please",
    "Quality",
    "Design",
    "Vision",
    "Token",
    "Image",
    "Pixel",
    "Camera",
    "Photo",
    "Signal",
    "Engine",
    "Energy",
    "Water",
    "Forest",
    "Morning",
    "Evening",
    "Weather",
    "Castle",
    "Silver",
    "Golden",
    "Print",
    "Paper",
    "Studio",
    "Travel",
    "Hospital",
    "Entrance",
    "Number",
    "Answer",
    "Question",
    "Button",
    "Battery",
    "Picture",
    "Sunday",
    "Corner",
    "Village",
    "Farm",
    "Apple",
    "Lemon",
    "Butter",
    "Honey",
    "Sugar",
    "Salt",
    "Pepper",
    "Cinema",
    "Concert",
    "Radio",
    "Doctor",
    "Garage",
    "Harvest",
    "Balcony",
    "Captain",
    "Orbit",
    "Galaxy",
    "Crater",
)
PHRASES: tuple[str, ...] = (
    "Open Daily",
    "Fresh Bread",
    "No Parking",
    "Thank You",
    "Good Morning",
    "Exit Only",
    "Hot Coffee",
    "Mind the Gap",
    "Main Street",
    "Side Door",
    "Free Wifi",
    "Sold Out",
    "Last Call",
    "Push Here",
)
# Colons and "!" are left out: EasyOCR's English model reads them as "." and "I" even when large.
MIXED: tuple[str, ...] = (
    "Room 42",
    "$12.50",
    "2024",
    "No.7",
    "Gate B12",
    "10%",
    "24/7",
    "3.14",
    "A-12",
    "Route 66",
    "Apt. 4B",
    "Don't",
    "It's",
    "Hello,",
    "Why?",
    "e-mail",
    "Mon-Fri",
    "Page 3",
    "Level 2",
    "Bus 17",
    "$4.99",
    "1984",
    "Exit 5",
    "Zone C",
    "Aisle 7",
    "Dock 3",
    "Box #8",
    "Track 4",
    "$3.75",
    "50%",
    "Mon-Sat",
    "Hi-Fi",
    "X-Ray",
    "Block 9",
    "1-800",
    "Gate 21",
)

# (plate colour, text colour): dark on light or light on dark, all high contrast.
PALETTES: tuple[tuple[tuple[int, int, int], tuple[int, int, int]], ...] = (
    ((250, 250, 246), (18, 18, 22)),
    ((244, 236, 214), (52, 30, 16)),
    ((255, 236, 130), (16, 24, 70)),
    ((232, 240, 250), (120, 14, 20)),
    ((16, 16, 18), (248, 248, 248)),
    ((18, 32, 78), (255, 226, 90)),
    ((20, 70, 44), (250, 250, 240)),
    ((110, 16, 24), (255, 246, 236)),
)


@dataclass(frozen=True)
class Canvas:
    """One output image: its size, how its background is made, and what text goes on it."""

    name: str
    size: tuple[int, int]  # (W, H)
    background: tuple[Any, ...]
    counts: dict[str, int]
    forced: dict[str, tuple[str, ...]] = field(default_factory=dict)
    polygons: tuple[tuple[str, float], ...] = ()  # (interval, angle in degrees; >0 descends)
    document: bool = False  # plates blend into a paper page instead of sitting on a photo


CANVASES: tuple[Canvas, ...] = (
    Canvas("s01_astronaut_512x512", (512, 512), ("photo", "astronaut", None), {"E": 3, "D": 3, "C": 3, "B": 2}),
    Canvas(
        "s02_coffee_600x400",
        (600, 400),
        ("photo", "coffee", None),
        {"E": 3, "D": 3, "C": 3, "B": 3},
        forced={"D": ("café",)},
    ),
    Canvas("s03_chelsea_451x300", (451, 300), ("photo", "chelsea", None), {"E": 3, "D": 2, "C": 3, "B": 2}),
    Canvas(
        "s04_rocket_640x427",
        (640, 427),
        ("photo", "rocket", None),
        {"E": 2, "D": 3, "C": 3, "B": 2},
        polygons=(("D", -14.0),),
    ),
    Canvas("s05_camera_512x512", (512, 512), ("photo", "camera", None), {"E": 3, "D": 2, "C": 2, "B": 2}),
    Canvas(
        "s06_astronaut_384x576",
        (384, 576),
        ("photo", "astronaut", (120, 0, 461, 512)),
        {"E": 3, "D": 2, "C": 2, "B": 1},
    ),
    Canvas("s07_coffee_513x377", (513, 377), ("photo", "coffee", (60, 20, 573, 397)), {"E": 2, "D": 3, "C": 3, "B": 2}),
    Canvas(
        "s08_chelsea_450x600",
        (450, 600),
        ("photo", "chelsea", (110, 0, 335, 300)),
        {"E": 3, "D": 2, "C": 2, "B": 2},
        polygons=(("E", 12.0),),
    ),
    Canvas(
        "s09_brick_800x600",
        (800, 600),
        ("texture", "brick", (150, 70, 50), (230, 190, 160)),
        {"E": 3, "D": 3, "C": 3, "B": 3},
        polygons=(("D", 20.0), ("C", -9.0)),
    ),
    Canvas(
        "s10_page_1024x768",
        (1024, 768),
        ("paper", "astronaut", (600, 60), (360, 360)),
        {"T": 2, "A": 7, "B": 6, "C": 3, "D": 2, "E": 2},
        document=True,
    ),
    Canvas(
        "s11_page_768x1024",
        (768, 1024),
        ("paper", "coffee", (60, 70), (450, 300)),
        {"T": 2, "A": 7, "B": 6, "C": 3, "D": 1, "E": 1},
        document=True,
    ),
    Canvas(
        "s12_page_1000x700",
        (1000, 700),
        ("paper", "rocket", (40, 400), (420, 280)),
        {"A": 6, "B": 5, "C": 3, "D": 2, "E": 1},
        document=True,
        forced={"C": ("señor",)},
    ),
    Canvas(
        "s13_camera_1024x1024",
        (1024, 1024),
        ("photo", "camera", None),
        {"T": 2, "A": 6, "B": 4, "C": 3, "D": 2, "E": 2},
        polygons=(("B", 8.0),),
    ),
    Canvas(
        "s14_stone_720x960",
        (720, 960),
        ("texture", "brick", (70, 80, 95), (200, 205, 215)),
        {"A": 2, "B": 3, "C": 3, "D": 2, "E": 3},
        polygons=(("C", -30.0),),
    ),
    Canvas(
        "s15_camera_600x800",
        (600, 800),
        ("photo", "camera", (64, 0, 448, 512)),
        {"B": 3, "C": 3, "D": 3, "E": 2},
        forced={"E": ("Zürich",)},
    ),
    Canvas("s16_clock_800x600", (800, 600), ("photo", "clock", None), {"A": 2, "B": 3, "C": 3, "D": 2, "E": 2}),
    Canvas(
        "s17_chelsea_900x600",
        (900, 600),
        ("photo", "chelsea", None),
        {"A": 4, "B": 4, "C": 3, "D": 2, "E": 2},
        polygons=(("D", -22.0),),
    ),
    Canvas(
        "s18_banner_896x384", (896, 384), ("strip", ("coffee", "astronaut", "rocket")), {"B": 3, "C": 3, "D": 2, "E": 2}
    ),
    Canvas(
        "s19_page_640x905",
        (640, 905),
        ("paper", "chelsea", (100, 520), (440, 293)),
        {"T": 1, "A": 4, "B": 4, "C": 3, "D": 1, "E": 1},
        document=True,
    ),
)


# ---------------------------------------------------------------------------------------------
# deterministic helpers


class Rng:
    """Only ``random.Random.random`` is used: its sequence is guaranteed across Python versions."""

    def __init__(self, seed: int) -> None:
        self._r = random.Random(seed)

    def uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self._r.random()

    def index(self, n: int) -> int:
        return min(n - 1, int(self._r.random() * n))

    def choice(self, seq: Sequence[Any]) -> Any:
        return seq[self.index(len(seq))]


def load_source(name: str) -> np.ndarray:
    """A scikit-image bundled photo as uint8 RGB."""
    import skimage.data

    arr = np.asarray(getattr(skimage.data, name)())
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    return np.ascontiguousarray(arr[..., :3].astype(np.uint8))


def resize_bilinear(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixel-centre bilinear resampling in float64 (element-wise, so bit-reproducible)."""
    src = img.astype(np.float64)
    h, w = img.shape[:2]
    ys = np.clip((np.arange(height) + 0.5) * (h / height) - 0.5, 0, h - 1)
    xs = np.clip((np.arange(width) + 0.5) * (w / width) - 0.5, 0, w - 1)
    y0 = np.floor(ys).astype(np.int64)
    x0 = np.floor(xs).astype(np.int64)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    wy, wx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    top = src[y0][:, x0] * (1 - wx) + src[y0][:, x1] * wx
    bottom = src[y1][:, x0] * (1 - wx) + src[y1][:, x1] * wx
    return to_uint8(top * (1 - wy) + bottom * wy)


def to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(x + 0.5), 0, 255).astype(np.uint8)


def soften(img: np.ndarray) -> np.ndarray:
    """3x3 binomial ([1, 2, 1] / 4 each way) filter with edge padding, as float64."""
    p = np.pad(img.astype(np.float64), ((1, 1), (1, 1), (0, 0)), mode="edge")
    rows = (p[:, :-2] + 2 * p[:, 1:-1] + p[:, 2:]) / 4
    return (rows[:-2] + 2 * rows[1:-1] + rows[2:]) / 4


def cover(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale so the image covers width x height, then centre-crop."""
    h, w = img.shape[:2]
    scale = max(width / w, height / h)
    sw, sh = max(width, math.ceil(w * scale)), max(height, math.ceil(h * scale))
    big = img if (sw, sh) == (w, h) else resize_bilinear(img, sw, sh)
    x, y = (sw - width) // 2, (sh - height) // 2
    return np.ascontiguousarray(big[y : y + height, x : x + width])


def make_background(canvas: Canvas, sources: Callable[[str], np.ndarray]) -> np.ndarray:
    """The canvas's background as float64 RGB."""
    width, height = canvas.size
    kind = canvas.background[0]
    if kind == "photo":
        _, name, crop = canvas.background
        img = sources(name)
        if crop is not None:
            x0, y0, x1, y1 = crop
            img = img[y0:y1, x0:x1]
        out = cover(img, width, height)
        # native-size photos are softened (3x3 binomial) to keep the shipped PNGs small;
        # upscaled ones are already smooth
        return soften(out) if out.shape[:2] == img.shape[:2] else out.astype(np.float64)
    if kind == "texture":
        _, name, dark, light = canvas.background
        gray = cover(sources(name), width, height)[..., 0].astype(np.float64)[..., None] / 255.0
        return np.asarray(dark, np.float64) * (1 - gray) + np.asarray(light, np.float64) * gray
    if kind == "paper":
        _, name, (px, py), (pw, ph) = canvas.background
        yy = np.arange(height, dtype=np.float64)[:, None, None] / height
        xx = np.arange(width, dtype=np.float64)[None, :, None] / width
        base = np.asarray((244.0, 240.0, 230.0)) - 10.0 * yy - 6.0 * xx
        page = np.broadcast_to(base, (height, width, 3)).copy()
        page[py : py + ph, px : px + pw] = cover(sources(name), pw, ph)
        return page
    if kind == "strip":
        _, names = canvas.background
        parts, x = [], 0
        for i, name in enumerate(names):
            w = (width - x) if i == len(names) - 1 else width // len(names)
            parts.append(cover(sources(name), w, height))
            x += w
        return np.concatenate(parts, axis=1).astype(np.float64)
    raise ValueError(f"unknown background kind {kind!r}")


# ---------------------------------------------------------------------------------------------
# text rendering


_FONT_BYTES: bytes | None = None


def font_bytes() -> bytes:
    """The bytes of Pillow's built-in scalable font (needs Pillow >= 10.1 with FreeType)."""
    global _FONT_BYTES
    if _FONT_BYTES is None:
        font = ImageFont.load_default(size=10)
        data = getattr(font, "font_bytes", None)
        if not isinstance(font, ImageFont.FreeTypeFont) or not data:
            raise RuntimeError("Pillow's scalable default font is unavailable (needs Pillow >= 10.1 with FreeType)")
        _FONT_BYTES = bytes(data)
    return _FONT_BYTES


def get_font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(io.BytesIO(font_bytes()), size, layout_engine=ImageFont.Layout.BASIC)


# accented letter -> (base letter, ASCII accent glyph, mirror the accent, accent count)
ACCENTS: dict[str, tuple[str, str, bool, int]] = {
    "é": ("e", "`", True, 1),
    "ñ": ("n", "~", False, 1),
    "ü": ("u", ".", False, 2),
}


def _draw_mask(text: str, font: ImageFont.FreeTypeFont, pad: int) -> np.ndarray:
    width = int(math.ceil(font.getlength(text))) + 2 * pad
    height = int(font.size * 1.6) + 2 * pad
    img = Image.new("L", (width, height), 0)
    ImageDraw.Draw(img).text((pad, pad), text, font=font, fill=255)
    return np.asarray(img, dtype=np.float64) / 255.0


def _ink_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def text_mask(text: str, size: int) -> np.ndarray:
    """Anti-aliased coverage in [0, 1], cropped to the ink; diacritics composed from ASCII glyphs."""
    font = get_font(size)
    pad = size
    base = "".join(ACCENTS[c][0] if c in ACCENTS else c for c in text)
    mask = _draw_mask(base, font, pad)
    for i, ch in enumerate(text):
        if ch not in ACCENTS:
            continue
        letter, accent, mirror, count = ACCENTS[ch]
        origin = pad + font.getlength(base[:i])
        glyph = _draw_mask(letter, font, pad)
        gx0, gy0, gx1, _ = _ink_box(glyph)
        mark = _draw_mask(accent, font, pad)
        ax0, ay0, ax1, ay1 = _ink_box(mark)
        mark = mark[ay0:ay1, ax0:ax1]
        if mirror:
            mark = mark[:, ::-1]
        gap = max(1, round(0.08 * size))
        mh, mw = mark.shape
        spacing = max(1, round(0.12 * size)) if count == 2 else 0
        total = count * mw + (count - 1) * spacing
        left = origin - pad + (gx0 + gx1) / 2 - total / 2
        top = gy0 - gap - mh
        for k in range(count):
            x = int(math.floor(left + k * (mw + spacing) + 0.5))
            region = mask[top : top + mh, x : x + mw]
            mask[top : top + mh, x : x + mw] = np.maximum(region, mark)
    x0, y0, x1, y1 = _ink_box(mask)
    return np.ascontiguousarray(mask[y0:y1, x0:x1])


@dataclass
class Plate:
    """A rendered word: text coverage on a plate with a margin."""

    text: str
    coverage: np.ndarray  # [h, w] text coverage over the whole plate
    plate: tuple[int, int, int]
    ink: tuple[int, int, int]
    opacity: float

    @property
    def width(self) -> int:
        return int(self.coverage.shape[1])

    @property
    def height(self) -> int:
        return int(self.coverage.shape[0])

    def rgba(self) -> np.ndarray:
        """[h, w, 4] float64: RGB of plate + text, and the plate opacity."""
        cov = self.coverage[..., None]
        rgb = np.asarray(self.plate, np.float64) * (1 - cov) + np.asarray(self.ink, np.float64) * cov
        alpha = np.full(cov.shape, self.opacity)
        alpha = alpha + (1 - alpha) * cov  # the text itself is fully opaque
        return np.concatenate([rgb, alpha], axis=-1)


def make_plate(
    text: str, size: int, palette: tuple[tuple[int, int, int], tuple[int, int, int]], opacity: float
) -> Plate:
    """Render ``text`` at font ``size`` with a margin of ~12% of the ink height (at least 1 px)."""
    mask = text_mask(text, size)
    ink_h = mask.shape[0]
    margin = max(1, round(0.12 * ink_h))
    cov = np.pad(mask, margin)
    return Plate(text, cov, palette[0], palette[1], opacity)


def estimate_size(text: str, box_width: float) -> int:
    """Font size whose plate is about ``box_width`` px wide."""
    probe = text_mask(text, 100).shape
    per_size = (probe[1] + 2 * 0.12 * probe[0]) / 100.0
    return max(5, round(box_width / per_size))


def sized_plate(
    text: str,
    lo: float,
    hi: float,
    target: float,
    long_side: int,
    palette: tuple[tuple[int, int, int], tuple[int, int, int]],
    opacity: float,
) -> Plate | None:
    """A plate whose ratio lies in [lo, hi), starting from the size that hits ``target``."""
    n = len(text)
    size = estimate_size(text, target * n * long_side)
    tried: set[int] = set()
    for _ in range(12):
        if size in tried or size < 5:
            return None
        tried.add(size)
        plate = make_plate(text, size, palette, opacity)
        r = plate.width / (n * long_side)
        if lo <= r < hi:
            return plate
        size += 1 if r < lo else -1
    return None


# ---------------------------------------------------------------------------------------------
# placement and compositing


def composite(canvas: np.ndarray, rgba: np.ndarray, x: int, y: int) -> None:
    """Alpha-blend an axis-aligned RGBA patch (float64) onto the float64 canvas in place."""
    h, w = rgba.shape[:2]
    region = canvas[y : y + h, x : x + w]
    a = rgba[..., 3:]
    canvas[y : y + h, x : x + w] = region * (1 - a) + rgba[..., :3] * a


def rotated_geometry(w: int, h: int, angle: float, x: float, y: float) -> list[list[float]]:
    """Exact corners TL, TR, BR, BL (clockwise on screen) of a w x h plate rotated by ``angle``."""
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    return [[x, y], [x + w * c, y + w * s], [x + w * c - h * s, y + w * s + h * c], [x - h * s, y + h * c]]


def composite_rotated(canvas: np.ndarray, rgba: np.ndarray, corners: list[list[float]], angle: float) -> None:
    """Inverse-map a rotated RGBA patch onto the canvas with bilinear sampling."""
    h, w = rgba.shape[:2]
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    xs = [p[0] for p in corners]
    ys = [p[1] for p in corners]
    bx0, by0 = max(0, int(math.floor(min(xs)))), max(0, int(math.floor(min(ys))))
    bx1 = min(canvas.shape[1], int(math.ceil(max(xs))) + 1)
    by1 = min(canvas.shape[0], int(math.ceil(max(ys))) + 1)
    gy, gx = np.mgrid[by0:by1, bx0:bx1].astype(np.float64)
    dx, dy = gx + 0.5 - corners[0][0], gy + 0.5 - corners[0][1]
    u = dx * c + dy * s - 0.5  # patch column (pixel-centre coordinates)
    v = -dx * s + dy * c - 0.5  # patch row
    # premultiplied RGB + alpha, zero outside the patch, sampled bilinearly
    premult = np.concatenate([rgba[..., :3] * rgba[..., 3:], rgba[..., 3:]], axis=-1)
    padded = np.pad(premult, ((1, 1), (1, 1), (0, 0)))
    u, v = np.clip(u + 1, 0, w + 1), np.clip(v + 1, 0, h + 1)
    u0, v0 = np.minimum(np.floor(u).astype(np.int64), w), np.minimum(np.floor(v).astype(np.int64), h)
    fu, fv = (u - u0)[..., None], (v - v0)[..., None]
    sample = (padded[v0, u0] * (1 - fu) + padded[v0, u0 + 1] * fu) * (1 - fv) + (
        padded[v0 + 1, u0] * (1 - fu) + padded[v0 + 1, u0 + 1] * fu
    ) * fv
    region = canvas[by0:by1, bx0:bx1]
    canvas[by0:by1, bx0:bx1] = region * (1 - sample[..., 3:]) + sample[..., :3]


def _overlaps(box: tuple[int, int, int, int], boxes: list[tuple[int, int, int, int]], gap: int) -> bool:
    x0, y0, x1, y1 = box
    return any(x0 < b[2] + gap and b[0] < x1 + gap and y0 < b[3] + gap and b[1] < y1 + gap for b in boxes)


def find_spot(
    rng: Rng,
    w: int,
    h: int,
    width: int,
    height: int,
    boxes: list[tuple[int, int, int, int]],
    border: int = 4,
    gap: int = 4,
    tries: int = 600,
) -> tuple[int, int] | None:
    if w + 2 * border > width or h + 2 * border > height:
        return None
    for _ in range(tries):
        x = border + rng.index(width - w - 2 * border + 1)
        y = border + rng.index(height - h - 2 * border + 1)
        if not _overlaps((x, y, x + w, y + h), boxes, gap):
            return x, y
    return None


# ---------------------------------------------------------------------------------------------
# the dataset


def vary_case(rng: Rng, word: str) -> str:
    if not word.isalpha() and " " not in word:
        return word
    roll = rng.uniform(0, 1)
    if roll < 0.2:
        return word.upper()
    if roll < 0.35:
        return word.lower()
    return word


def pick_text(rng: Rng, max_chars: int, used: set[str]) -> str:
    """A word, phrase or digits-and-punctuation string of at most ``max_chars`` chars, not in ``used``."""
    roll = rng.uniform(0, 1)
    pool = WORDS if roll < 0.62 else PHRASES if roll < 0.77 else MIXED
    fitting = [t for t in pool if len(t) <= max_chars and t.lower() not in used]
    fitting = fitting or [t for t in WORDS if len(t) <= max_chars and t.lower() not in used] or ["Go"]
    return vary_case(rng, rng.choice(fitting))


@dataclass
class Instance:
    rec: str
    bbox: list[Any]
    ratio: float
    interval: str


def layout_canvas(canvas: Canvas, rng: Rng, sources: Callable[[str], np.ndarray]) -> tuple[np.ndarray, list[Instance]]:
    """Render one canvas: background, then plates from the largest interval down."""
    width, height = canvas.size
    long_side = max(width, height)
    img = make_background(canvas, sources)
    boxes: list[tuple[int, int, int, int]] = []
    instances: list[Instance] = []
    used: set[str] = set()
    jobs: list[tuple[str, float | None, str | None]] = [(iv, angle, None) for iv, angle in canvas.polygons]
    for iv in "EDCBAT":
        forced = list(canvas.forced.get(iv, ()))
        for k in range(canvas.counts.get(iv, 0)):
            jobs.append((iv, None, forced[k] if k < len(forced) else None))
    for iv, angle, forced_text in jobs:
        lo, hi = INTERVALS[iv]
        placed = False
        for _attempt in range(40):
            target = rng.uniform(lo + 0.12 * (hi - lo), hi - 0.12 * (hi - lo))
            max_chars = max(2, int(0.7 * width / (target * long_side)))
            text = forced_text or pick_text(rng, max_chars, used)
            palette = PALETTES[0] if canvas.document and rng.uniform(0, 1) < 0.6 else rng.choice(PALETTES)
            opacity = 1.0 if canvas.document or rng.uniform(0, 1) < 0.5 else round(rng.uniform(0.84, 0.95), 3)
            plate = sized_plate(text, lo, hi, target, long_side, palette, opacity)
            if plate is None:
                continue
            if angle is None:
                spot = find_spot(rng, plate.width, plate.height, width, height, boxes)
                if spot is None:
                    continue
                x, y = spot
                composite(img, plate.rgba(), x, y)
                box = (x, y, x + plate.width, y + plate.height)
                boxes.append(box)
                ratio = plate.width / (len(text) * long_side)
                instances.append(Instance(text, list(box), ratio, iv))
            else:
                probe = rotated_geometry(plate.width, plate.height, angle, 0.0, 0.0)
                pxs, pys = [p[0] for p in probe], [p[1] for p in probe]
                bw = int(math.ceil(max(pxs) - min(pxs))) + 2
                bh = int(math.ceil(max(pys) - min(pys))) + 2
                spot = find_spot(rng, bw, bh, width, height, boxes)
                if spot is None:
                    continue
                x, y = spot
                ox, oy = x + 1 - min(pxs), y + 1 - min(pys)
                corners = rotated_geometry(plate.width, plate.height, angle, ox, oy)
                poly = [[int(math.floor(px + 0.5)), int(math.floor(py + 0.5))] for px, py in corners]
                top = math.hypot(poly[1][0] - poly[0][0], poly[1][1] - poly[0][1])
                ratio = top / (len(text) * long_side)
                if not lo <= ratio < hi:  # rounding the corners moved it out of the interval
                    continue
                composite_rotated(img, plate.rgba(), corners, angle)
                boxes.append((x, y, x + bw, y + bh))
                instances.append(Instance(text, poly, ratio, iv))
            used.add(text.lower())
            placed = True
            break
        if not placed:
            raise RuntimeError(f"{canvas.name}: could not place an instance of interval {iv}")
    return to_uint8(img), instances


def png_bytes(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", compress_level=9)
    return buf.getvalue()


def environment() -> dict[str, str]:
    """Versions the output bytes depend on: Pillow's drawing code, FreeType's rasteriser, zlib's deflate."""
    import PIL

    zlib_ng = features.version_feature("zlib_ng") if "zlib_ng" in features.features else None
    return {
        "pillow": PIL.__version__,
        "freetype": str(features.version("freetype2")),
        "zlib": str(features.version("zlib")),
        "zlib_ng": str(zlib_ng),
    }


def recorded_with() -> dict[str, str]:
    """Other versions, for the record only (the source photos are checked by their pixel hashes)."""
    import platform

    import skimage

    return {"python": platform.python_version(), "numpy": np.__version__, "scikit-image": skimage.__version__}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def bucket_counts(records: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Instances per harness bucket per resolution (plus below the smallest bucket)."""
    ratios = [a["ratio"] for r in records for a in r["annotations"]]
    out: dict[str, dict[str, int]] = {}
    for res, edges in TEXT_EDGES.items():
        names = [bucket_of(x, edges) for x in ratios]
        out[f"text@{res}"] = {name: names.count(name) for name in (*BUCKETS, BELOW)}
    return out


def build(only: Sequence[str] | None = None) -> tuple[list[dict[str, Any]], dict[str, bytes], dict[str, Any]]:
    """Lay out every canvas (cheap); encode PNGs for all or just the ``only`` names."""
    rng = Rng(SEED)
    cache: dict[str, np.ndarray] = {}

    def sources(name: str) -> np.ndarray:
        if name not in cache:
            cache[name] = load_source(name)
        return cache[name]

    records: list[dict[str, Any]] = []
    pngs: dict[str, bytes] = {}
    for canvas in CANVASES:
        img, instances = layout_canvas(canvas, rng, sources)
        file_name = f"{canvas.name}.png"
        height, width = img.shape[:2]
        records.append(
            {
                "file_name": file_name,
                "height": height,
                "width": width,
                "annotations": [{"rec": i.rec, "bbox": i.bbox, "ratio": i.ratio} for i in instances],
            }
        )
        if only is None or canvas.name in only or file_name in only:
            pngs[file_name] = png_bytes(img)
    meta = {
        "name": "samples",
        "generator": "scripts/make_samples.py",
        "generator_version": GENERATOR_VERSION,
        "seed": SEED,
        "font": {"name": FONT_NAME, "licence": FONT_LICENCE, "sha256": sha256(font_bytes()), "layout_engine": "basic"},
        "sources": {
            name: {
                "loader": f"skimage.data.{name}()",
                "licence": SOURCES[name],
                "shape": list(arr.shape),
                "pixels_sha256": sha256(arr.tobytes()),
            }
            for name, arr in sorted(cache.items())
        },
        "environment": environment(),
        "recorded_with": recorded_with(),
        "images": len(records),
        "instances": sum(len(r["annotations"]) for r in records),
        "polygons": sum(isinstance(a["bbox"][0], list) for r in records for a in r["annotations"]),
        "buckets": bucket_counts(records),
        "png_sha256": {k: sha256(v) for k, v in sorted(pngs.items())} if only is None else {},
    }
    return records, pngs, meta


def dump_json(data: Any) -> bytes:
    return (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def generate(out: Path = SAMPLES_DIR, only: Sequence[str] | None = None) -> list[Path]:
    """Write the dataset into ``out``; return the files written."""
    records, pngs, meta = build(only)
    (out / IMAGE_DIR).mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in pngs.items():
        path = out / IMAGE_DIR / name
        path.write_bytes(data)
        written.append(path)
    for name, data in ((ANNOTATION_FILE, dump_json(records)), (META_FILE, dump_json(meta))):
        if only is None or name == ANNOTATION_FILE:
            (out / name).write_bytes(data)
            written.append(out / name)
    expected = {r["file_name"] for r in records}
    stale = sorted(p.name for p in (out / IMAGE_DIR).glob("*.png") if p.name not in expected)
    if stale:
        print(f"warning: {out / IMAGE_DIR} has PNGs this generator does not make: {', '.join(stale)}", file=sys.stderr)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/make_samples.py", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--out", type=Path, default=SAMPLES_DIR, help="output folder (default: tokbench/samples/)")
    parser.add_argument(
        "--only",
        nargs="*",
        default=None,
        help="encode only these images (the annotation file stays complete; no meta file)",
    )
    args = parser.parse_args(argv)
    written = generate(args.out, args.only)
    total = sum(p.stat().st_size for p in written)
    print(f"wrote {len(written)} files ({total / 1e6:.2f} MB) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
