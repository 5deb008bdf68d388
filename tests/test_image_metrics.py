"""PSNR and SSIM against scikit-image's independent implementations."""

from __future__ import annotations

import numpy as np
import pytest
from imaging import photo
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from tokbench.metrics.image import psnr_from_mse, ssim, to_luma


@pytest.mark.parametrize("shape", [(64, 64), (97, 131), (200, 150)])
def test_psnr_and_ssim_match_skimage(shape: tuple[int, int]) -> None:
    a = photo(*shape, seed=1)
    rng = np.random.default_rng(3)
    b = np.clip(a.astype(int) + rng.integers(-20, 21, a.shape), 0, 255).astype(np.uint8)
    fa, fb = a.astype(np.float64), b.astype(np.float64)
    mse = float(np.mean((fa - fb) ** 2))
    assert psnr_from_mse(mse, 255, 100) == pytest.approx(peak_signal_noise_ratio(a, b, data_range=255), abs=1e-4)
    ref = structural_similarity(
        a, b, data_range=255, channel_axis=-1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    assert ssim(fa, fb, 255) == pytest.approx(ref, abs=1e-4)


def test_ssim_luma_matches_skimage_on_gray() -> None:
    a = photo(80, 90, seed=2).astype(np.float64)
    b = np.clip(a * 0.9 + 10, 0, 255)
    ya, yb = to_luma(a)[..., 0], to_luma(b)[..., 0]
    ref = structural_similarity(ya, yb, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    assert ssim(to_luma(a), to_luma(b), 255) == pytest.approx(ref, abs=1e-4)


def test_identical_images() -> None:
    a = photo(32, 32).astype(np.float64)
    assert psnr_from_mse(0.0, 255, 100) == 100
    assert ssim(a, a, 255) == pytest.approx(1.0)


@pytest.mark.parametrize("shape", [(176, 181), (200, 240), (333, 257)])
def test_ms_ssim_matches_torchmetrics(shape: tuple[int, int]) -> None:
    """Our separable float64 MS-SSIM against torchmetrics' float64 one (its betas are float32: 1e-8)."""
    import torch
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure

    from tokbench.metrics.image import ssim_and_ms_ssim

    a = photo(*shape, seed=4).astype(np.float64)
    b = np.clip(a + np.random.default_rng(5).normal(0, 15, a.shape), 0, 255).round()
    ta, tb = (torch.from_numpy(x.transpose(2, 0, 1))[None] for x in (a, b))
    ref = float(multiscale_structural_similarity_index_measure(tb, ta, data_range=255))
    single, multi = ssim_and_ms_ssim(a, b, 255)
    assert multi == pytest.approx(ref, abs=1e-8)
    assert single == ssim(a, b, 255)


def test_ms_ssim_size_limit_is_torchmetrics() -> None:
    import torch
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure

    from tokbench.metrics.image import MS_SSIM_MIN_SIDE, ms_ssim

    a = photo(MS_SSIM_MIN_SIDE - 1, 300, seed=6).astype(np.float64)
    assert ms_ssim(a, a, 255) is None
    with pytest.raises(ValueError):
        t = torch.from_numpy(a.transpose(2, 0, 1))[None]
        multiscale_structural_similarity_index_measure(t, t, data_range=255)
    assert ms_ssim(a[:, :MS_SSIM_MIN_SIDE], a[:, :MS_SSIM_MIN_SIDE], 255) is None
    b = photo(MS_SSIM_MIN_SIDE, MS_SSIM_MIN_SIDE, seed=6).astype(np.float64)
    assert ms_ssim(b, b, 255) == pytest.approx(1.0)


def test_ms_ssim_clips_negative_terms_to_zero() -> None:
    from tokbench.metrics.image import ms_ssim

    a = photo(192, 192, seed=7).astype(np.float64)
    assert ms_ssim(a, 255 - a, 255) == 0.0  # anti-correlated: relu-normalised terms give 0, not NaN


@pytest.mark.parametrize("luma", [False, True])
def test_strips_of_rows_give_the_whole_image_values(monkeypatch: pytest.MonkeyPatch, luma: bool) -> None:
    # large images are computed in strips with a halo (bounded memory); the values must not move
    import tokbench.metrics.image as im

    rng = np.random.default_rng(7)
    a = rng.integers(0, 256, size=(397, 263, 3), dtype=np.uint8)
    b = np.clip(a.astype(np.int16) + rng.integers(-40, 41, size=a.shape), 0, 255).astype(np.uint8)
    whole = (im.squared_error(a, b, luma), im.ssim_and_ms_ssim(a, b, 255, luma), im.ssim(a, b, 255, luma))
    assert len(im._strips(a.shape)) == 1
    monkeypatch.setattr(im, "STRIP_VALUES", 263 * 3 * 17)  # 17-row strips: odd, so halving crosses them
    assert len(im._strips(a.shape)) > 20
    strips = (im.squared_error(a, b, luma), im.ssim_and_ms_ssim(a, b, 255, luma), im.ssim(a, b, 255, luma))
    assert strips[0][1] == whole[0][1]
    assert strips[0][0] == pytest.approx(whole[0][0], rel=1e-13)
    assert strips[1][0] == pytest.approx(whole[1][0], rel=1e-12) and strips[2] == pytest.approx(whole[2], rel=1e-12)
    assert strips[1][1] == pytest.approx(whole[1][1], rel=1e-12)
    if not luma:  # and against the independent reference on the float image
        from skimage.metrics import structural_similarity

        ref = structural_similarity(
            a.astype(np.float64),
            b.astype(np.float64),
            channel_axis=2,
            data_range=255,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
        assert strips[2] == pytest.approx(ref, abs=1e-6)
