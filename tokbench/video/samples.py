"""``video-samples``: short clips made at run time from a seed, with exact per-frame ground truth.

Text clips draw words (Pillow's built-in Aileron font, CC0) on light plates over scikit-image photos:
``text_scroll`` (three rows at three sizes moving sideways at different speeds), ``text_zoom`` (a word
whose size grows geometrically so its per-character ratio sweeps from below TokBench's lowest video edge
at 480 to above the large edge at 256), ``text_static`` (control) and ``text_flicker`` (the static frame
under alternating brightness). Each box is the plate the word was drawn on, so boxes and strings are
exact; ``ratio`` = box width / characters / long side, the image samples' rule. Face clips composite the
shipped sample faces (:mod:`tokbench.samples.faces`: astronaut, Grace Hopper; 5-point keypoints from
dlib, found once on the source photo) moving and scaling across the face buckets; keypoints follow the
same affine as the pixels. Plain clips (``plain_pan``, ``plain_cut`` with a hard cut) carry no
annotations and serve the pixel and temporal suites. Files are lossless (FFV1), annotations are TokBench's
per-frame video formats (text: one record per annotated frame, ``file_name`` "<video>-frame<N>.jpg" with N
1-based; faces: ``frame_anns``). Nothing random but the word choice, drawn from ``SEED``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

GENERATOR_VERSION = "1"
SEED = 20250604
SIZE = (480, 320)  # W, H: 3:2, canvas 384x256 at S=256 and 736x480 at S=480
FRAMES = 17  # 1 + 16: accepted by every 1+4k / 1+8k / 1+16k rule
FPS = 16.0
WORDS = (
    "TOKEN", "Video", "frame", "Legible", "CODEC", "motion", "Zoom", "pixel", "Scroll", "Latent",
    "river", "Bench", "Quartz", "signal", "North", "Delta", "vector", "Harbor", "Amber", "Kernel",
)  # fmt: skip
TEXT_INK, PLATE = (20, 20, 28), (236, 232, 220)


def _photo(name: str, size: tuple[int, int]) -> np.ndarray:
    """A scikit-image photo covering ``size`` (W, H), centre-cropped, LANCZOS."""
    import skimage.data

    arr = np.asarray(getattr(skimage.data, name)())
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    img = Image.fromarray(np.ascontiguousarray(arr[..., :3].astype(np.uint8)))
    w, h = size
    scale = max(w / img.width, h / img.height)
    nw, nh = max(w, int(np.ceil(img.width * scale))), max(h, int(np.ceil(img.height * scale)))
    img = img.resize((nw, nh), Image.Resampling.LANCZOS)
    x0, y0 = (nw - w) // 2, (nh - h) // 2
    return np.array(img.crop((x0, y0, x0 + w, y0 + h)))


def _plate(frame: np.ndarray, word: str, size: int, x: int, y: int) -> dict[str, Any]:
    """Draw ``word`` at font ``size`` on a plate whose top-left is (x, y); return its annotation."""
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = font.getbbox(word)
    pad = max(1, round(0.15 * (bottom - top)))
    w, h = (right - left) + 2 * pad, (bottom - top) + 2 * pad
    img = Image.fromarray(frame)
    draw = ImageDraw.Draw(img)
    draw.rectangle((x, y, x + w - 1, y + h - 1), fill=PLATE)
    draw.text((x + pad - left, y + pad - top), word, font=font, fill=TEXT_INK)
    frame[...] = np.asarray(img)
    long_side = max(frame.shape[:2])
    return {"rec": word, "bbox": [x, y, x + w, y + h], "ratio": round(w / len(word) / long_side, 6)}


def _text_clip(name: str, background: np.ndarray, rows: Callable[[int], list[tuple[str, int, int, int]]]):
    frames, anns = [], []
    for t in range(FRAMES):
        frame = background.copy()
        anns.append([_plate(frame, word, size, x, y) for word, size, x, y in rows(t)])
        frames.append(frame)
    return name, np.stack(frames), anns


def text_clips(rng: np.random.Generator) -> list[tuple[str, np.ndarray, list[list[dict[str, Any]]]]]:
    """(name, frames [T,H,W,3], per-frame text annotations) of every text clip."""
    words = [str(w) for w in rng.permutation(WORDS)]
    coffee, brick = _photo("coffee", SIZE), _photo("rocket", SIZE)

    def scroll(t: int) -> list[tuple[str, int, int, int]]:
        # per-character ratios ~0.012 / 0.022 / 0.035: small, medium and large at S=256
        return [(words[0], 11, 20 + 2 * t, 30), (words[1], 20, 300 - 3 * t, 120), (words[2], 32, 60 + 4 * t, 220)]

    def zoom(t: int) -> list[tuple[str, int, int, int]]:
        size = round(5 * (44 / 5) ** (t / (FRAMES - 1)))  # font 5 px -> 44 px
        return [(words[3], size, 240 - 2 * size, 160 - size // 2)]

    static_rows = [(words[4], 9, 30, 40), (words[5], 15, 250, 60), (words[6], 22, 40, 150), (words[7], 34, 200, 230)]
    name, frames, anns = _text_clip("text_static", brick, lambda t: static_rows)
    gains = np.array([1.0 if t % 2 == 0 else 0.75 for t in range(FRAMES)])
    flicker = np.floor(frames.astype(np.float64) * gains[:, None, None, None] + 0.5).clip(0, 255).astype(np.uint8)
    return [
        _text_clip("text_scroll", coffee, scroll),
        _text_clip("text_zoom", coffee, zoom),
        (name, frames, anns),
        ("text_flicker", flicker, anns),
    ]


def face_clips() -> list[tuple[str, np.ndarray, list[list[dict[str, Any]]]]]:
    """Faces moving and scaling; empty without dlib (the image samples' rule)."""
    try:
        from tokbench.samples import faces as sf
    except ImportError:
        return []
    sources = sf.source_faces()
    background = _photo("brick", SIZE)
    frames, anns = [], []
    for t in range(FRAMES):
        u = t / (FRAMES - 1)
        frame = background.copy()
        grow = sf.Placement(0.035 * (0.45 / 0.035) ** u, 0, (0.3 + 0.15 * u, 0.5))  # 0.035 -> 0.45
        shrink = sf.Placement(0.30 * (0.06 / 0.30) ** u, 1 % len(sources), (0.8 - 0.05 * u, 0.35 + 0.2 * u))
        anns.append([sf._composite(frame, sources[p.source], p) for p in (grow, shrink)])
        frames.append(frame)
    return [("face_move", np.stack(frames), anns)]


def plain_clips() -> list[tuple[str, np.ndarray]]:
    w, h = SIZE
    wide = _photo("astronaut", (w + 4 * FRAMES, h))
    pan = np.stack([wide[:, 4 * t : 4 * t + w] for t in range(FRAMES)])
    a, b = _photo("chelsea", SIZE), _photo("coffee", SIZE)
    cut = np.stack([a if t < FRAMES // 2 else b for t in range(FRAMES)])
    return [("plain_pan", pan), ("plain_cut", cut)]


def build_video_samples(out: Path) -> dict[str, Any]:
    """Write every clip (FFV1 .mkv) and the annotation files into ``out``; return the metadata written."""
    from tokbench.cache import atomic_write_bytes
    from tokbench.video.io import write_lossless

    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    text_records: list[dict[str, Any]] = []
    face_records: list[dict[str, Any]] = []
    names: list[str] = []
    for name, frames, anns in text_clips(rng):
        write_lossless(out / f"{name}.mkv", frames, FPS)
        names.append(name)
        h, w = frames.shape[1:3]
        for t, boxes in enumerate(anns):
            text_records.append(
                {
                    "file_name": f"{name}-frame{t + 1}.jpg",
                    "video_name": name,
                    "height": h,
                    "width": w,
                    "annotations": boxes,
                }
            )
    for name, frames, anns in face_clips():
        write_lossless(out / f"{name}.mkv", frames, FPS)
        names.append(name)
        h, w = frames.shape[1:3]
        face_records.append({"video_name": name, "video_height": h, "video_width": w, "frame_anns": anns})
    for name, frames in plain_clips():
        write_lossless(out / f"{name}.mkv", frames, FPS)
        names.append(name)
    (out / "text_video_samples.json").write_text(json.dumps(text_records, indent=1))
    (out / "face_video_samples.json").write_text(json.dumps(face_records, indent=1))
    meta = {"generator_version": GENERATOR_VERSION, "seed": SEED, "size": SIZE, "frames": FRAMES, "fps": FPS,
            "clips": names}  # fmt: skip
    atomic_write_bytes(out / "meta.json", json.dumps(meta, indent=1).encode())  # last: its presence = complete
    return meta
