"""Full-reference image metrics on float64 arrays ``[H,W]`` or ``[H,W,C]``.

SSIM follows Wang et al. 2004 with an 11x11 Gaussian window (sigma 1.5, truncated at 3.5
sigma), K1=0.01, K2=0.03, population covariances, the mean taken over the valid region
(5-pixel border excluded) and over channels: the conventions of
``skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
use_sample_covariance=False)``, against which it is tested. Local variances are clamped at 0 as
torchmetrics does (skimage does not; they differ only where rounding makes a variance negative).
MS-SSIM follows torchmetrics' definition and is tested against it.
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


def _blur(x: np.ndarray) -> np.ndarray:
    # separable Gaussian over the two spatial axes only (sigma 0 leaves channels apart); "mirror" is
    # torch's "reflect" padding, which decides the border values of torchmetrics' full-image SSIM
    sigma = (SIGMA, SIGMA) + (0.0,) * (x.ndim - 2)
    return gaussian_filter(x, sigma, truncate=TRUNCATE, mode="mirror")


def _ssim_maps(a: np.ndarray, b: np.ndarray, data_range: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel SSIM and contrast-structure maps of ``[H,W,C]`` arrays (variances clamped at 0)."""
    mu_a, mu_b = _blur(a), _blur(b)
    mu_aa, mu_bb, mu_ab = mu_a * mu_a, mu_b * mu_b, mu_a * mu_b
    var_a = np.maximum(_blur(a * a) - mu_aa, 0.0)
    var_b = np.maximum(_blur(b * b) - mu_bb, 0.0)
    cov = _blur(a * b) - mu_ab
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    cs = (2 * cov + c2) / (var_a + var_b + c2)
    return (2 * mu_ab + c1) / (mu_aa + mu_bb + c1) * cs, cs


_PAD = int(TRUNCATE * SIGMA + 0.5)  # 5: pixels whose window reaches past the image border


def _inner(m: np.ndarray) -> np.ndarray:
    if m.shape[0] > 2 * _PAD and m.shape[1] > 2 * _PAD:
        return m[_PAD:-_PAD, _PAD:-_PAD]
    return m


def _as_hwc(a: np.ndarray) -> np.ndarray:
    return a[..., None] if a.ndim == 2 else a


def ssim(a: np.ndarray, b: np.ndarray, data_range: float) -> float:
    """Mean SSIM over channels of two same-shaped arrays."""
    if a.shape != b.shape:
        raise ValueError(f"ssim: shapes differ {a.shape} vs {b.shape}")
    s, _ = _ssim_maps(_as_hwc(a), _as_hwc(b), data_range)
    return float(_inner(s).mean())


MS_SSIM_BETAS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
MS_SSIM_MIN_SIDE = 176  # torchmetrics' rule: side // 16 > 10, so the 5th scale still holds an 11-px window


def _halve(x: np.ndarray) -> np.ndarray:
    """2x2 average pooling, dropping an odd last row/column (torch's avg_pool2d)."""
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    x = x[:h, :w]
    return (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2]) / 4


def ssim_and_ms_ssim(a: np.ndarray, b: np.ndarray, data_range: float) -> tuple[float, float | None]:
    """SSIM (skimage's conventions) and MS-SSIM (torchmetrics' definition) sharing the first scale.

    MS-SSIM: five scales, 2x2 average pooling between them, the standard weights, contrast-structure
    means over the valid region, the last scale's SSIM over the whole reflect-padded image, negatives
    clipped to 0 (torchmetrics' default ``normalize="relu"``); None below 176 px.
    """
    if a.shape != b.shape:
        raise ValueError(f"ssim: shapes differ {a.shape} vs {b.shape}")
    a, b = _as_hwc(a), _as_hwc(b)
    s, cs = _ssim_maps(a, b, data_range)
    single = float(_inner(s).mean())
    if min(a.shape[:2]) < MS_SSIM_MIN_SIDE:
        return single, None
    value = 1.0
    for i, beta in enumerate(MS_SSIM_BETAS):
        if i:
            a, b = _halve(a), _halve(b)
            s, cs = _ssim_maps(a, b, data_range)
        last = i == len(MS_SSIM_BETAS) - 1
        term = float(s.mean()) if last else float(_inner(cs).mean())
        value *= max(term, 0.0) ** beta
    return single, value


def ms_ssim(a: np.ndarray, b: np.ndarray, data_range: float) -> float | None:
    """torchmetrics' 5-scale MS-SSIM of ``[H,W,C]`` arrays, or None below 176 px."""
    return ssim_and_ms_ssim(a, b, data_range)[1]
