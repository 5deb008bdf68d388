"""recon:ssim_compat=llamagen: SSIM as LlamaGen / GigaTok compute it (data_range=2 on [0,1]), beside the correct one."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import uniform_filter

from tokbench.suite import Item


def _pair(h: int, w: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A low-contrast image and a noisy copy: where SSIM's constants matter, data_range=2 shows."""
    rng = np.random.default_rng(seed)
    a = rng.integers(110, 140, (h, w, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-12, 13, a.shape), 0, 255).astype(np.uint8)
    return a, b


def _ssim_by_hand(a: np.ndarray, b: np.ndarray, data_range: float) -> float:
    """Wang et al. SSIM with a 7x7 uniform window and sample (N-1) covariances, per channel, mean over the
    window positions whose window lies inside the image."""
    x, y = a.astype(np.float64) / 255, b.astype(np.float64) / 255
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    n = 49
    values = []
    for ch in range(3):
        u, v = x[..., ch], y[..., ch]
        mu_u, mu_v = uniform_filter(u, 7), uniform_filter(v, 7)
        var_u = (uniform_filter(u * u, 7) - mu_u**2) * n / (n - 1)
        var_v = (uniform_filter(v * v, 7) - mu_v**2) * n / (n - 1)
        cov = (uniform_filter(u * v, 7) - mu_u * mu_v) * n / (n - 1)
        s = (2 * mu_u * mu_v + c1) * (2 * cov + c2) / ((mu_u**2 + mu_v**2 + c1) * (var_u + var_v + c2))
        values.append(s[3:-3, 3:-3].mean())
    return float(np.mean(values))


def test_ssim_llamagen_is_ssim_with_data_range_2_on_unit_images() -> None:
    from tokbench.suites.recon import ssim_llamagen

    a, b = _pair(40, 33, 0)
    ours = ssim_llamagen(a, b)
    assert ours == pytest.approx(_ssim_by_hand(a, b, 2.0), abs=1e-5)  # float32 inside, as LlamaGen
    assert ours > _ssim_by_hand(a, b, 1.0) + 0.05  # the inflation
    assert ssim_llamagen(*_pair(6, 40, 1)) is None  # below the 7-px window


def test_recon_suite_reports_both_ssims_marked() -> None:
    from tokbench.suites.recon import ReconSuite

    suite = ReconSuite(ssim_compat="llamagen", lpips="none", ms_ssim=False)
    items = [Item(f"i{k}", *_pair(48, 40, k), *_pair(32, 32, k), 32) for k in range(2)]
    items.append(Item("tiny", *_pair(5, 9, 9), *_pair(5, 9, 9), 32))
    records = [r for rs in suite.process(items) for r in rs]
    out = suite.aggregate(records, 32)
    used = [r["ssim_llamagen"] for r in records if r["ssim_llamagen"] is not None]
    assert out["metrics"]["ssim_llamagen"] == pytest.approx(np.mean(used)) and len(used) == 2
    assert out["metrics"]["ssim_llamagen"] > out["metrics"]["ssim"] and out["extra"]["ssim_llamagen_too_small"] == 1
    labels = {s.name: s.label for s in suite.metric_specs()}
    assert labels["ssim"] == "SSIM" and "data_range=2" in labels["ssim_llamagen"]
    plain = ReconSuite(lpips="none", ms_ssim=False)
    assert "ssim_llamagen" not in plain.aggregate(plain.process(items[:1])[0], 32)["metrics"]
    with pytest.raises(ValueError, match="ssim_compat must be llamagen"):
        ReconSuite(ssim_compat="gigatok")
