"""Large images in the recon suite (issue #23, item 4): bounded memory, values unchanged, LPIPS capped and counted."""

from __future__ import annotations

import numpy as np
import pytest

from tokbench.suite import Item


def _item(image_id: str, h: int, w: int, seed: int) -> Item:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    b = np.clip(a.astype(np.int16) + rng.integers(-30, 31, size=a.shape), 0, 255).astype(np.uint8)
    canvas = np.zeros((32, 32, 3), np.uint8)
    return Item(image_id, a, b, canvas, canvas, 32)


def test_recon_records_are_the_same_in_strips(monkeypatch: pytest.MonkeyPatch) -> None:
    from tokbench.suites.recon import ReconSuite

    import tokbench.metrics.image as im

    suite = ReconSuite(lpips="none", color="y")
    items = [_item("tall", 420, 190, 1)]
    whole = suite.process(items)[0][0]
    monkeypatch.setattr(im, "STRIP_VALUES", 190 * 3 * 23)
    strips = suite.process(items)[0][0]
    assert strips["n_values"] == whole["n_values"] == 420 * 190
    for key in ("mse", "psnr", "ssim", "ms_ssim"):
        assert strips[key] == pytest.approx(whole[key], rel=1e-12), key


def test_lpips_above_the_pixel_cap_is_skipped_and_counted(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from tokbench.suites.recon import ReconSuite

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # random backbone: nothing to download
    suite = ReconSuite(lpips="alex", lpips_random_backbone=True, lpips_max_pixels=40 * 40)
    suite.setup("cpu")
    records = [r[0] for r in suite.process([_item("small", 40, 40, 2), _item("big", 41, 40, 3)])]
    assert "lpips_alex" in records[0] and "lpips_alex" not in records[1] and records[1]["lpips_too_large"]
    agg = suite.aggregate(records, 32)
    assert agg["extra"]["lpips_skipped_above_max_pixels"] == 1
    assert agg["metrics"]["lpips_alex"] == pytest.approx(records[0]["lpips_alex"])


def test_the_report_says_how_many_images_lpips_left_out(tmp_path) -> None:
    from fakes import write_fake

    from tokbench.report.commands import report_cmd

    write_fake(
        tmp_path / "r",
        metrics={"psnr": 30.0, "ssim": 0.9, "lpips_alex": 0.1},
        suite_options={"lpips": "alex", "lpips_max_pixels": 1 << 20},
        extra={"n": 5, "lpips_skipped_above_max_pixels": 2},
    )
    assert report_cmd([str(tmp_path / "r")], "md", tmp_path / "out") == 0
    text = (tmp_path / "out" / "report.md").read_text()
    assert "leaves out 2 of 5 images above lpips_max_pixels=1048576" in text
