"""Cut text crops at ground-truth geometry, as TokBench does, with every problem counted.

TokBench (docTR ``crop_bboxes_from_image``) casts each ``bbox`` to int (truncation, via float32) and
then either slices an axis-aligned box ``img[y0:y1, x0:x1]`` (4 numbers: xmin, ymin, xmax, ymax) or
cuts a rotated crop from a 4-point polygon: the affine map sending the first three points to
(0, 0), (w-1, 0), (w-1, h-1), with w = int(|p0p1|) and h = int(|p1p2|), bilinear, black outside.
Here the same geometry is used, but a box reaching outside the image is clipped to it and flagged
(TokBench's slicing would wrap negative starts around), and a crop that cannot be made is returned
with a short, stable ``skip`` reason instead of crashing or being dropped silently. Polygons may be
given as 4 ``[x, y]`` pairs or 8 flat numbers; any other point count is rejected with a reason.

Hostile geometry is bounded by the image: a coordinate beyond ``MAX_COORDINATE`` is unreadable (it
would overflow TokBench's float32/int cast), and a polygon with a side longer than the image's
diagonal (it must reach outside the image) is cut only where it can sample the image and flagged
``clipped``, so its size never sets the memory used. Polygons within the diagonal are cut exactly as
TokBench does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

# stable skip reasons (the runner counts records by reason)
BAD_GEOMETRY = "unreadable bbox"
BAD_POLYGON = "polygon needs 4 points"
ZERO_AREA = "zero-area box"
OUTSIDE = "box outside the image"
DEGENERATE = "degenerate polygon"
TOO_LARGE = "polygon larger than the image"

# Far beyond any image side tokbench reads (MAX_PIXELS bounds them), and small enough that the
# float32 cast (inf from 3.4e38) and int64 arrays (9.2e18) cannot overflow.
MAX_COORDINATE = 2**31


@dataclass
class Crop:
    """A crop, or why there is none. ``clipped``: the geometry reached outside the image."""

    image: np.ndarray | None
    kind: str  # "box" | "polygon" | "?"
    clipped: bool = False
    skip: str | None = None
    detail: str = ""


class GeometryError(ValueError):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def _num(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise GeometryError(BAD_GEOMETRY, f"non-numeric coordinate {value!r:.40}")
    try:
        number = float(value)
    except OverflowError:  # a JSON integer with hundreds of digits
        bits = int(value).bit_length()
        raise GeometryError(BAD_GEOMETRY, f"integer coordinate of {bits} bits out of range") from None
    if not math.isfinite(number):
        raise GeometryError(BAD_GEOMETRY, f"non-finite coordinate {value!r}")
    if abs(number) > MAX_COORDINATE:
        raise GeometryError(BAD_GEOMETRY, f"coordinate {number:g} out of range (|value| > 2**31)")
    return number


def _to_int(value: float) -> int:
    """TokBench's cast: float32, then truncation toward zero."""
    return int(np.float32(value))


def parse_geometry(bbox: Any) -> tuple[str, np.ndarray]:
    """-> ("box", int array [x0, y0, x1, y1]) or ("polygon", int array [4, 2]); GeometryError otherwise."""
    if isinstance(bbox, np.ndarray):
        bbox = bbox.tolist()
    if not isinstance(bbox, (list, tuple)) or not bbox:
        raise GeometryError(BAD_GEOMETRY, f"expected a list of numbers or points, got {type(bbox).__name__}")
    if all(isinstance(p, (list, tuple, np.ndarray)) for p in bbox):
        if not all(len(p) == 2 for p in bbox):
            raise GeometryError(BAD_GEOMETRY, "polygon points must be [x, y] pairs")
        points = [[_num(p[0]), _num(p[1])] for p in bbox]
        if len(points) != 4:
            raise GeometryError(BAD_POLYGON, f"got {len(points)} points")
        return "polygon", np.array([[_to_int(x), _to_int(y)] for x, y in points], dtype=np.int64)
    values = [_num(v) for v in bbox]
    if len(values) == 4:
        return "box", np.array([_to_int(v) for v in values], dtype=np.int64)
    if len(values) == 8:
        return "polygon", np.array([_to_int(v) for v in values], dtype=np.int64).reshape(4, 2)
    if len(values) % 2 == 0 and len(values) >= 6:
        raise GeometryError(BAD_POLYGON, f"got {len(values) // 2} points")
    raise GeometryError(BAD_GEOMETRY, f"expected 4 numbers (box) or 4 points (polygon), got {len(values)} numbers")


def crop_box(img: np.ndarray, box: np.ndarray) -> Crop:
    """``img[y0:y1, x0:x1]`` with the box clipped to the image (and flagged if it had to be)."""
    height, width = img.shape[:2]
    x0, y0, x1, y1 = (int(v) for v in box)
    if x1 <= x0 or y1 <= y0:
        return Crop(None, "box", skip=ZERO_AREA, detail=f"box {[x0, y0, x1, y1]}")
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    clipped = (cx0, cy0, cx1, cy1) != (x0, y0, x1, y1)
    if cx1 <= cx0 or cy1 <= cy0:
        return Crop(None, "box", clipped=True, skip=OUTSIDE, detail=f"box {[x0, y0, x1, y1]} in {width}x{height}")
    return Crop(np.ascontiguousarray(img[cy0:cy1, cx0:cx1]), "box", clipped=clipped)


def affine_from_points(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 affine matrix mapping three ``src`` points exactly onto three ``dst`` points."""
    a = np.hstack([np.asarray(src, dtype=np.float64), np.ones((3, 1))])
    return np.linalg.solve(a, np.asarray(dst, dtype=np.float64)).T


def warp_affine(
    img: np.ndarray, inverse: np.ndarray, size: tuple[int, int], origin: tuple[int, int] = (0, 0)
) -> np.ndarray:
    """Bilinear warp: output pixel (u, v) samples ``img`` at ``inverse @ (u, v, 1)``; zeros outside.

    Pixel centres sit on integer coordinates (OpenCV's ``warpAffine`` convention with a constant 0
    border). ``size`` is (width, height); ``origin`` (u0, v0) makes the output the window
    ``[u0, u0 + width) x [v0, v0 + height)`` of the full warp. Returns the input's dtype (uint8
    rounded half up).
    """
    out_w, out_h = size
    u0, v0 = origin
    height, width = img.shape[:2]
    u, v = np.meshgrid(np.arange(u0, u0 + out_w, dtype=np.float64), np.arange(v0, v0 + out_h, dtype=np.float64))
    x = inverse[0, 0] * u + inverse[0, 1] * v + inverse[0, 2]
    y = inverse[1, 0] * u + inverse[1, 1] * v + inverse[1, 2]
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    x0i, y0i = x0.astype(np.int64), y0.astype(np.int64)
    src = img if img.ndim == 3 else img[..., None]
    out = np.zeros((out_h, out_w, src.shape[2]), dtype=np.float64)
    corners = ((0, 0, (1 - fx) * (1 - fy)), (0, 1, fx * (1 - fy)), (1, 0, (1 - fx) * fy), (1, 1, fx * fy))
    for dy, dx, weight in corners:
        xi, yi = x0i + dx, y0i + dy
        inside = ((xi >= 0) & (xi < width) & (yi >= 0) & (yi < height))[..., None]
        values = src[np.clip(yi, 0, height - 1), np.clip(xi, 0, width - 1)].astype(np.float64)
        out += np.where(inside, values, 0.0) * weight
    if np.issubdtype(img.dtype, np.integer):
        info = np.iinfo(img.dtype)
        out = np.clip(np.floor(out + 0.5), info.min, info.max)
    out = out.astype(img.dtype)
    return out if img.ndim == 3 else out[..., 0]


def crop_polygon(img: np.ndarray, poly: np.ndarray) -> Crop:
    """Rotated crop of a 4-point polygon (TokBench/docTR geometry: points 0, 1, 2 define the frame)."""
    height, width = img.shape[:2]
    pts = np.asarray(poly, dtype=np.float64)
    d1 = float(np.hypot(*(pts[0] - pts[1])))
    d2 = float(np.hypot(*(pts[1] - pts[2])))
    out_w, out_h = int(d1), int(d2)
    if out_w < 1 or out_h < 1:
        return Crop(None, "polygon", skip=ZERO_AREA, detail=f"polygon {pts.astype(int).tolist()}")
    e1, e2 = pts[1] - pts[0], pts[2] - pts[1]
    if abs(e1[0] * e2[1] - e1[1] * e2[0]) < 1e-9:
        return Crop(None, "polygon", skip=DEGENERATE, detail=f"polygon {pts.astype(int).tolist()}")
    xs, ys = pts[:, 0], pts[:, 1]
    if xs.max() < 0 or ys.max() < 0 or xs.min() > width - 1 or ys.min() > height - 1:
        return Crop(
            None,
            "polygon",
            clipped=True,
            skip=OUTSIDE,
            detail=f"polygon {pts.astype(int).tolist()} in {width}x{height}",
        )
    clipped = bool(xs.min() < 0 or ys.min() < 0 or xs.max() > width - 1 or ys.max() > height - 1)
    dst = np.array([[0.0, 0.0], [d1 - 1, 0.0], [d1 - 1, d2 - 1]])
    inverse = affine_from_points(dst, pts[:3])
    diagonal = math.ceil(math.hypot(width, height))
    if out_w <= diagonal and out_h <= diagonal:  # always so for a polygon inside the image: TokBench's crop
        return Crop(warp_affine(img, inverse, (out_w, out_h)), "polygon", clipped=clipped)
    # A side longer than the diagonal reaches outside the image, and the full crop would cost memory
    # in proportion to the polygon (a 6000 px square on a 64x64 image: gigabytes). Keep only the
    # window of output pixels that can sample the image; everything else would be black.
    window = _image_window(affine_from_points(pts[:3], dst), width, height, out_w, out_h)
    where = f"polygon {pts.astype(np.int64).tolist()} in {width}x{height}"
    if window is None:
        return Crop(None, "polygon", clipped=True, skip=OUTSIDE, detail=where)
    u0, v0, u1, v1 = window
    if u1 - u0 > diagonal + 4 or v1 - v0 > diagonal + 4:  # a sheared frame: still larger than the image
        return Crop(None, "polygon", clipped=True, skip=TOO_LARGE, detail=f"{where}: crop {out_w}x{out_h}")
    return Crop(warp_affine(img, inverse, (u1 - u0, v1 - v0), (u0, v0)), "polygon", clipped=True)


def _image_window(
    forward: np.ndarray, width: int, height: int, out_w: int, out_h: int
) -> tuple[int, int, int, int] | None:
    """(u0, v0, u1, v1): the output pixels whose bilinear samples can touch the image; None if none."""
    # a sample has weight inside the image only for x in (-1, width) and y in (-1, height)
    corners = np.array([[-1.0, -1.0, 1.0], [width, -1.0, 1.0], [width, height, 1.0], [-1.0, height, 1.0]])
    uv = corners @ forward.T
    u0, v0 = (max(0, math.floor(float(uv[:, k].min()))) for k in (0, 1))
    u1 = min(out_w, math.ceil(float(uv[:, 0].max())) + 1)
    v1 = min(out_h, math.ceil(float(uv[:, 1].max())) + 1)
    return None if u1 <= u0 or v1 <= v0 else (u0, v0, u1, v1)


def cut(img: np.ndarray, bbox: Any) -> Crop:
    """Crop ``img`` at a TokBench ``bbox`` (4-number box or 4-point polygon)."""
    try:
        kind, geometry = parse_geometry(bbox)
    except GeometryError as e:
        return Crop(None, "?", skip=e.reason, detail=e.detail)
    return crop_box(img, geometry) if kind == "box" else crop_polygon(img, geometry)
