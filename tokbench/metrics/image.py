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


def _as_hwc(a: np.ndarray) -> np.ndarray:
    return a[..., None] if a.ndim == 2 else a


# Float64 working set per strip: images up to this many values (1024 x 1024 RGB) are one strip, computed
# whole; larger ones go in strips of rows with a halo of the window radius, so memory stays bounded
# whatever the image size (a 25-megapixel image took 9 GB computed whole).
STRIP_VALUES = 1 << 22


def _as_float(x: np.ndarray, luma: bool) -> np.ndarray:
    x = _as_hwc(np.asarray(x, dtype=np.float64))
    return to_luma(x) if luma else x


def _strips(shape: tuple[int, ...]) -> list[tuple[int, int]]:
    per_row = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    rows = max(2 * _PAD + 1, STRIP_VALUES // max(1, per_row))
    return [(r0, min(shape[0], r0 + rows)) for r0 in range(0, shape[0], rows)]


def squared_error(a: np.ndarray, b: np.ndarray, luma: bool = False) -> tuple[float, int]:
    """Mean squared error and the number of values, of uint8 or float arrays (``luma``: BT.601 Y first)."""
    if a.shape != b.shape:
        raise ValueError(f"mse: shapes differ {a.shape} vs {b.shape}")
    total, n = 0.0, 0
    for r0, r1 in _strips(a.shape):
        diff = (_as_float(a[r0:r1], luma) - _as_float(b[r0:r1], luma)).ravel()
        total += float(diff @ diff)  # one pass, no squared temporary
        n += diff.size
    return total / n, n


def _ssim_sums(a: np.ndarray, b: np.ndarray, data_range: float, luma: bool) -> tuple[float, float, int, float, int]:
    """Sums of the SSIM and cs maps over the valid region (and their count), and of SSIM over the image."""
    h, w = a.shape[:2]
    trim = _PAD if h > 2 * _PAD and w > 2 * _PAD else 0  # as _inner: tiny images keep their border
    s_in = cs_in = s_all = 0.0
    n_in = n_all = 0
    for r0, r1 in _strips(a.shape):
        lo, hi = max(0, r0 - _PAD), min(h, r1 + _PAD)  # the halo: rows the window of r0..r1 reaches
        s, cs = _ssim_maps(_as_float(a[lo:hi], luma), _as_float(b[lo:hi], luma), data_range)
        s, cs = s[r0 - lo : r1 - lo], cs[r0 - lo : r1 - lo]
        s_all += float(s.sum())
        n_all += s.size
        i0, i1 = max(r0, trim) - r0, min(r1, h - trim) - r0
        if i1 > i0:
            s_inner, cs_inner = s[i0:i1, trim : w - trim], cs[i0:i1, trim : w - trim]
            s_in += float(s_inner.sum())
            cs_in += float(cs_inner.sum())
            n_in += s_inner.size
    return s_in, cs_in, n_in, s_all, n_all


def ssim(a: np.ndarray, b: np.ndarray, data_range: float, luma: bool = False) -> float:
    """Mean SSIM over channels of two same-shaped arrays (uint8 or float; ``luma``: on BT.601 Y)."""
    if a.shape != b.shape:
        raise ValueError(f"ssim: shapes differ {a.shape} vs {b.shape}")
    s_in, _, n_in, _, _ = _ssim_sums(a, b, data_range, luma)
    return s_in / n_in


MS_SSIM_BETAS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
MS_SSIM_MIN_SIDE = 176  # torchmetrics' rule: side // 16 > 10, so the 5th scale still holds an 11-px window


def _halve(x: np.ndarray, luma: bool = False) -> np.ndarray:
    """2x2 average pooling, dropping an odd last row/column (torch's avg_pool2d), in strips of rows."""
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    channels = 1 if luma else (x.shape[2] if x.ndim == 3 else 1)
    out = np.empty((h // 2, w // 2, channels), dtype=np.float64)
    for r0, r1 in _strips(x.shape):
        r0, r1 = r0 // 2 * 2, min(h, (r1 + 1) // 2 * 2)
        if r1 <= r0:
            continue
        block = _as_float(x[r0:r1, :w], luma)
        out[r0 // 2 : r1 // 2] = (block[0::2, 0::2] + block[1::2, 0::2] + block[0::2, 1::2] + block[1::2, 1::2]) / 4
    return out


def ssim_and_ms_ssim(a: np.ndarray, b: np.ndarray, data_range: float, luma: bool = False) -> tuple[float, float | None]:
    """SSIM (skimage's conventions) and MS-SSIM (torchmetrics' definition) sharing the first scale.

    MS-SSIM: five scales, 2x2 average pooling between them, the standard weights, contrast-structure
    means over the valid region, the last scale's SSIM over the whole reflect-padded image, negatives
    clipped to 0 (torchmetrics' default ``normalize="relu"``); None below 176 px. Inputs are uint8 or
    float arrays, converted to float64 (and to BT.601 Y with ``luma``) a strip at a time.
    """
    if a.shape != b.shape:
        raise ValueError(f"ssim: shapes differ {a.shape} vs {b.shape}")
    s_in, cs_in, n_in, s_all, n_all = _ssim_sums(a, b, data_range, luma)
    single = s_in / n_in
    if min(a.shape[:2]) < MS_SSIM_MIN_SIDE:
        return single, None
    value = 1.0
    for i, beta in enumerate(MS_SSIM_BETAS):
        if i:
            a, b = _halve(a, luma and i == 1), _halve(b, luma and i == 1)
            s_in, cs_in, n_in, s_all, n_all = _ssim_sums(a, b, data_range, False)
        last = i == len(MS_SSIM_BETAS) - 1
        term = s_all / n_all if last else cs_in / n_in
        value *= max(term, 0.0) ** beta
    return single, value


def ms_ssim(a: np.ndarray, b: np.ndarray, data_range: float) -> float | None:
    """torchmetrics' 5-scale MS-SSIM of ``[H,W,C]`` arrays, or None below 176 px."""
    return ssim_and_ms_ssim(a, b, data_range)[1]
