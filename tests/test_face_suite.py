"""The ``face`` suite end to end: dlib on the run-time sample faces, an ONNX backend with a fake session."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tokbench.suite import Item

pytest.importorskip("dlib")


def degrade(img: np.ndarray, down: int = 4, quality: int = 10) -> np.ndarray:
    h, w = img.shape[:2]
    small = Image.fromarray(img).resize((max(1, w // down), max(1, h // down)), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB").resize((w, h), Image.Resampling.BICUBIC))


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[dict, np.ndarray]]:
    from tokbench.samples.faces import build_face_samples

    out: Path = tmp_path_factory.mktemp("faces")
    records = build_face_samples(out)
    return [(r, np.asarray(Image.open(out / r["image_name"]).convert("RGB"))) for r in records]


@pytest.fixture(scope="module")
def suite():
    from tokbench.suites.face import FaceSuite

    s = FaceSuite()
    s.setup("cpu")
    return s


def items(samples, resolution: int, restore=lambda img: img.copy()) -> list[Item]:
    return [
        Item(r["image_name"], img, restore(img), img, img, resolution, {"faces": r["faces"], "dataset": "samples"})
        for r, img in samples
    ]


@pytest.fixture(scope="module")
def identity_records(suite, samples) -> list[dict]:
    return [rec for recs in suite.process(items(samples, 512)) for rec in recs]


@pytest.fixture(scope="module")
def degraded_records(suite, samples) -> list[dict]:
    return [rec for recs in suite.process(items(samples, 512, degrade)) for rec in recs]


def test_identity_reconstruction_scores_one_in_every_bucket(suite, samples, identity_records) -> None:
    n_faces = sum(len(r["faces"]) for r, _ in samples)
    assert len(identity_records) == n_faces
    for rec in identity_records:
        assert {"index", "ratio", "bucket", "f_sim", "l2", "same_identity", "dataset"} <= set(rec)
        assert rec["f_sim"] >= 0.99 and rec["same_identity"] == 1.0
    out = suite.aggregate(identity_records, 512)
    m = out["metrics"]
    for b in ("small", "medium", "large"):
        assert out["buckets"][b]["n"] >= 3
        assert m[f"f_sim_{b}"] >= 0.99
    assert m["f_sim"] >= 0.99 and m["l2"] == pytest.approx(0.0, abs=1e-6) and m["same_identity_rate"] == 1.0
    assert out["extra"]["same_identity_threshold_l2"] == 0.6
    assert out["extra"]["per_dataset"]["samples"]["n"] == n_faces


def test_degraded_reconstruction_scores_lower(suite, identity_records, degraded_records) -> None:
    clean = suite.aggregate(identity_records, 512)["metrics"]
    bad = suite.aggregate(degraded_records, 512)["metrics"]
    assert bad["f_sim"] < clean["f_sim"] and bad["l2"] > clean["l2"]
    for b in ("small", "medium", "large"):
        assert bad[f"f_sim_{b}"] < 0.99
    # smaller faces suffer more from the same degradation
    assert bad["f_sim_small"] < bad["f_sim_large"]


def test_buckets_follow_the_resolution(suite, identity_records) -> None:
    for resolution in (256, 1024):
        out = suite.aggregate(identity_records, resolution)
        assert min(out["buckets"][b]["n"] for b in ("small", "medium", "large")) >= 3
    assert suite.aggregate(identity_records, 256)["extra"]["counts"]["below"] > 0


def test_bad_faces_are_skipped_with_reasons(suite, samples) -> None:
    record, img = samples[0]
    good = record["faces"][0]
    faces = [
        good,
        {"kps": good["kps"][:4], "ratio": 0.2},  # 4 points
        {"kps": "nope", "ratio": 0.2},
        {"kps": good["kps"], "box": good["box"]},  # no ratio: computed from the box
        {"kps": good["kps"]},  # no ratio and no box
        "not a face",
    ]
    [recs] = suite.process([Item("x", img, img, img, img, 512, {"faces": faces})])
    assert [r.get("skip") for r in recs] == [
        None,
        "kps must be 5 points",
        "unreadable kps",
        None,
        "missing ratio",
        "unreadable face annotation",
    ]
    assert recs[3]["ratio_source"] == "computed"
    assert recs[3]["ratio"] == pytest.approx(good["ratio"], abs=1e-6)
    out = suite.aggregate(recs, 512)
    assert out["extra"]["counts"]["scored"] == 2
    assert out["extra"]["counts"]["skipped"] == {
        "kps must be 5 points": 1,
        "unreadable kps": 1,
        "missing ratio": 1,
        "unreadable face annotation": 1,
    }


def test_onnx_backend_through_the_suite(samples) -> None:
    from tokbench.suites.face import FaceSuite

    from tokbench.backends.face_onnx import Antelopev2

    def fake(blob: np.ndarray) -> np.ndarray:
        return blob.reshape(blob.shape[0], 3, 8, 14, 8, 14).mean(axis=(3, 5)).reshape(blob.shape[0], -1)

    s = FaceSuite(face="antelopev2")
    s.backend = Antelopev2(session=fake)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s.setup("cpu")
    recs = [r for rs in s.process(items(samples[:4], 512, degrade)) for r in rs]
    assert recs and all("l2" not in r and 0.0 < r["f_sim"] <= 1.0 for r in recs)
    out = s.aggregate(recs, 512)
    assert set(out["metrics"]) == {"f_sim", "f_sim_small", "f_sim_medium", "f_sim_large", "f_sim_pooled"}
    assert s.fingerprint()["backend"]["align"] == "arcface-112-umeyama-gt-kps"


def test_options_are_checked() -> None:
    from tokbench.suites.face import FaceSuite

    with pytest.raises(ValueError, match="unknown option"):
        FaceSuite(model="x")
    with pytest.raises(ValueError, match="rect must be"):
        FaceSuite(face="dlib:rect=detector")
    assert FaceSuite(face="dlib:rect=box").backend.rect == "box"
    with pytest.raises(KeyError, match="unknown face backend"):
        FaceSuite(face="arcface")
