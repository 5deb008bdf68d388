"""FVD from a supplied StyleGAN-V-style TorchScript I3D: calling convention, Frechet distance, missing or bad files.

The real ``i3d_torchscript.pt`` is not on this machine; a small scripted network with the same call signature
stands in for it. It rejects any call that breaks the convention (layout, size, range, keywords), and its
400-d "features" are local means and variances of the luma, so losing detail moves them.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_video import clip
from test_video_run import go, text_folder
from tokbench.suites.video_fvd import FvdSuite

from tokbench.errors import ConfigError
from tokbench.video import fvd as vf
from tokbench.video.suite import ClipItem


class FakeI3d(torch.nn.Module):
    def __init__(self, out_dim: int = 400) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(1))
        self.out_dim = out_dim

    def forward(
        self, x: torch.Tensor, rescale: bool = True, resize: bool = True, return_features: bool = False
    ) -> torch.Tensor:
        if rescale or resize or not return_features:
            raise RuntimeError("call with rescale=False, resize=False, return_features=True")
        if x.dim() != 5 or x.shape[1] != 3 or x.shape[3] != 224 or x.shape[4] != 224:
            raise RuntimeError("input must be [N,3,T,224,224]")
        if bool(x.min() < -1.0) or bool(x.max() > 1.0):
            raise RuntimeError("input must be in [-1,1]")
        g = x.mean(1, keepdim=True)
        m = F.adaptive_avg_pool3d(g, [1, 10, 20])
        v = F.adaptive_avg_pool3d(g * g, [1, 10, 20]) - m * m
        feats = torch.cat([m.flatten(1), 10.0 * v.flatten(1)], 1) * self.scale
        return feats[:, : self.out_dim]


def save_scripted(path: Path, module: torch.nn.Module) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated in torch 2.14
        torch.jit.save(torch.jit.script(module), str(path))
    return path


@pytest.fixture
def i3d(tmp_path: Path) -> Path:
    return save_scripted(tmp_path / "i3d_torchscript.pt", FakeI3d())


def clip_item(ref: np.ndarray, rec: np.ndarray, name: str = "c") -> ClipItem:
    return ClipItem(name, ref[0], rec[0], ref[0], rec[0], 256, frames=ref, frames_restored=rec)


def scipy_fvd(a: np.ndarray, b: np.ndarray) -> float:
    """The reference's formula (StyleGAN-V): scipy sqrtm of the covariance product, real part."""
    import scipy.linalg

    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sqrtm warns that the singular product is ill-conditioned
        root = scipy.linalg.sqrtm(s_a @ s_b)
    return float(np.real(np.sum((mu_a - mu_b) ** 2) + np.trace(s_a + s_b - 2 * root)))


def test_preprocessing_is_the_reference_convention() -> None:
    frames = clip(5, 64, 96)
    x = vf.preprocess(frames, max_frames=3)
    assert x.shape == (3, 3, 224, 224) and x.dtype == torch.float32
    # independently: frames as a batch [T,3,H,W], short side 64 -> 224, long 96 -> ceil(336.0) = 336, centre crop
    t = torch.from_numpy(frames[:3]).permute(0, 3, 1, 2).float() / 255
    t = F.interpolate(t, size=(224, 336), mode="bilinear", align_corners=False)[..., 56 : 56 + 224]
    torch.testing.assert_close(x, (t * 2 - 1).permute(1, 0, 2, 3), atol=1e-6, rtol=0)
    tall = vf.preprocess(clip(2, 100, 60), max_frames=300)  # portrait: width is the short side
    assert tall.shape == (3, 2, 224, 224) and float(tall.min()) >= -1 and float(tall.max()) <= 1


def test_fvd_is_zero_for_identity_grows_with_loss_and_equals_scipy(i3d: Path) -> None:
    suite = FvdSuite(i3d=str(i3d))
    suite.setup("cpu")
    refs = [clip(4, 48, 64, seed=s) for s in range(4)]
    rng = np.random.default_rng(0)
    values = []
    for sigma in (0, 8, 30):
        recs = [np.clip(r + rng.normal(0, sigma, r.shape), 0, 255).astype(np.uint8) for r in refs]
        records = [
            rec for out in suite.process([clip_item(a, b) for a, b in zip(refs, recs, strict=True)]) for rec in out
        ]
        got = suite.aggregate(records, 256)
        values.append(got["metrics"]["fvd"])
        ref_f = np.stack([r["_feat_ref"] for r in records]).astype(np.float64)
        rec_f = np.stack([r["_feat_rec"] for r in records]).astype(np.float64)
        assert ref_f.shape == (4, 400)
        assert got["metrics"]["fvd"] == pytest.approx(scipy_fvd(ref_f, rec_f), rel=1e-5, abs=1e-6)
    assert abs(values[0]) < 1e-9 and values[0] < values[1] < values[2]
    extra = got["extra"]
    assert extra["i3d"]["sha256"] == hashlib.sha256(i3d.read_bytes()).hexdigest()
    assert extra["i3d"]["variant"] == vf.VARIANT and "rescale=False" in extra["i3d"]["preprocess"]
    assert extra["clips"] == 4 and "N=4" in extra["warning"]


def test_fvd_through_a_run_identity_and_heavier_compression(tmp_path: Path, i3d: Path) -> None:
    ann, folder = text_folder(tmp_path)
    lossless = "tokbench-video:store=lossless"
    opts: dict[str, Any] = {"fvd": {"i3d": str(i3d), "where": "canvas"}}
    same = go(tmp_path, "identity", "fvd", str(ann), folder, tag="id", protocol=lossless, suite_options=opts)["fvd"]
    assert abs(same["metrics"]["fvd"]) < 1e-6
    fvds = []
    for crf in (12, 48):
        got = go(
            tmp_path, f"h264:crf={crf}", "fvd", str(ann), folder, tag=str(crf), protocol=lossless, suite_options=opts
        )
        fvds.append(got["fvd"]["metrics"]["fvd"])
    assert 0 < fvds[0] < fvds[1]


def test_missing_file_is_reported_unavailable_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKBENCH_WEIGHTS", str(tmp_path / "weights"))
    suite = FvdSuite()
    suite.setup("cpu")
    records = [r for out in suite.process([clip_item(clip(3, 16, 16), clip(3, 16, 16))]) for r in out]
    assert "i3d_torchscript.pt" in records[0]["skip"]
    got = suite.aggregate(records, 256)
    assert got["metrics"] == {"fvd": None}
    assert str(tmp_path / "weights" / "fvd" / "i3d_torchscript.pt") in got["extra"]["unavailable"]
    assert got["extra"]["file"] == "i3d_torchscript.pt" and any("dropbox" in s for s in got["extra"]["sources"])
    with pytest.raises(ConfigError, match="nowhere.pt"):
        FvdSuite(i3d=str(tmp_path / "nowhere.pt"))  # an explicit path that is not there fails at once


def test_default_place_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, i3d: Path) -> None:
    (tmp_path / "w" / "fvd").mkdir(parents=True)
    (tmp_path / "w" / "fvd" / "i3d_torchscript.pt").write_bytes(i3d.read_bytes())
    monkeypatch.setenv("TOKBENCH_WEIGHTS", str(tmp_path / "w"))
    assert FvdSuite().path == tmp_path / "w" / "fvd" / "i3d_torchscript.pt"


def test_wrong_output_shape_or_not_torchscript_is_a_clear_error(tmp_path: Path) -> None:
    bad = save_scripted(tmp_path / "i3d_10.pt", FakeI3d(out_dim=10))
    suite = FvdSuite(i3d=str(bad))
    suite.setup("cpu")
    with pytest.raises(vf.I3dOutputError, match=r"i3d_10\.pt returned \(1, 10\).*\[1, 400\]"):
        suite.process([clip_item(clip(3, 32, 32), clip(3, 32, 32))])
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a torchscript archive")
    with pytest.raises(ConfigError, match="junk.pt"):
        FvdSuite(i3d=str(junk)).setup("cpu")


def test_fewer_than_two_clips_and_options(i3d: Path) -> None:
    suite = FvdSuite(i3d=str(i3d), max_frames=2)
    suite.setup("cpu")
    records = [r for out in suite.process([clip_item(clip(4, 32, 32), clip(4, 32, 32))]) for r in out]
    assert records[0]["frames_used"] == 2
    got = suite.aggregate(records, 256)
    assert got["metrics"]["fvd"] is None and "at least 2 clips" in got["extra"]["unavailable"]
    with pytest.raises(ConfigError, match="max_frames"):
        FvdSuite(i3d=str(i3d), max_frames=0)
    with pytest.raises(ConfigError, match="where"):
        FvdSuite(i3d=str(i3d), where="nowhere")


def test_reference_features_are_cached_across_models_and_damage_is_recomputed(tmp_path: Path, i3d: Path) -> None:
    ann, folder = text_folder(tmp_path)
    lossless = "tokbench-video:store=lossless"
    opts: dict[str, Any] = {"fvd": {"i3d": str(i3d), "where": "canvas"}}

    def fvd(model: str, tag: str) -> dict[str, Any]:
        return go(tmp_path, model, "fvd", str(ann), folder, tag=tag, protocol=lossless, suite_options=opts)["fvd"]

    first = fvd("h264:crf=48", "a")
    assert first["extra"]["reference_features"] == {"computed": 2, "cached": 0, "damaged_recomputed": 0}
    other = fvd("h264:crf=40", "b")  # another model: its reconstructions are new, the references are not
    assert other["extra"]["reference_features"] == {"computed": 0, "cached": 2, "damaged_recomputed": 0}
    [entry, _] = sorted((tmp_path / "cache" / "fvd-features").rglob("*.npz"))
    entry.write_bytes(b"not an npz")
    again = fvd("h264:crf=30", "c")
    assert again["extra"]["reference_features"] == {"computed": 1, "cached": 1, "damaged_recomputed": 1}
    fresh = go(
        tmp_path / "fresh", "h264:crf=30", "fvd", str(ann), folder, tag="d", protocol=lossless, suite_options=opts
    )["fvd"]
    assert again["metrics"]["fvd"] == fresh["metrics"]["fvd"]  # cached references change no number
