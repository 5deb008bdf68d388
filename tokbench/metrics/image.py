"""Full-reference image metrics on float64 arrays ``[H,W]`` or ``[H,W,C]``.

SSIM follows Wang et al. 2004 with an 11x11 Gaussian window (sigma 1.5, truncated at 3.5
sigma), K1=0.01, K2=0.03, population covariances, the mean taken over the valid region
(5-pixel border excluded) and over channels: the conventions of
``skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
use_sample_covariance=False)``, against which it is tested.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import gaussian_filter

SIGMA = 1.5
TRUNCATE = 3.5
K1, K2 = 0.01, 0.03


def psnr_from_mse(mse: float, data_range: float, cap: float) -> float:
    """PSNR in dB; identical images (mse 0) get ``cap`` instead of infinity."""
    if mse <= 0:
        return float(cap)
    return min(float(cap), 10.0 * math.log10(data_range**2 / mse))


def to_luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of RGB values (same range as the input), as ``[H,W,1]``."""
    y = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
    return y[..., None]


def _ssim_channel(a: np.ndarray, b: np.ndarray, data_range: float) -> float:
    def blur(x: np.ndarray) -> np.ndarray:
        return gaussian_filter(x, SIGMA, truncate=TRUNCATE, mode="reflect")

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    pad = int(TRUNCATE * SIGMA + 0.5)
    if s.shape[0] > 2 * pad and s.shape[1] > 2 * pad:
        s = s[pad:-pad, pad:-pad]
    return float(s.mean())


def ssim(a: np.ndarray, b: np.ndarray, data_range: float) -> float:
    """Mean SSIM over channels of two same-shaped arrays."""
    if a.shape != b.shape:
        raise ValueError(f"ssim: shapes differ {a.shape} vs {b.shape}")
    if a.ndim == 2:
        return _ssim_channel(a, b, data_range)
    return float(np.mean([_ssim_channel(a[..., c], b[..., c], data_range) for c in range(a.shape[-1])]))


MS_SSIM_MIN_SIDE = 161  # (11 - 1) * 2**4 + 1: five scales of an 11-px window


def ms_ssim(a: np.ndarray, b: np.ndarray, data_range: float) -> float | None:
    """torchmetrics' 5-scale MS-SSIM of ``[H,W,C]`` arrays, or None below 161 px."""
    if min(a.shape[:2]) < MS_SSIM_MIN_SIDE:
        return None
    import torch
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure

    # float32, not float64: torch's CPU conv2d has no fast float64 path (5 s vs 0.1 s per 1-MP image),
    # and uint8-valued inputs lose nothing that matters at float32 (|diff| < 1e-5, tested)
    ta = torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None].float()
    tb = torch.from_numpy(np.ascontiguousarray(b.transpose(2, 0, 1)))[None].float()
    value = multiscale_structural_similarity_index_measure(tb, ta, data_range=data_range)
    return float(value)
