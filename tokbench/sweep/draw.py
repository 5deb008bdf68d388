"""Draw one sweep instance into a canvas region: a word at a given cap height, or a sample face at a given
inter-ocular distance; both return their exact ground truth (text box, 5 keypoints) in canvas pixels."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

# fonts that matplotlib ships (DejaVu licence, mpl-data/fonts/ttf): a sans and a serif
FONTS = {"sans": "DejaVuSans.ttf", "serif": "DejaVuSerif.ttf"}
INK = {"dark": (20, 20, 24), "light": (242, 240, 232)}
FLAT = {"light": (232, 228, 218), "dark": (32, 34, 44)}
PHOTOS = ("coffee", "chelsea", "rocket", "brick", "grass", "gravel")  # skimage, no faces in them
FACE_FLAT = (188, 192, 198)
HEAD = 1.5  # cut-out side / face-box side
BOX_PAD = 0.12  # text box = ink box + this fraction of the ink height (at least 1 px), as the samples


@functools.cache
def font_path(kind: str) -> Path:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / FONTS[kind]
    if not path.is_file():
        raise FileNotFoundError(f"sweep: font {path} is missing (reinstall matplotlib)")
    return path


@functools.cache
def cap_ratio(kind: str) -> float:
    """Cap height per unit font size (the ink height of "H" at 1000 px)."""
    from PIL import ImageFont

    box = ImageFont.truetype(str(font_path(kind)), 1000).getbbox("H", anchor="ls")
    return -box[1] / 1000.0


@functools.cache
def _font(kind: str, cap: float) -> Any:
    from PIL import ImageFont

    return ImageFont.truetype(str(font_path(kind)), cap / cap_ratio(kind))


def word_extent(word: str, kind: str, cap: float) -> tuple[int, int, int, int]:
    """Ink box of ``word`` relative to its pen origin on the baseline (x0, y0, x1, y1)."""
    return tuple(int(v) for v in _font(kind, cap).getbbox(word, anchor="ls"))  # type: ignore[return-value]


@functools.cache
def photo(name: str, size: int) -> np.ndarray:
    """A scikit-image photo scaled to cover ``size`` x ``size`` and centre-cropped."""
    import skimage.data
    from PIL import Image

    arr = np.asarray(getattr(skimage.data, name)())
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    img = Image.fromarray(np.ascontiguousarray(arr[..., :3].astype(np.uint8)))
    scale = size / min(img.size)
    w, h = max(size, round(img.width * scale)), max(size, round(img.height * scale))
    out = np.asarray(img.resize((w, h), Image.Resampling.LANCZOS))
    y, x = (h - size) // 2, (w - size) // 2
    return np.ascontiguousarray(out[y : y + size, x : x + size])


def background(kind: str, size: int, photo_name: str) -> np.ndarray:
    """``flat-light`` / ``flat-dark`` / ``photo-light`` / ``photo-dark`` (photo blended 55 % towards the
    flat colour, so its texture stays but the ink keeps contrast) / ``photo`` / ``flat`` (faces)."""
    if kind == "photo":
        return photo(photo_name, size).copy()
    if kind == "flat":
        return np.broadcast_to(np.array(FACE_FLAT, np.uint8), (size, size, 3)).copy()
    fill, tone = kind.split("-")
    flat = np.array(FLAT[tone], np.float64)
    if fill == "flat":
        return np.broadcast_to(flat.astype(np.uint8), (size, size, 3)).copy()
    mixed = 0.45 * photo(photo_name, size).astype(np.float64) + 0.55 * flat
    return np.floor(mixed + 0.5).astype(np.uint8)


def draw_word(canvas: np.ndarray, word: str, kind: str, cap: float, ink: str, x: int, y: int) -> list[int]:
    """Draw ``word`` with its pen origin at (x, y) = (left, baseline); return its box [x0, y0, x1, y1]."""
    from PIL import Image, ImageDraw

    img = Image.fromarray(canvas)
    ImageDraw.Draw(img).text((x, y), word, font=_font(kind, cap), fill=INK[ink], anchor="ls")
    canvas[:] = np.asarray(img)
    x0, y0, x1, y1 = word_extent(word, kind, cap)
    pad = max(1, round(BOX_PAD * (y1 - y0)))
    h, w = canvas.shape[:2]
    return [max(0, x + x0 - pad), max(0, y + y0 - pad), min(w, x + x1 + pad), min(h, y + y1 + pad)]


def face_patch(image: np.ndarray, kps: np.ndarray, box: tuple[int, ...], iod: float, limit: int) -> dict[str, Any]:
    """The head around a source face, scaled so its inter-ocular distance is ``iod`` px, cropped to at
    most ``limit`` px a side around the face centre, with a feathered elliptical alpha and its keypoints."""
    from PIL import Image

    x0, y0, x1, y1 = box
    side = HEAD * max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    h, w = image.shape[:2]
    px0, py0 = max(0, round(cx - side / 2)), max(0, round(cy - side / 2))
    px1, py1 = min(w, round(cx + side / 2)), min(h, round(cy + side / 2))
    patch = image[py0:py1, px0:px1]
    yy, xx = np.mgrid[py0:py1, px0:px1].astype(np.float64)
    r2 = ((xx + 0.5 - cx) / (side / 2)) ** 2 + ((yy + 0.5 - cy) / (side / 2)) ** 2
    alpha = np.clip((1.0 - r2) / 0.3, 0.0, 1.0)
    scale = iod / float(np.linalg.norm(kps[1] - kps[0]))
    ph, pw = patch.shape[:2]
    nw, nh = max(1, round(pw * scale)), max(1, round(ph * scale))
    sx, sy = nw / pw, nh / ph
    rgb = np.asarray(Image.fromarray(patch).resize((nw, nh), Image.Resampling.LANCZOS), dtype=np.float64)
    a = np.asarray(Image.fromarray(alpha.astype(np.float32), mode="F").resize((nw, nh), Image.Resampling.LANCZOS))
    pts = np.stack([(kps[:, 0] - px0 + 0.5) * sx - 0.5, (kps[:, 1] - py0 + 0.5) * sy - 0.5], axis=1)
    # crop around the scaled face centre when the head is larger than the room it has
    ccx, ccy = (cx - px0) * sx, (cy - py0) * sy
    ox = int(min(max(0, round(ccx - limit / 2)), max(0, nw - limit)))
    oy = int(min(max(0, round(ccy - limit / 2)), max(0, nh - limit)))
    rgb, a = rgb[oy : oy + limit, ox : ox + limit], a[oy : oy + limit, ox : ox + limit]
    return {"rgb": rgb, "alpha": np.clip(a.astype(np.float64), 0, 1)[..., None], "kps": pts - [ox, oy]}


def paste(canvas: np.ndarray, patch: dict[str, Any], x: int, y: int) -> list[list[float]]:
    """Alpha-blend a face patch with its top-left at (x, y); return its keypoints in canvas pixels."""
    h, w = patch["rgb"].shape[:2]
    region = canvas[y : y + h, x : x + w].astype(np.float64)
    blended = np.floor(region * (1 - patch["alpha"]) + patch["rgb"] * patch["alpha"] + 0.5)
    canvas[y : y + h, x : x + w] = blended.clip(0, 255).astype(np.uint8)
    return np.round(patch["kps"] + [x, y], 4).tolist()
