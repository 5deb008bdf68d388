"""MS-SSIM and LPIPS per frame in the video ``recon`` suite, and the ``cvvdp`` suite (ColorVideoVDP)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from test_video import clip
from tokbench.suites.video_cvvdp import CvvdpSuite
from tokbench.suites.video_recon import VideoReconSuite

from tokbench.metrics import lpips_metric as lm
from tokbench.video import metrics as vm
from tokbench.video.suite import ClipItem


def clip_item(ref: np.ndarray, rec: np.ndarray, fps: float = 16.0) -> ClipItem:
    return ClipItem("c", ref[0], rec[0], ref[0], rec[0], 256, frames=ref, frames_restored=rec, fps=fps)


def noisy(x: np.ndarray, sigma: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(x + rng.normal(0, sigma, x.shape), 0, 255).astype(np.uint8)


@pytest.fixture
def empty_torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No LPIPS backbone files, and any download attempt fails the test."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def no_download(url: str, *_: object, **__: object) -> None:
        raise AssertionError(f"tried to download {url}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    return tmp_path / "torch"


def records_of(suite: VideoReconSuite | CvvdpSuite, items: list[ClipItem]) -> list[dict]:
    return [r for out in suite.process(list(items)) for r in out]


def test_ms_ssim_per_frame_against_torchmetrics() -> None:
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure as tm_ms_ssim

    ref = clip(2, 180, 192)
    rec = noisy(ref, 12)
    expected = np.mean(
        [
            float(tm_ms_ssim(torch.from_numpy(rec[t]).permute(2, 0, 1)[None].double(),
                             torch.from_numpy(ref[t]).permute(2, 0, 1)[None].double(), data_range=255.0))
            for t in range(2)
        ]
    )  # fmt: skip
    s, ms = vm.ssim_ms_ssim_frames(ref, rec)
    assert ms == pytest.approx(expected, abs=1e-6)
    assert s == pytest.approx(vm.ssim_frames(ref, rec), abs=1e-12)  # the shared first scale is plain SSIM
    assert vm.ssim_ms_ssim_frames(ref, ref)[1] == pytest.approx(1.0, abs=1e-12)


def test_small_frames_get_no_ms_ssim_with_the_reason(empty_torch_home: Path) -> None:
    suite = VideoReconSuite(lpips="none")
    ref = clip(3, 64, 96)
    got = suite.aggregate(records_of(suite, [clip_item(ref, noisy(ref, 5))]), 256)
    assert got["metrics"]["ms_ssim"] is None and got["metrics"]["ssim"] < 1
    assert "96x64" in got["extra"]["ms_ssim_unavailable"] and "176" in got["extra"]["ms_ssim_unavailable"]
    assert "lpips_alex" not in got["metrics"]


def test_recon_means_per_frame_then_over_clips(empty_torch_home: Path) -> None:
    suite = VideoReconSuite(lpips="alex", lpips_random_backbone=True)
    suite.setup("cpu")
    model, _ = lm.load_lpips("alex", random_backbone=True)  # the image metric, same seeded backbone
    big, small = clip(2, 176, 180, seed=0), clip(2, 40, 56, seed=1)
    pairs = [(big, noisy(big, 10)), (small, noisy(small, 20)), (big, big)]
    records = records_of(suite, [clip_item(a, b) for a, b in pairs])
    for (a, b), r in zip(pairs, records, strict=True):
        # independently: the lpips network on each frame mapped to [-1,1], averaged over frames
        ta, tb = (torch.from_numpy(x).permute(0, 3, 1, 2).float() / 127.5 - 1 for x in (a, b))
        with torch.no_grad():
            direct = float(model(ta, tb).mean())
        assert r["lpips_alex"] == pytest.approx(direct, rel=1e-5, abs=1e-7)
    assert records[2]["lpips_alex"] == pytest.approx(0.0, abs=1e-7) and records[2]["ms_ssim"] == pytest.approx(1.0)
    assert records[2]["psnr_pooled"] == 100.0 and records[2]["ssim"] == pytest.approx(1.0)
    got = suite.aggregate(records, 256)
    m = got["metrics"]
    assert m["lpips_alex"] == pytest.approx(np.mean([r["lpips_alex"] for r in records]))
    assert m["ms_ssim"] == pytest.approx((records[0]["ms_ssim"] + 1.0) / 2)  # the small clip has none
    assert got["extra"]["ms_ssim_clips_without"] == 1 and set(suite.estimands()) >= {"ms_ssim", "lpips_alex"}


def test_lpips_without_its_backbone_is_unavailable_naming_the_file(empty_torch_home: Path) -> None:
    suite = VideoReconSuite(lpips="vgg", ms_ssim=False)
    suite.setup("cpu")
    ref = clip(2, 32, 32)
    got = suite.aggregate(records_of(suite, [clip_item(ref, ref)]), 256)
    assert got["metrics"]["lpips_vgg"] is None and "ms_ssim" not in got["metrics"]
    assert lm.BACKBONE_FILES["vgg"] in got["extra"]["lpips_vgg_unavailable"]
    assert got["metrics"]["ssim"] == pytest.approx(1.0)


def test_cvvdp_identity_is_10_and_loss_is_lower() -> None:
    pytest.importorskip("pycvvdp", reason="could not import 'pycvvdp' (pip install cvvdp)")
    suite = CvvdpSuite()
    suite.setup("cpu")
    ref = clip(4, 48, 64)
    records = records_of(suite, [clip_item(ref, ref), clip_item(ref, noisy(ref, 12))])
    assert records[0]["cvvdp"] == pytest.approx(10.0, abs=1e-4)
    assert records[1]["cvvdp"] < 9.9
    got = suite.aggregate(records, 256)
    assert got["metrics"]["cvvdp"] == pytest.approx((records[0]["cvvdp"] + records[1]["cvvdp"]) / 2)
    display = got["extra"]["display"]
    assert display["name"] == "standard_fhd" and display["pix_per_deg"] > 30 and "ColorVideoVDP" in display["info"]


def test_cvvdp_missing_package_is_unavailable_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pycvvdp", None)  # import pycvvdp now raises ImportError
    suite = CvvdpSuite()
    suite.setup("cpu")
    ref = clip(2, 16, 16)
    records = records_of(suite, [clip_item(ref, ref)])
    assert "skip" in records[0]
    got = suite.aggregate(records, 256)
    assert got["metrics"] == {"cvvdp": None}
    assert "pip install cvvdp" in got["extra"]["unavailable"] and "pycvvdp" in got["extra"]["unavailable"]
