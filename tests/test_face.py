"""Face alignment, face backends (dlib for real, ONNX with a fake session), annotation and sample faces."""

from __future__ import annotations

import hashlib
import io
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tokbench.backends import BackendUnavailable
from tokbench.backends.face import cosine, face_ratio, l2
from tokbench.data.crops import warp_affine
from tokbench.metrics.face_align import (
    ARCFACE_TEMPLATE,
    BadKeypoints,
    align,
    apply_affine,
    arcface_matrix,
    invert_affine,
    parse_kps,
    umeyama,
)


def similarity(angle_deg: float, scale: float, tx: float, ty: float) -> np.ndarray:
    a = math.radians(angle_deg)
    c, s = scale * math.cos(a), scale * math.sin(a)
    return np.array([[c, -s, tx], [s, c, ty]])


def degrade(img: np.ndarray, down: int, quality: int | None = None) -> np.ndarray:
    h, w = img.shape[:2]
    small = Image.fromarray(img).resize((w // down, h // down), Image.Resampling.BICUBIC)
    if quality is not None:
        buf = io.BytesIO()
        small.save(buf, "JPEG", quality=quality)
        small = Image.open(buf).convert("RGB")
    return np.asarray(small.resize((w, h), Image.Resampling.BICUBIC))


# -- alignment ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("angle", "scale", "tx", "ty"),
    [(0, 1, 0, 0), (17, 2.3, 140, 60), (-35, 0.6, 20, 300), (90, 3.1, 400, 10), (180, 1.7, 350, 380)],
)
def test_alignment_maps_keypoints_onto_the_template(angle: float, scale: float, tx: float, ty: float) -> None:
    forward = similarity(angle, scale, tx, ty)  # template -> image
    kps = apply_affine(forward, ARCFACE_TEMPLATE)
    m = arcface_matrix(kps.tolist())
    assert np.abs(apply_affine(m, kps) - ARCFACE_TEMPLATE).max() < 0.5
    assert np.abs(apply_affine(m, kps) - ARCFACE_TEMPLATE).max() < 1e-6  # exact without noise
    assert parse_kps(np.asarray(kps).ravel().tolist()).shape == (5, 2)  # 10 flat numbers work too


def test_alignment_of_an_image_puts_landmark_blobs_on_the_template() -> None:
    forward = similarity(23.0, 2.4, 150.0, 40.0)
    kps = apply_affine(forward, ARCFACE_TEMPLATE)
    yy, xx = np.mgrid[0:420, 0:480].astype(np.float64)
    img = np.zeros((420, 480), dtype=np.float64)
    for x, y in kps:
        img += 250 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 3.0**2))
    rgb = np.repeat(np.clip(img, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    crop = align(rgb, arcface_matrix(kps), 112)[..., 0].astype(np.float64)
    cy, cx = np.mgrid[0:112, 0:112]
    for tx, ty in ARCFACE_TEMPLATE:
        window = (np.abs(cx - tx) < 6) & (np.abs(cy - ty) < 6)
        w = crop * window
        centroid = np.array([(w * cx).sum() / w.sum(), (w * cy).sum() / w.sum()])
        assert np.abs(centroid - [tx, ty]).max() < 0.5


def test_umeyama_agrees_with_skimage_on_noisy_points() -> None:
    transform = pytest.importorskip("skimage.transform")
    rng = np.random.default_rng(3)
    src = apply_affine(similarity(-12, 1.9, 80, 120), ARCFACE_TEMPLATE) + rng.normal(0, 2, (5, 2))
    est = transform.SimilarityTransform()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.estimate(src, ARCFACE_TEMPLATE)
    np.testing.assert_allclose(umeyama(src, ARCFACE_TEMPLATE), est.params, atol=1e-9)


@pytest.mark.parametrize(
    "kps", [[[0, 0]] * 4, [1, 2, 3], "x", [[0, 0], [1, 1], [2, 2], [3, 3], [4, float("nan")]], None]
)
def test_bad_keypoints_have_reasons(kps: object) -> None:
    with pytest.raises(BadKeypoints) as info:
        arcface_matrix(kps)
    assert info.value.reason in ("kps must be 5 points", "unreadable kps")
    with pytest.raises(BadKeypoints, match="degenerate"):
        arcface_matrix([[5, 5]] * 5)


def test_ratio_cosine_l2() -> None:
    assert face_ratio([10, 20, 60, 120], 400, 300) == pytest.approx(100 / 400)
    assert face_ratio([10, 20, 5, 120], 400, 300) is None and face_ratio(None, 10, 10) is None
    assert cosine(np.array([1.0, 0]), np.array([2.0, 0])) == pytest.approx(1.0)
    assert cosine(np.zeros(3), np.ones(3)) == 0.0
    assert l2(np.array([0.0, 3.0]), np.array([4.0, 0.0])) == pytest.approx(5.0)


# -- ONNX (InsightFace packs) with a fake session ---------------------------------------------------


class FakeSession:
    """onnxruntime-like: 'embeds' a batch as per-quadrant channel means (identity-preserving, cheap)."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    class _Input:
        name = "input.1"

    def get_inputs(self) -> list:
        return [self._Input()]

    def run(self, outputs, feeds):
        blob = feeds["input.1"]
        self.shapes.append(blob.shape)
        assert blob.dtype == np.float32 and blob.shape[1:] == (3, 112, 112)
        assert blob.min() >= -1.0 - 1e-6 and blob.max() <= 1.0 + 1e-6
        q = [blob[:, :, :56, :56], blob[:, :, :56, 56:], blob[:, :, 56:, :56], blob[:, :, 56:, 56:]]
        return [np.concatenate([x.mean(axis=(2, 3)) for x in q], axis=1) + 2.0]


def test_onnx_backend_with_fake_session(monkeypatch: pytest.MonkeyPatch) -> None:
    from tokbench.backends import face_onnx
    from tokbench.backends.face_onnx import Antelopev2

    monkeypatch.setattr(face_onnx, "_warned", set())  # the licence warning is once per process
    session = FakeSession()
    backend = Antelopev2(batch_size=3, session=session)
    with pytest.warns(UserWarning, match="non-commercial"):
        backend.setup("cpu")
    rng = np.random.default_rng(0)
    img = (rng.random((300, 300, 3)) * 255).astype(np.uint8)
    face = {"kps": apply_affine(similarity(5, 1.5, 70, 60), ARCFACE_TEMPLATE).tolist()}
    m = backend.prepare(img, face)
    chips = [backend.chip(img, m)] * 4
    assert chips[0].shape == (112, 112, 3)
    emb = backend.embed(chips)
    assert emb.shape == (4, 12) and session.shapes == [(3, 3, 112, 112), (1, 3, 112, 112)]
    assert cosine(emb[0], emb[3]) == pytest.approx(1.0)
    blob = backend.blob([np.full((112, 112, 3), 255, np.uint8), np.zeros((112, 112, 3), np.uint8)])
    assert blob[0].max() == pytest.approx(1.0) and blob[1].min() == pytest.approx(-1.0)


def test_onnx_backend_accepts_a_plain_callable() -> None:
    from tokbench.backends.face_onnx import BuffaloL

    backend = BuffaloL(session=lambda blob: blob.reshape(blob.shape[0], -1)[:, :8])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        backend.setup("cpu")
    assert backend.embed([np.zeros((112, 112, 3), np.uint8)] * 2).shape == (2, 8)


def test_onnx_pack_missing_names_file_place_and_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tokbench.backends import face_onnx

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(face_onnx, "_warned", set())
    backend = face_onnx.Antelopev2()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(BackendUnavailable) as info:
            backend.setup("cpu")
    msg = str(info.value)
    assert "glintr100.onnx" in msg and str(tmp_path / ".insightface" / "models" / "antelopev2") in msg
    assert "antelopev2.zip" in msg and "non-commercial" in msg
    buffalo = face_onnx.BuffaloL(model_path=str(tmp_path / "w.onnx"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(BackendUnavailable, match="w600k_r50.onnx"):
            buffalo.setup("cpu")


def test_onnx_nested_pack_folder_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tokbench.backends import face_onnx

    monkeypatch.setenv("HOME", str(tmp_path))
    nested = tmp_path / ".insightface" / "models" / "antelopev2" / "antelopev2" / "glintr100.onnx"
    nested.parent.mkdir(parents=True)
    nested.write_bytes(b"onnx")
    assert face_onnx.Antelopev2().find_model() == nested


# -- dlib on real faces ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sources():
    pytest.importorskip("dlib")
    from tokbench.samples.faces import source_faces

    return source_faces()


@pytest.fixture(scope="module")
def dlib_backend():
    from tokbench.backends.face_dlib import DlibFace

    backend = DlibFace()
    backend.setup("cpu")
    return backend


def _fsim(backend, original: np.ndarray, restored: np.ndarray, face: dict) -> tuple[float, float]:
    al = backend.prepare(original, face)
    emb = backend.embed([backend.chip(original, al), backend.chip(restored, al)])
    return cosine(emb[0], emb[1]), l2(emb[0], emb[1])


def test_dlib_identity_degraded_and_other_identity(sources, dlib_backend) -> None:
    astronaut = sources[0]
    face = {"kps": astronaut.kps.tolist(), "box": list(astronaut.box)}
    img = astronaut.image
    same, same_l2 = _fsim(dlib_backend, img, img.copy(), face)
    assert same >= 0.99 and same_l2 < 1e-6
    mild, mild_l2 = _fsim(dlib_backend, img, degrade(img, 2, 60), face)
    heavy, _ = _fsim(dlib_backend, img, degrade(img, 8), face)
    assert heavy < mild < same
    assert mild_l2 <= 0.6  # still the same person by dlib's rule
    # another identity, moved onto the astronaut's keypoints: Grace Hopper (matplotlib) or, without
    # matplotlib, the mirrored astronaut (the same person: then only the weaker ordering is checked)
    other = sources[1]
    to_astronaut = umeyama(other.kps, astronaut.kps)[:2]
    swapped = warp_affine(other.image, invert_affine(to_astronaut), (img.shape[1], img.shape[0]))
    different, different_l2 = _fsim(dlib_backend, img, swapped, face)
    assert different < mild
    if other.identity == "grace_hopper":
        assert different_l2 > 0.6 and different < 0.93


def test_dlib_box_rectangle_option(sources) -> None:
    from tokbench.backends.face_dlib import DlibFace

    backend = DlibFace(rect="box")
    backend.setup("cpu")
    astronaut = sources[0]
    face = {"kps": astronaut.kps.tolist(), "box": list(astronaut.box)}
    assert _fsim(backend, astronaut.image, astronaut.image, face)[0] >= 0.99
    with pytest.raises(BadKeypoints, match="box"):
        backend.prepare(astronaut.image, {"kps": face["kps"]})


# -- annotation and sample faces -------------------------------------------------------------------


def test_annotate_faces_writes_tokbench_face_file(tmp_path: Path, sources) -> None:
    from tokbench.data.annotate_faces import annotate_faces

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(sources[0].image).save(folder / "a.png")
    Image.fromarray(np.full((64, 96, 3), 128, np.uint8)).save(folder / "blank.jpg")
    (folder / "notes.txt").write_text("not an image")
    records = annotate_faces(folder)
    written = json.loads((folder / "face_meta.json").read_text())
    assert written == records
    assert [r["image_name"] for r in records] == ["a.png"]
    [rec] = records
    assert rec["img_height"] == 512 and rec["img_width"] == 512
    [face] = rec["faces"]
    box = face["box"]
    assert face["ratio"] == pytest.approx(max(box[2] - box[0], box[3] - box[1]) / 512, abs=1e-6)
    kps = np.array(face["kps"])
    assert kps.shape == (5, 2)
    assert kps[0, 0] < kps[1, 0] and kps[3, 0] < kps[4, 0]  # image-left eye / mouth corner first
    assert kps[0, 1] < kps[2, 1] < kps[3, 1]  # eyes above nose above mouth
    assert np.abs(kps - sources[0].kps).max() < 3.0  # upsample 1 vs 0: same landmarks within a few px
    with_empty = annotate_faces(folder, tmp_path / "out.json", keep_empty=True)
    assert len(with_empty) == 2 and (tmp_path / "out.json").is_file()


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.glob("*.png")):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def test_sample_faces_cover_every_bucket_and_are_deterministic(tmp_path: Path, sources) -> None:
    from tokbench.metrics.buckets import BUCKETS, FACE_EDGES, bucket_of
    from tokbench.samples.faces import build_face_samples

    records = build_face_samples(tmp_path / "a")
    for resolution, edges in FACE_EDGES.items():
        counts = {b: 0 for b in BUCKETS}
        for r in records:
            for f in r["faces"]:
                b = bucket_of(f["ratio"], edges)
                if b in counts:
                    counts[b] += 1
        assert min(counts.values()) >= 3, (resolution, counts)
    for r in records:
        img = np.asarray(Image.open(tmp_path / "a" / r["image_name"]))
        assert img.shape == (r["img_height"], r["img_width"], 3)
        for f in r["faces"]:
            kps = np.array(f["kps"])
            assert kps.shape == (5, 2) and (kps >= 0).all()
            assert (kps[:, 0] < r["img_width"]).all() and (kps[:, 1] < r["img_height"]).all()
            x0, y0, x1, y1 = f["box"]
            assert x0 <= kps[:, 0].min() and kps[:, 0].max() <= x1
            assert f["ratio"] == pytest.approx(max(x1 - x0, y1 - y0) / max(img.shape[:2]), abs=1e-5)
    again = build_face_samples(tmp_path / "b")
    assert again == records and _digest(tmp_path / "a") == _digest(tmp_path / "b")
