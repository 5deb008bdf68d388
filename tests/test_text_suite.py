"""The ``text`` suite end to end on text rendered here with Pillow, read by offline EasyOCR."""

from __future__ import annotations

import io
import math
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from tokbench.backends import BackendUnavailable, build_ocr
from tokbench.suite import Item

WORDS = [
    "Coffee",
    "Station 42",
    "Mind the Gap",
    "Zone C",
    "Garden",
    "Market",
    "Welcome",
    "Library",
    "Museum",
    "Bakery",
    "Hotel",
    "Parking",
    "Ticket",
    "River",
    "Harbor",
    "Window",
    "Orange",
    "Yellow",
    "Planet",
]


def render(words: list[str], size: tuple[int, int] = (640, 640), font_px: int = 34) -> tuple[np.ndarray, list[dict]]:
    """Dark words on a light page, one ground-truth box each (ratio = box width / chars / long side)."""
    width, height = size
    img = Image.new("RGB", size, (245, 243, 236))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=font_px)
    anns, x, y = [], 16, 16
    for word in words:
        left, top, right, bottom = font.getbbox(word)
        bw, bh = right - left + 12, bottom - top + 12
        if x + bw > width - 16:
            x, y = 16, y + bh + 14
        draw.text((x + 6 - left, y + 6 - top), word, font=font, fill=(25, 25, 35))
        ratio = bw / (len(word) * max(width, height))
        anns.append({"rec": word, "bbox": [x, y, x + bw, y + bh], "ratio": ratio})
        x += bw + 18
    return np.array(img), anns


def rotated_word(canvas: np.ndarray, word: str, angle_deg: float, at: tuple[int, int], font_px: int = 40) -> dict:
    """Paste ``word`` rotated by ``angle_deg`` (counter-clockwise) and return its polygon annotation."""
    font = ImageFont.load_default(size=font_px)
    left, top, right, bottom = font.getbbox(word)
    pw, ph = right - left + 14, bottom - top + 14
    plate = Image.new("RGB", (pw, ph), (255, 250, 230))
    ImageDraw.Draw(plate).text((7 - left, 7 - top), word, font=font, fill=(10, 20, 60))
    rotated = plate.rotate(angle_deg, resample=Image.Resampling.BICUBIC, expand=True)
    mask = Image.new("L", (pw, ph), 255).rotate(angle_deg, resample=Image.Resampling.BICUBIC, expand=True)
    base = Image.fromarray(canvas)
    base.paste(rotated, at, mask)
    canvas[...] = np.asarray(base)
    a = math.radians(angle_deg)
    cx, cy = pw / 2, ph / 2
    ncx, ncy = rotated.width / 2, rotated.height / 2
    poly = []
    for px, py in [(0, 0), (pw, 0), (pw, ph), (0, ph)]:
        dx, dy = px - cx, py - cy
        poly.append(
            [
                round(at[0] + ncx + dx * math.cos(a) + dy * math.sin(a)),
                round(at[1] + ncy - dx * math.sin(a) + dy * math.cos(a)),
            ]
        )
    top_len = math.dist(poly[0], poly[1])
    return {"rec": word, "bbox": poly, "ratio": top_len / (len(word) * max(canvas.shape[:2]))}


def degrade(img: np.ndarray, down: int = 4, quality: int = 5) -> np.ndarray:
    h, w = img.shape[:2]
    small = Image.fromarray(img).resize((w // down, h // down), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB").resize((w, h), Image.Resampling.BICUBIC))


def item(
    image_id: str,
    original: np.ndarray,
    restored: np.ndarray,
    anns: list[dict],
    resolution: int = 512,
    dataset: str | None = "synthetic",
) -> Item:
    annotations: dict = {"text": anns}
    if dataset:
        annotations["dataset"] = dataset
    return Item(image_id, original, restored, original, original, resolution, annotations)


@pytest.fixture(scope="module")
def suite():
    pytest.importorskip("easyocr")
    pytest.importorskip("easyocr_en_models")
    from tokbench.suites.text import TextSuite

    s = TextSuite()
    s.setup("cpu")
    return s


@pytest.fixture(scope="module")
def page() -> tuple[np.ndarray, list[dict]]:
    img, anns = render(WORDS)
    anns.append(rotated_word(img, "Sunday", 12.0, (380, 470)))
    return img, anns


@pytest.fixture(scope="module")
def clean(suite, page) -> list[dict]:
    img, anns = page
    return suite.process([item("p", img, img.copy(), anns)])[0]


@pytest.fixture(scope="module")
def degraded(suite, page) -> list[dict]:
    img, anns = page
    return suite.process([item("p", img, degrade(img), anns)])[0]


def test_identity_reads_large_text(suite, page, clean) -> None:
    _, anns = page
    assert len(clean) == len(anns)
    for r in clean:
        assert {"index", "gt", "pred", "ratio", "bucket", "acc", "ned", "acc_ci", "ned_ci", "dataset"} <= set(r)
        assert "skip" not in r
    assert clean[-1]["geometry"] == "polygon" and clean[-1]["pred"] == "Sunday"
    out = suite.aggregate(clean, 512)
    assert out["metrics"]["t_acc_pooled"] >= 95.0
    assert out["metrics"]["t_acc_large"] >= 95.0
    assert out["extra"]["counts"]["scored"] == len(anns)
    assert out["extra"]["per_dataset"]["synthetic"]["n"] == len(anns)


def test_heavy_jpeg_reads_worse(clean, degraded) -> None:
    acc = lambda rs: float(np.mean([r["acc"] for r in rs]))  # noqa: E731
    ned = lambda rs: float(np.mean([r["ned"] for r in rs]))  # noqa: E731
    assert acc(degraded) < acc(clean)
    assert ned(degraded) < ned(clean)


def test_batching_does_not_change_readings(suite, page, degraded) -> None:
    img, anns = page
    old = suite.backend.batch_size
    suite.backend.batch_size = 1
    try:
        [alone] = suite.process([item("p", img, degrade(img), anns[:6])])
    finally:
        suite.backend.batch_size = old
    assert [r["pred"] for r in alone] == [r["pred"] for r in degraded[:6]]


def test_pixel_cap_splits_wide_batches_without_changing_readings(suite, page, degraded, monkeypatch) -> None:
    import easyocr.recognition

    img, anns = page
    real = easyocr.recognition.get_text
    sizes: list[int] = []

    def counting(*args, **kwargs):
        sizes.append(len(args[5]))
        return real(*args, **kwargs)

    monkeypatch.setattr(easyocr.recognition, "get_text", counting)
    monkeypatch.setattr(suite.backend, "max_batch_pixels", 64 * 2 * 64)  # two 64-px-high crops per call at most
    [capped] = suite.process([item("p", img, degrade(img), anns[:6])])
    assert sizes and max(sizes) <= 2 and sum(sizes) == len(capped)
    assert [r["pred"] for r in capped] == [r["pred"] for r in degraded[:6]]


def test_no_silent_drops(suite) -> None:
    img, anns = render(["Coffee", "Market", "Hotel"], size=(400, 300))
    anns = anns + [
        {"rec": "Clip", "bbox": [-10, 5, 60, 40], "ratio": 0.05},  # clipped, still read
        {"rec": "Zero", "bbox": [50, 50, 50, 80], "ratio": 0.05},  # zero-area: skipped with reason
        {"rec": "Tri", "bbox": [[0, 0], [10, 0], [10, 10]], "ratio": 0.05},  # 3-point polygon
        {"rec": "", "bbox": [0, 0, 20, 20], "ratio": 0.05},  # empty ground truth
        {"bbox": [0, 0, 20, 20], "ratio": 0.05},  # no rec
        {"rec": "tiny", "bbox": [0, 0, 4, 4], "ratio": 0.001},  # below the smallest bucket: read, recorded
        {"rec": "Ñandú", "bbox": [20, 20, 120, 60], "ratio": 0.05},  # outside english_g2's charset
        {"rec": "Hotel", "bbox": [20, 20, 120, 60]},  # no ratio: computed from the crop
    ]
    [records] = suite.process([item("n", img, img, anns, dataset=None)])
    assert len(records) == len(anns)
    by_gt = {r.get("gt"): r for r in records}
    assert by_gt["Clip"]["clipped"] is True and "skip" not in by_gt["Clip"]
    assert by_gt["Zero"]["skip"] == "zero-area box"
    assert by_gt["Tri"]["skip"] == "polygon needs 4 points"
    assert by_gt[""]["skip"] == "empty ground truth"
    assert by_gt[None]["skip"] == "missing rec"
    assert by_gt["tiny"]["bucket"] == "below" and "pred" in by_gt["tiny"]
    assert by_gt["Ñandú"]["oov"] == "Ñú" and "pred" in by_gt["Ñandú"]
    computed = [r for r in records if r.get("ratio_source") == "computed"]
    assert len(computed) == 1 and computed[0]["ratio"] == pytest.approx(100 / (5 * 400))
    out = suite.aggregate(records, 512)
    counts = out["extra"]["counts"]
    assert counts["skipped"] == {
        "zero-area box": 1,
        "polygon needs 4 points": 1,
        "empty ground truth": 1,
        "missing rec": 1,
    }
    assert counts["below"] == 1 and counts["oov"] == 1
    assert counts["clipped"] == 1 and counts["ratio_computed"] == 1
    assert counts["scored"] == len(anns) - 4
    assert "dataset" not in records[0]


def test_charset_filter_option_skips_with_reason(suite) -> None:
    from tokbench.suites.text import OOV_SKIP, TextSuite

    filtered = TextSuite(charset_filter=True)
    filtered.backend = suite.backend  # reuse the loaded reader
    filtered._ready = True
    img, anns = render(["Coffee"], size=(300, 200))
    anns.append({"rec": "café", "bbox": anns[0]["bbox"], "ratio": 0.05})
    [records] = filtered.process([item("c", img, img, anns)])
    assert records[1]["skip"] == OOV_SKIP and records[1]["oov"] == "é"
    assert "skip" not in records[0]


def test_options_are_checked() -> None:
    from tokbench.suites.text import TextSuite

    with pytest.raises(ValueError, match="unknown option"):
        TextSuite(ocr_model="x")
    with pytest.raises(ValueError, match="on must be"):
        TextSuite(on="canvas")
    with pytest.raises(ValueError, match="edges"):
        TextSuite(edges="0.3/0.2/0.1")
    with pytest.raises(KeyError, match="unknown OCR backend"):
        TextSuite(ocr="tesseract")
    # readings do not depend on batching, so the batch size is not part of the cache identity
    assert TextSuite(batch_size=8).fingerprint() == TextSuite().fingerprint()
    assert TextSuite(ocr="parseq").fingerprint()["backend"]["weights"] == "parseq-56125471.pt"


def test_backends_are_registered_lazily_from_the_plugin_table() -> None:
    from tokbench.registry import FACE_BACKENDS, OCR_BACKENDS

    assert {"easyocr", "parseq", "rapidocr"} <= set(OCR_BACKENDS.names())
    assert {"dlib", "antelopev2", "buffalo_l"} <= set(FACE_BACKENDS.names())
    assert isinstance(OCR_BACKENDS.entry("parseq").target, str)


def test_backend_options_travel_in_the_spec() -> None:
    from tokbench.suites.text import TextSuite

    suite = TextSuite(ocr="parseq:weights=/x/parseq-56125471.pt")
    assert suite.backend.weights == "/x/parseq-56125471.pt" and suite.backend.batch_size == 64
    assert TextSuite(ocr="parseq:batch_size=3", batch_size=8).backend.batch_size == 3  # the spec wins
    with pytest.raises(ValueError, match="unknown option.*wieghts"):
        TextSuite(ocr="parseq:wieghts=/x")
    with pytest.raises(ValueError, match="unknown option.*parseq_weights"):
        TextSuite(parseq_weights="/x")


def test_parseq_without_doctr_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "doctr", None)
    monkeypatch.setitem(sys.modules, "doctr.models", None)
    backend = build_ocr("parseq")
    with pytest.raises(BackendUnavailable, match=r"python-doctr.*parseq-56125471\.pt"):
        backend.setup("cpu")


def test_parseq_weights_missing_offline_names_the_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.request

    from tokbench.backends import ocr_parseq

    monkeypatch.setenv("DOCTR_CACHE_DIR", str(tmp_path / "doctr"))
    monkeypatch.setenv("HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(BackendUnavailable, match="parseq-56125471.pt") as info:
        ocr_parseq.find_weights()
    assert str(tmp_path / "doctr" / "models" / "parseq-56125471.pt") in str(info.value)
    with pytest.raises(BackendUnavailable, match="no file at"):
        ocr_parseq.find_weights(str(tmp_path / "nope.pt"))
    cached = tmp_path / "doctr" / "models" / "parseq-56125471.pt"
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(b"x")
    assert ocr_parseq.find_weights() == cached


def test_parseq_preprocessing_matches_tokbench() -> None:
    pytest.importorskip("torch")
    from tokbench.backends.ocr_parseq import MEAN, STD, preprocess

    wide = np.full((10, 200, 3), 255, dtype=np.uint8)  # h/w < 1/4: width 128, height int(128 * 0.05) = 6
    tall = np.full((40, 60, 3), 255, dtype=np.uint8)  # h/w > 1/4: height 32, width int(32 / (40/60)) = 48
    exact = np.full((8, 32, 3), 255, dtype=np.uint8)  # same ratio as 32x128: plain resize
    x = preprocess([wide, tall, exact]).numpy()
    assert x.shape == (3, 3, 32, 128)
    white = [(1 - m) / s for m, s in zip(MEAN, STD, strict=True)]
    pad = [(0 - m) / s for m, s in zip(MEAN, STD, strict=True)]
    for c in range(3):
        assert np.allclose(x[0, c, :6, :], white[c], atol=1e-4)
        assert np.allclose(x[0, c, 6:, :], pad[c], atol=1e-4)
        assert np.allclose(x[1, c, :, :48], white[c], atol=1e-4)
        assert np.allclose(x[1, c, :, 48:], pad[c], atol=1e-4)
        assert np.allclose(x[2, c], white[c], atol=1e-4)


def test_parseq_recognize_with_a_fake_model() -> None:
    pytest.importorskip("torch")
    from tokbench.backends.ocr_parseq import Parseq

    calls = []

    def fake(batch, return_preds=True):
        calls.append(tuple(batch.shape))
        return {"preds": [("word", 0.9)] * batch.shape[0]}

    backend = Parseq(batch_size=2)
    backend._model = fake
    out = backend.recognize([np.zeros((20, 50, 3), np.uint8)] * 5)
    assert [r.text for r in out] == ["word"] * 5
    assert calls == [(2, 3, 32, 128), (2, 3, 32, 128), (1, 3, 32, 128)]
    assert "é" in backend.charset and "€" in backend.charset


def test_rapidocr_reads_when_installed(page) -> None:
    pytest.importorskip("rapidocr_onnxruntime")
    backend = build_ocr("rapidocr")
    backend.setup("cpu")
    img, anns = page
    crops = [img[a["bbox"][1] : a["bbox"][3], a["bbox"][0] : a["bbox"][2]] for a in anns[:8]]
    readings = backend.recognize(crops)
    assert sum(r.text == a["rec"] for r, a in zip(readings, anns, strict=False)) >= 7


def test_rapidocr_missing_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)
    with pytest.raises(BackendUnavailable, match="pip install rapidocr-onnxruntime"):
        build_ocr("rapidocr").setup("cpu")
