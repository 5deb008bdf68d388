"""Face alignment from 5 ground-truth keypoints onto the 112x112 ArcFace template.

Keypoint order (ArcFace / InsightFace convention, image left to right): left eye centre, right eye
centre, nose tip, left mouth corner, right mouth corner. The similarity transform (rotation, uniform
scale, translation) is the least-squares fit of Umeyama (1991), written here from the paper: it is
computed once per face from the ground-truth keypoints and applied to both the original and the
reconstruction, so a reconstruction is never re-detected. The warp is bilinear with a black border,
OpenCV's ``warpAffine`` convention, as InsightFace's ``norm_crop`` uses.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tokbench.data.crops import warp_affine

#: ArcFace 5-point template for a 112x112 crop (the standard InsightFace ``arcface_dst``).
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
)
ARCFACE_SIZE = 112


class BadKeypoints(ValueError):
    """Keypoints that cannot define an alignment; ``reason`` is short and stable."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def parse_kps(kps: Any) -> np.ndarray:
    """A TokBench ``kps`` value -> float array [5, 2]; BadKeypoints if it is not 5 finite points."""
    try:
        arr = np.asarray(kps, dtype=np.float64)
    except (TypeError, ValueError):
        raise BadKeypoints("unreadable kps", f"{kps!r:.80}") from None
    if arr.ndim == 1 and arr.size == 10:
        arr = arr.reshape(5, 2)
    if arr.shape != (5, 2):
        raise BadKeypoints("kps must be 5 points", f"shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise BadKeypoints("unreadable kps", "non-finite value")
    return arr


def umeyama(src: np.ndarray, dst: np.ndarray, with_scale: bool = True) -> np.ndarray:
    """3x3 homogeneous similarity T minimising sum ||dst_i - T(src_i)||^2 (Umeyama 1991, eq. 40-42)."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    n, dim = src.shape
    mu_src, mu_dst = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - mu_src, dst - mu_dst
    cov = dst_c.T @ src_c / n
    u, s, vt = np.linalg.svd(cov)
    rank = np.linalg.matrix_rank(cov)
    var_src = (src_c**2).sum() / n
    if rank == 0 or var_src == 0:
        raise BadKeypoints("degenerate kps", "all points coincide")
    d = np.ones(dim)
    if rank == dim - 1:  # collinear points: the sign comes from U and V (Umeyama eq. 43)
        if np.linalg.det(u) * np.linalg.det(vt) < 0:
            d[-1] = -1.0
    elif np.linalg.det(cov) < 0:
        d[-1] = -1.0
    rotation = u @ np.diag(d) @ vt
    scale = float((s * d).sum() / var_src) if with_scale else 1.0
    t = np.eye(dim + 1)
    t[:dim, :dim] = scale * rotation
    t[:dim, dim] = mu_dst - scale * rotation @ mu_src
    return t


def arcface_matrix(kps: Any, size: int = ARCFACE_SIZE) -> np.ndarray:
    """2x3 forward matrix (image -> crop) aligning 5 keypoints to the ArcFace template at ``size``."""
    points = parse_kps(kps)
    template = ARCFACE_TEMPLATE * (size / ARCFACE_SIZE)
    return umeyama(points, template)[:2]


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    full = np.vstack([matrix, [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    return pts @ matrix[:, :2].T + matrix[:, 2]


def align(img: np.ndarray, matrix: np.ndarray, size: int = ARCFACE_SIZE) -> np.ndarray:
    """Warp ``img`` with the forward 2x3 ``matrix`` into a ``size`` x ``size`` crop."""
    return warp_affine(img, invert_affine(matrix), (size, size))
