"""Data loading: image conversions, annotation files, manifests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from imaging import photo
from PIL import Image

from tokbench.data.annotations import BadAnnotations, read_annotations
from tokbench.data.dataset import DatasetUnavailable, resolve_dataset
from tokbench.data.images import BadImage, load_rgb
from tokbench.data.manifest import ManifestError, load_manifest, verify
from tokbench.registry import UnknownName
from tokbench.results import read_result
from tokbench.runner import RunConfig, run


def save(img: Image.Image, path: Path, **kw) -> Path:
    img.save(path, **kw)
    return path


def test_image_modes_become_rgb(tmp_path: Path) -> None:
    rgb = Image.fromarray(photo(20, 30))
    gray = load_rgb(save(rgb.convert("L"), tmp_path / "g.png"))
    assert gray.pixels.shape == (20, 30, 3) and (gray.pixels[..., 0] == gray.pixels[..., 2]).all()
    assert load_rgb(save(rgb.convert("P"), tmp_path / "p.png")).pixels.shape == (20, 30, 3)
    assert load_rgb(save(rgb.convert("CMYK"), tmp_path / "c.jpg")).pixels.shape == (20, 30, 3)
    rgba = rgb.convert("RGBA")
    rgba.putalpha(0)
    loaded = load_rgb(save(rgba, tmp_path / "a.png"))
    assert loaded.pixels.max() == 0 and "alpha-on-black" in loaded.conversions
    sixteen = Image.fromarray(np.arange(600, dtype=np.uint16).reshape(20, 30) * 100)
    loaded = load_rgb(save(sixteen, tmp_path / "s.png"))
    assert loaded.pixels.dtype == np.uint8 and loaded.pixels.max() == (599 * 100) >> 8
    one = load_rgb(save(Image.new("RGB", (1, 1), (9, 8, 7)), tmp_path / "one.png"))
    assert one.pixels.tolist() == [[[9, 8, 7]]]


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    img = Image.fromarray(photo(20, 40))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    loaded = load_rgb(save(img, tmp_path / "r.jpg", exif=exif))
    assert loaded.pixels.shape == (40, 20, 3) and "exif-orientation" in loaded.conversions


def test_bad_images_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "zero.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("hello")
    for name, reason in (
        ("zero.png", "empty file"),
        ("text.png", "not a readable image"),
        ("missing.png", "cannot read"),
    ):
        with pytest.raises(BadImage, match=reason) as err:
            load_rgb(tmp_path / name)
        assert name in str(err.value)


def test_malformed_annotation_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "ann.json"
    path.write_text('[\n {"file_name": "a.png", "annotations": []},\n {"file_name": oops}\n]')
    with pytest.raises(BadAnnotations, match=r"ann.json: malformed JSON at line 3"):
        read_annotations(path)


def test_annotation_records_are_checked_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "ann.json"
    path.write_text(
        json.dumps(
            [
                {"file_name": "a.png", "height": 1, "width": 1, "annotations": [{"rec": "x", "bbox": [0, 0, 1, 1]}]},
                {"file_name": "a.png", "annotations": []},
                {"height": 3, "annotations": []},
                {"file_name": "b.png", "annotations": "nope"},
                "junk",
            ]
        )
    )
    records, skipped = read_annotations(path, "tokbench-text")
    assert [r.file_name for r in records] == ["a.png"]
    reasons = [r for _, r in skipped]
    assert reasons == [
        "duplicate file name in annotations",
        "missing field 'file_name'",
        "missing or non-list field 'annotations'",
        "record is not an object",
    ]


def test_face_format_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "face_meta.json"
    path.write_text(
        json.dumps(
            [
                {
                    "image_name": "f.png",
                    "img_height": 9,
                    "img_width": 9,
                    "faces": [{"kps": [[1, 1]] * 5, "ratio": 0.3, "box": [0, 0, 5, 5]}],
                }
            ]
        )
    )
    [rec], skipped = read_annotations(path)
    assert rec.annotations["faces"][0]["ratio"] == 0.3 and not skipped


def test_annotation_dataset_counts_missing_images(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.fromarray(photo(30, 40)).save(folder / "here.png")
    ann = tmp_path / "text_mine.json"
    ann.write_text(
        json.dumps([{"file_name": n, "height": 30, "width": 40, "annotations": []} for n in ("here.png", "gone.png")])
    )
    with pytest.raises(DatasetUnavailable, match="--images"):
        resolve_dataset(str(ann))
    ds = resolve_dataset(str(ann), images=str(folder))
    assert [s.image_id for s in ds.samples] == ["here.png", "gone.png"]
    [path] = run(
        RunConfig(
            model="identity",
            suites=["recon"],
            dataset=str(ann),
            images=str(folder),
            output_dir=str(tmp_path / "out"),
            cache_dir=str(tmp_path / "cache"),
        )
    )
    res = read_result(path)
    assert res["counts"]["images_used"] == 1 and res["counts"]["images_skipped"] == {"unreadable image": 1}
    assert res["dataset"]["identity"]["annotations_sha256"]


def manifest_file(tmp_path: Path, files: dict[str, str]) -> Path:
    path = tmp_path / "mine.json"
    path.write_text(
        json.dumps(
            {
                "name": "mine",
                "kind": "images",
                "source": {"type": "local", "env": "MINE_DIR"},
                "images": ".",
                "annotations": None,
                "files": files,
            }
        )
    )
    return path


def test_manifest_checksum_mismatch_is_refused_naming_both_hashes(tmp_path: Path, monkeypatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    Image.fromarray(photo(10, 10)).save(data / "x.png")
    monkeypatch.setenv("MINE_DIR", str(data))
    wrong = "0" * 64
    manifest = load_manifest(manifest_file(tmp_path, {"x.png": wrong}))
    report = verify(manifest, manifest.root())
    [(file, expected, actual)] = report.mismatched
    assert file.endswith("x.png") and expected == wrong and len(actual) == 64
    with pytest.raises(ManifestError, match=f"expected sha256 {wrong}, found {actual}"):
        resolve_dataset(str(manifest_file(tmp_path, {"x.png": wrong})))


def test_manifest_problems_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "b", "kind": "images", "source": {"type": "ftp"}}))
    with pytest.raises(ManifestError, match="source.type"):
        load_manifest(bad)
    bad.write_text(json.dumps({"name": "b", "source": {"type": "local"}}))
    with pytest.raises(ManifestError, match="missing field"):
        load_manifest(bad)


def test_unfetched_registered_dataset_says_how_to_fetch(tmp_path: Path) -> None:
    with pytest.raises(DatasetUnavailable, match="tokbench data fetch ic13"):
        resolve_dataset("ic13", root=str(tmp_path))
    with pytest.raises(UnknownName, match="Did you mean .*'ic13'"):
        resolve_dataset("ic31", root=str(tmp_path))


def test_shipped_samples_verify_against_their_manifest() -> None:
    from tokbench.data.manifest import builtin_manifest

    manifest = builtin_manifest("samples")
    report = verify(manifest, manifest.root())
    assert report.passed and len(report.ok) == len(manifest.files) > 10, report.describe()


def test_too_large_images_are_refused_from_the_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tracemalloc

    from tokbench.data import images

    path = save(Image.new("RGB", (3000, 2000)), tmp_path / "big.png")
    monkeypatch.setattr(images, "MAX_PIXELS", 1_000_000)
    tracemalloc.start()
    with pytest.raises(BadImage, match=r"big.png: 3000x2000 pixels exceeds the limit"):
        load_rgb(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2_000_000  # nothing near the 18 MB of decoded pixels was allocated
    monkeypatch.setattr(images, "MAX_PIXELS", 20_000 * 20_000)
    assert load_rgb(path).pixels.shape == (2000, 3000, 3)
