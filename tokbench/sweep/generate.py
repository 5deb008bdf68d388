"""The sweep set: text and faces at controlled sizes on the tokenizer's patch grid, reproducible bit for bit.

For a canvas side S and a patch grid p (the tokenizer's ``downsample``), every instance gets a cell whose
sides are multiples of p, cells are shelf-packed from the canvas origin (so cell corners lie on grid
lines), and the instance is drawn one patch in from its cell corner, plus its phase offset: (0, 0) for
``aligned`` (cap top / head-patch corner on a grid line) or a seeded random sub-patch offset in
[1, p-1] on each axis for ``offset``. Images are S x S, so the canvas the tokenizer sees is the image
itself (no resize) and every size below is in canvas pixels.

- text: words from a fixed vocabulary (lower, upper and mixed case, digits, short numbers; no l/I/O/0/1,
  which the OCR confuses even when large), DejaVu Sans and Serif (matplotlib's copies), cap heights
  log-spaced over 3..40 px, dark ink on light fills and light ink on dark ones, flat or on a scikit-image
  photo; the box is the ink box plus 12 % of the ink height.
- faces: the ``samples`` source faces (tokbench.samples.faces), scaled so the inter-ocular distance runs
  log-spaced over 4..96 px, on flat grey or photo backgrounds, with their 5 keypoints mapped exactly; each
  identity's reference (its source photo at native size) is part of the set.

Everything random comes from one ``numpy.random.default_rng(seed)``; the set's sha256 covers its
parameters, every image's pixels and every annotation.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tokbench.errors import ConfigError
from tokbench.hashing import sha256_bytes
from tokbench.sweep import draw

GENERATOR_VERSION = "1"
TEXT_RANGE = (3.0, 40.0)
FACE_RANGE = (4.0, 96.0)
# steps per range, instances per (size, phase): text cycles 2 fonts x 4 backgrounds, faces 2 identities
# x 2 backgrounds (x mirrored in the dense sweep)
DENSITY = {"default": (12, 8, 4), "dense": (24, 16, 8)}
TEXT_BACKGROUNDS = ("flat-light", "flat-dark", "photo-light", "photo-dark")
FACE_BACKGROUNDS = ("flat", "photo")
PHASES = ("aligned", "offset")
WORDS = (
    "river", "Stone", "garden", "Tokyo", "window", "candy", "Grape", "harbor", "tiger", "Mango",
    "Berry", "ocean", "Zebra", "copper", "PARK", "WATER", "Summit", "vector", "radar", "Snack",
    "quest", "NORTH", "Vapor", "jump", "seven", "Fresh", "DRAGON", "Cedar", "Hawk", "mask",
    "7245", "3586", "2749", "865", "9032", "A27", "B52", "K9", "X4Q", "Gate2", "Zone3", "Mode7", "R2D",
    "Ex92", "Go84",
)  # fmt: skip


@dataclass(frozen=True)
class SweepSpec:
    """What a sweep set is made from: canvas side, patch grid, seed, density and kinds."""

    size: int
    grid: int
    seed: int = 0
    density: str = "default"
    kinds: tuple[str, ...] = ("text", "face")

    def __post_init__(self) -> None:
        if self.density not in DENSITY:
            raise ConfigError(f"sweep: density must be one of {', '.join(DENSITY)}, got {self.density!r}")
        bad = set(self.kinds) - {"text", "face"}
        if bad or not self.kinds:
            raise ConfigError(f"sweep: kinds must be text and/or face, got {','.join(self.kinds) or 'nothing'}")
        if self.grid < 1 or self.size < 6 * self.grid:
            raise ConfigError(f"sweep: canvas {self.size} too small for a {self.grid}-pixel patch grid")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "kinds": list(self.kinds), "generator": GENERATOR_VERSION}


def sizes(kind: str, density: str) -> list[float]:
    lo, hi = TEXT_RANGE if kind == "text" else FACE_RANGE
    return [round(float(v), 4) for v in np.geomspace(lo, hi, DENSITY[density][0])]


def _up(value: float, p: int) -> int:
    return int(math.ceil(value / p) * p)


def _offset(rng: np.random.Generator, phase: str, p: int) -> tuple[int, int]:
    if phase == "aligned" or p < 2:
        return 0, 0
    ox, oy = rng.integers(1, p, 2)
    return int(ox), int(oy)


def _text_plan(spec: SweepSpec, rng: np.random.Generator) -> list[dict[str, Any]]:
    p, per = spec.grid, DENSITY[spec.density][1]
    plan = []
    for level, cap in enumerate(sizes("text", spec.density)):
        for phase in PHASES:
            for j in range(per):
                font = ("sans", "serif")[j % 2]
                bg = TEXT_BACKGROUNDS[(j // 2) % len(TEXT_BACKGROUNDS)]

                def cell(word: str, font: str = font, cap: float = cap) -> tuple[int, int]:
                    _, _, x1, y1 = draw.word_extent(word, font, cap)
                    pad = max(1, round(draw.BOX_PAD * cap))
                    return _up(3 * p + x1 + pad, p), _up(3 * p + math.ceil(cap) + y1 + pad, p)

                fitting = [w for w in WORDS if cell(w)[0] <= spec.size and cell(w)[1] <= spec.size]
                if not fitting:
                    raise ConfigError(f"sweep: no word fits a {spec.size}-pixel canvas at cap height {cap}")
                word = fitting[int(rng.integers(len(fitting)))]
                plan.append(
                    {
                        "kind": "text",
                        "rec": word,
                        "size": cap,
                        "level": level,
                        "phase": phase,
                        "font": font,
                        "background": bg,
                        "ink": "dark" if bg.endswith("light") else "light",
                        "offset": _offset(rng, phase, p),
                        "cell": cell(word),
                    }
                )
    return plan


def _face_plan(spec: SweepSpec, rng: np.random.Generator, sources: list[Any]) -> list[dict[str, Any]]:
    p, per = spec.grid, DENSITY[spec.density][2]
    limit = spec.size - 3 * p
    plan = []
    for level, iod in enumerate(sizes("face", spec.density)):
        for phase in PHASES:
            for j in range(per):
                source = sources[j % len(sources)]
                mirror = bool((j // (2 * len(sources))) % 2)
                image, kps = _mirrored(source, mirror)
                patch = draw.face_patch(image, kps, _box(source, mirror, image.shape[1]), iod, limit)
                h, w = patch["rgb"].shape[:2]
                plan.append(
                    {
                        "kind": "face",
                        "identity": source.identity,
                        "mirror": mirror,
                        "size": iod,
                        "level": level,
                        "phase": phase,
                        "background": FACE_BACKGROUNDS[(j // len(sources)) % 2],
                        "offset": _offset(rng, phase, p),
                        "cell": (_up(w + 3 * p, p), _up(h + 3 * p, p)),
                        "_patch": patch,
                    }
                )
    return plan


def _mirrored(source: Any, mirror: bool) -> tuple[np.ndarray, np.ndarray]:
    """The source photo and keypoints, flipped left-right when ``mirror`` (ArcFace order kept: the eye
    and mouth corner on the image's left come first)."""
    if not mirror:
        return source.image, np.asarray(source.kps, dtype=np.float64)
    w = source.image.shape[1]
    kps = np.asarray(source.kps, dtype=np.float64).copy()
    kps[:, 0] = w - 1 - kps[:, 0]
    return np.ascontiguousarray(source.image[:, ::-1]), kps[[1, 0, 2, 4, 3]]


def _box(source: Any, mirror: bool, width: int) -> tuple[int, ...]:
    x0, y0, x1, y1 = source.box
    return (width - x1, y0, width - x0, y1) if mirror else (x0, y0, x1, y1)


def _pack(plan: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    """Shelf-pack cells (sides multiples of p) into S x S canvases, tallest first; sets each ``at``."""
    canvases: list[list[dict[str, Any]]] = []
    x = y = shelf = size  # forces a new canvas for the first cell
    for inst in sorted(plan, key=lambda i: -i["cell"][1]):
        w, h = inst["cell"]
        if x + w > size:
            x, y, shelf = 0, y + shelf, h
        if y + h > size:
            canvases.append([])
            x, y, shelf = 0, 0, h
        inst["at"] = (x, y)
        canvases[-1].append(inst)
        x += w
    return canvases


def _render(group: list[dict[str, Any]], spec: SweepSpec, bg: str, photo: str) -> tuple[np.ndarray, list[Any]]:
    p = spec.grid
    canvas = draw.background(bg, spec.size, photo)
    out = []
    for inst in group:
        (cx, cy), (ox, oy) = inst["at"], inst["offset"]
        ann = {k: v for k, v in inst.items() if not k.startswith("_") and k not in ("cell", "at", "kind")}
        ann["offset"] = [ox, oy]
        if inst["kind"] == "text":
            x, y = cx + p + ox, cy + p + math.ceil(inst["size"]) + oy
            ann["bbox"] = draw.draw_word(canvas, inst["rec"], inst["font"], inst["size"], inst["ink"], x, y)
        else:
            kps = draw.paste(canvas, inst["_patch"], cx + p + ox, cy + p + oy)
            ann["kps"] = kps
            ann["size"] = round(float(np.hypot(*np.subtract(kps[1], kps[0]))), 4)  # exact, after rounding
            ann["nominal_size"] = inst["size"]
        out.append(ann)
    return canvas, out


def pixels_sha256(img: np.ndarray) -> str:
    return sha256_bytes(f"{img.shape}|{img.dtype}|".encode() + np.ascontiguousarray(img).tobytes())


def build(spec: SweepSpec, folder: Path) -> dict[str, Any]:
    """Write the set's PNGs into ``folder`` and return its description (also written as ``set.json``)."""
    from PIL import Image

    t0 = time.process_time()
    rng = np.random.default_rng(spec.seed)
    folder.mkdir(parents=True, exist_ok=True)
    images: list[dict[str, Any]] = []
    references: list[dict[str, Any]] = []
    groups: list[tuple[str, str, list[dict[str, Any]]]] = []
    if "text" in spec.kinds:
        plan = _text_plan(spec, rng)
        groups += [("text", bg, [i for i in plan if i["background"] == bg]) for bg in TEXT_BACKGROUNDS]
    if "face" in spec.kinds:
        from tokbench.samples.faces import source_faces

        sources = source_faces()
        plan = _face_plan(spec, rng, sources)
        groups += [("face", bg, [i for i in plan if i["background"] == bg]) for bg in FACE_BACKGROUNDS]
        for source in sources:
            for mirror in sorted({i["mirror"] for i in plan}):
                image, kps = _mirrored(source, mirror)
                name = f"ref_{source.identity}{'_mirrored' if mirror else ''}.png"
                Image.fromarray(image).save(folder / name)
                references.append(
                    {"file": name, "identity": source.identity, "mirror": mirror, "kps": np.round(kps, 4).tolist(),
                     "sha256": pixels_sha256(image)}
                )  # fmt: skip
    for kind, bg, plan in groups:
        for k, group in enumerate(_pack(plan, spec.size)):
            photo = draw.PHOTOS[k % len(draw.PHOTOS)]
            canvas, anns = _render(group, spec, bg, photo)
            name = f"{kind}_{bg}_{k:02d}.png"
            Image.fromarray(canvas).save(folder / name)
            key = "text" if kind == "text" else "faces"
            images.append({"file": name, "kind": kind, "background": bg, "photo": photo if "photo" in bg else None,
                           "sha256": pixels_sha256(canvas), key: anns})  # fmt: skip
    desc: dict[str, Any] = {"spec": spec.to_dict(), "images": images, "references": references}
    desc["environment"] = _environment()
    desc["set_sha256"] = sha256_bytes(json.dumps(desc, sort_keys=True).encode())
    desc["instances"] = {k: sum(len(i.get(k, [])) for i in images) for k in ("text", "faces")}
    desc["generation_cpu_s"] = round(time.process_time() - t0, 3)
    (folder / "set.json").write_text(json.dumps(desc, indent=1, sort_keys=True))
    return desc


def _environment() -> dict[str, Any]:
    """What the pixels depend on beyond the spec: the rasteriser, resampler, photos and fonts."""
    from importlib.metadata import version

    from PIL import features

    from tokbench.hashing import sha256_file

    return {
        "pillow": version("pillow"),
        "freetype": features.version("freetype2"),
        "scikit-image": version("scikit-image"),
        "fonts": {kind: sha256_file(draw.font_path(kind)) for kind in draw.FONTS},
    }
