"""LPIPS plumbing with random backbones, and the offline "unavailable" path (never downloads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from imaging import photo

from tokbench.metrics import lpips_metric as lm


@pytest.fixture
def empty_torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "torch"
    monkeypatch.setenv("TORCH_HOME", str(home))

    def no_download(url: str, *_: object, **__: object) -> None:
        raise AssertionError(f"tried to download {url}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    return home


def _pairs(n: int, h: int = 64, w: int = 64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    a = np.stack([photo(h, w, seed=i) for i in range(n)])
    rng = np.random.default_rng(0)
    mild = np.clip(a.astype(int) + rng.integers(-8, 9, a.shape), 0, 255).astype(np.uint8)
    strong = np.clip(a.astype(int) + rng.integers(-80, 81, a.shape), 0, 255).astype(np.uint8)

    def t(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()

    return t(a), t(mild), t(strong)


@pytest.mark.slow
@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_random_backbone_plumbing(net: str, empty_torch_home: Path) -> None:
    model, info = lm.load_lpips(net, random_backbone=True, seed=0)
    assert info["random_backbone"] and "not LPIPS" in info["note"] and info["heads_sha256"]
    a, mild, strong = _pairs(4)
    same = lm.lpips_per_image(model, a, a)
    d_mild = lm.lpips_per_image(model, a, mild)
    d_strong = lm.lpips_per_image(model, a, strong)
    assert same.shape == (4,) and np.allclose(same, 0, atol=1e-6)
    assert np.all(d_strong > d_mild) and np.all(d_mild > 0)
    # inputs reach the network in [-1, 1]
    with torch.inference_mode():
        direct = model(a.float() / 127.5 - 1, strong.float() / 127.5 - 1).reshape(-1).double().numpy()
    np.testing.assert_allclose(d_strong, direct, rtol=1e-6)
    # batch-size independence and determinism of the seeded random backbone
    np.testing.assert_allclose(lm.lpips_per_image(model, a, strong, batch_size=1), d_strong, rtol=1e-5, atol=1e-7)
    again, _ = lm.load_lpips(net, random_backbone=True, seed=0)
    np.testing.assert_allclose(lm.lpips_per_image(again, a, strong), d_strong, rtol=1e-6)


def test_arrays_of_varying_sizes_and_metric_object(empty_torch_home: Path) -> None:
    model, _ = lm.load_lpips("alex", random_backbone=True)
    a = [photo(40, 56, 1), photo(64, 64, 2), photo(40, 56, 3)]
    b = [np.clip(x.astype(int) + 30, 0, 255).astype(np.uint8) for x in a]
    vals = lm.lpips_of_arrays(model, a, b, batch_size=1)
    singles = [lm.lpips_of_arrays(model, [x], [y])[0] for x, y in zip(a, b, strict=True)]
    np.testing.assert_allclose(vals, singles, rtol=1e-5)
    metric = lm.Lpips(model)
    metric.update(a[:2], b[:2])
    metric.update(a[2:], b[2:])
    out = metric.compute()
    assert out["n"] == 3 and out["lpips"] == pytest.approx(float(np.mean(vals)), rel=1e-5)
    with pytest.raises(ValueError):
        lm.lpips_of_arrays(model, [a[0]], [a[1]])


@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_offline_unavailable_names_file_and_folder(net: str, empty_torch_home: Path) -> None:
    status = lm.backbone_status(net)
    folder = empty_torch_home / "hub" / "checkpoints"
    assert not status.available and status.file == lm.BACKBONE_FILES[net] and status.folder == str(folder)
    assert status.file in status.message and str(folder) in status.message
    with pytest.raises(lm.LpipsUnavailable) as e:
        lm.load_lpips(net)
    assert lm.BACKBONE_FILES[net] in str(e.value) and str(folder) in str(e.value)
    assert not folder.exists() or not any(folder.iterdir())  # nothing was fetched


def test_backbone_file_present_loads_offline(empty_torch_home: Path) -> None:
    """A backbone placed in $TORCH_HOME/hub/checkpoints is used without network (a small random
    SqueezeNet stands in for the real file, so its hash check must be switched off)."""
    import torchvision

    folder = empty_torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    torch.manual_seed(1)
    torch.save(torchvision.models.squeezenet1_1(weights=None).state_dict(), folder / lm.BACKBONE_FILES["squeeze"])
    assert lm.backbone_status("squeeze").available
    with pytest.raises(lm.LpipsUnavailable, match="expected a prefix b8a52dc0"):
        lm.load_lpips("squeeze")
    model, info = lm.load_lpips("squeeze", verify_hash=False)
    assert not info["random_backbone"] and info["backbone_file"].endswith(lm.BACKBONE_FILES["squeeze"])
    a, _, strong = _pairs(2)
    assert np.all(lm.lpips_per_image(model, a, strong) > 0)


def test_unknown_net() -> None:
    with pytest.raises(ValueError, match="alex"):
        lm.backbone_status("resnet")
