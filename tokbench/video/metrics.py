"""Full-reference and temporal metrics of clips, on uint8 ``[T,H,W,3]`` arrays (data range 255).

- ``psnr_pooled``: one MSE over every frame, pixel and channel of a clip, then PSNR (NVIDIA TokenBench's
  per-video PSNR, ``token_bench/metrics_cli.py``); ``psnr_frames``: the mean of per-frame PSNRs ("APSNR",
  rust-av/av-metrics). Pooled <= frame mean (Jensen). Both capped at ``cap`` for identical content.
- ``ssim_frames``: SSIM per frame (tokbench's Gaussian 11x11 SSIM, :mod:`tokbench.metrics.image`), averaged;
  ``ssim_ms_ssim_frames`` adds MS-SSIM per frame (torchmetrics' 5-scale definition, sharing the first scale),
  averaged, or None when the short side is below 176 px (the fifth scale would not hold the 11-px window).
- ``lpips_frames``: LPIPS per frame (:mod:`tokbench.metrics.lpips_metric`, inputs in [-1,1]), averaged.
- ``td_mse``: temporal-difference error, the mean over t >= 1 and pixels of ((x_t - x_{t-1}) - (y_t - y_{t-1}))^2;
  zero when the reconstruction error is the same in every frame, so it isolates flicker and temporal
  smearing from static loss; ``tpsnr`` = 10 log10(255^2 / td_mse).
- ``flicker``: VBench's temporal-flickering score (Vchitect/VBench ``vbench/temporal_flickering.py``),
  (255 - mean |x_t - x_{t-1}|) / 255 per clip; for a reconstruction it is compared with the reference's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tokbench.metrics.image import MS_SSIM_MIN_SIDE, psnr_from_mse, ssim, ssim_and_ms_ssim

RANGE = 255.0


def _check(ref: np.ndarray, rec: np.ndarray) -> None:
    if ref.shape != rec.shape or ref.ndim != 4 or ref.shape[-1] != 3:
        raise ValueError(f"clips must be [T,H,W,3] of one shape, got {ref.shape} and {rec.shape}")


def frame_mse(ref: np.ndarray, rec: np.ndarray) -> np.ndarray:
    """MSE of each frame, float64 ``[T]``."""
    _check(ref, rec)
    out = np.empty(ref.shape[0])
    for t in range(ref.shape[0]):  # one frame at a time: memory is one frame of float64
        d = ref[t].astype(np.float64) - rec[t].astype(np.float64)
        out[t] = float(np.mean(d * d))
    return out


def psnr_pooled(ref: np.ndarray, rec: np.ndarray, cap: float = 100.0) -> float:
    return psnr_from_mse(float(np.mean(frame_mse(ref, rec))), RANGE, cap)  # equal-sized frames: mean of means


def psnr_frames(ref: np.ndarray, rec: np.ndarray, cap: float = 100.0) -> float:
    return float(np.mean([psnr_from_mse(m, RANGE, cap) for m in frame_mse(ref, rec)]))


def ssim_frames(ref: np.ndarray, rec: np.ndarray) -> float:
    _check(ref, rec)
    return float(np.mean([ssim(ref[t].astype(np.float64), rec[t].astype(np.float64), RANGE) for t in range(len(ref))]))


def ssim_ms_ssim_frames(ref: np.ndarray, rec: np.ndarray) -> tuple[float, float | None]:
    """Mean per-frame SSIM and mean per-frame MS-SSIM (None when frames are below 176 px)."""
    _check(ref, rec)
    pairs = [ssim_and_ms_ssim(ref[t], rec[t], RANGE) for t in range(len(ref))]
    ms = [m for _, m in pairs if m is not None]
    return float(np.mean([s for s, _ in pairs])), (float(np.mean(ms)) if len(ms) == len(pairs) else None)


def ms_ssim_too_small(shape: tuple[int, ...]) -> str | None:
    """Why a clip of ``[T,H,W,3]`` frames gets no MS-SSIM, or None when it does."""
    if min(shape[1:3]) >= MS_SSIM_MIN_SIDE:
        return None
    return (
        f"frames of {shape[2]}x{shape[1]} are below MS-SSIM's {MS_SSIM_MIN_SIDE}-px short side "
        "(5 scales, 11-px window: torchmetrics' minimum)"
    )


def lpips_frames(model: Any, ref: np.ndarray, rec: np.ndarray, batch_size: int = 16) -> float:
    """Mean over frames of LPIPS(ref_t, rec_t) with an ``lpips.LPIPS`` model (uint8 frames in)."""
    from tokbench.metrics.lpips_metric import lpips_of_arrays

    _check(ref, rec)
    return float(np.mean(lpips_of_arrays(model, list(ref), list(rec), batch_size)))


def td_mse(ref: np.ndarray, rec: np.ndarray) -> float | None:
    """Temporal-difference MSE; None for a single frame."""
    _check(ref, rec)
    if ref.shape[0] < 2:
        return None
    total = 0.0
    for t in range(1, ref.shape[0]):
        dx = ref[t].astype(np.float64) - ref[t - 1].astype(np.float64)
        dy = rec[t].astype(np.float64) - rec[t - 1].astype(np.float64)
        total += float(np.mean((dx - dy) ** 2))
    return total / (ref.shape[0] - 1)


def tpsnr(td: float | None, cap: float = 100.0) -> float | None:
    return None if td is None else psnr_from_mse(td, RANGE, cap)


def flicker(clip: np.ndarray) -> float | None:
    """VBench's flicker score in [0,1] (1 = no change between frames); None for a single frame."""
    if clip.shape[0] < 2:
        return None
    mad = [
        float(np.mean(np.abs(clip[t].astype(np.float64) - clip[t - 1].astype(np.float64)))) for t in range(1, len(clip))
    ]
    return (RANGE - math.fsum(mad) / len(mad)) / RANGE
