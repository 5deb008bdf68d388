"""The embedded ``samples`` text dataset: reproducible, populated, geometrically sane."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from PIL import Image

from tokbench.data.annotations import read_annotations

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "make_samples.py"


def _load_generator() -> ModuleType:
    """scripts/make_samples.py as a module (registered first: its dataclasses look their module up)."""
    spec = importlib.util.spec_from_file_location("make_samples", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


gen = _load_generator()
SHIPPED = gen.SAMPLES_DIR
# Regenerated PNG by PNG in the default run: a photo (with "café"), a paper page (with "señor"),
# a texture with a rotated instance and the three-photo strip. The slow test covers all images.
SUBSET = ("s02_coffee_600x400", "s12_page_1000x700", "s14_stone_720x960", "s18_banner_896x384")

# The harness's scale buckets (TokBench's text@256/512/1024), written out independently of the generator.
BUCKETS = {
    256: {"small": (0.02, 0.03), "medium": (0.03, 0.04), "large": (0.04, math.inf)},
    512: {"small": (0.01, 0.02), "medium": (0.02, 0.03), "large": (0.03, math.inf)},
    1024: {"small": (0.005, 0.01), "medium": (0.01, 0.02), "large": (0.02, math.inf)},
}
ASCII_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;!?'\"-/$%#&()")


def _records() -> list[dict[str, Any]]:
    return json.loads((SHIPPED / gen.ANNOTATION_FILE).read_text(encoding="utf-8"))


def _meta() -> dict[str, Any]:
    return json.loads((SHIPPED / gen.META_FILE).read_text(encoding="utf-8"))


def _instances() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(r, a) for r in _records() for a in r["annotations"]]


def _is_polygon(bbox: list[Any]) -> bool:
    return isinstance(bbox[0], list)


def _require_same_environment() -> None:
    shipped, here = _meta()["environment"], gen.environment()
    if shipped != here:
        pytest.skip(
            f"byte identity holds for the library versions the shipped files were made with "
            f"({shipped}); this machine has {here}"
        )


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require_same_environment()
    out = tmp_path_factory.mktemp("samples")
    gen.generate(out, only=SUBSET)
    return out


def test_source_photos_are_the_recorded_ones() -> None:
    for name, info in _meta()["sources"].items():
        arr = gen.load_source(name)
        assert list(arr.shape) == info["shape"], name
        assert hashlib.sha256(arr.tobytes()).hexdigest() == info["pixels_sha256"], (
            f"skimage.data.{name}() changed: the dataset cannot be regenerated bit for bit"
        )


def test_regenerated_annotations_are_byte_identical(regenerated: Path) -> None:
    assert (regenerated / gen.ANNOTATION_FILE).read_bytes() == (SHIPPED / gen.ANNOTATION_FILE).read_bytes()


@pytest.mark.parametrize("name", SUBSET)
def test_regenerated_png_is_byte_identical(regenerated: Path, name: str) -> None:
    made = (regenerated / gen.IMAGE_DIR / f"{name}.png").read_bytes()
    assert made == (SHIPPED / gen.IMAGE_DIR / f"{name}.png").read_bytes()


@pytest.mark.slow
def test_full_regeneration_is_byte_identical(tmp_path: Path) -> None:
    _require_same_environment()
    gen.generate(tmp_path)
    for rel in (gen.ANNOTATION_FILE, gen.META_FILE):
        assert (tmp_path / rel).read_bytes() == (SHIPPED / rel).read_bytes(), rel
    made = sorted(p.name for p in (tmp_path / gen.IMAGE_DIR).glob("*.png"))
    assert made == sorted(p.name for p in (SHIPPED / gen.IMAGE_DIR).glob("*.png"))
    for name in made:
        made_bytes = (tmp_path / gen.IMAGE_DIR / name).read_bytes()
        assert made_bytes == (SHIPPED / gen.IMAGE_DIR / name).read_bytes(), name


def test_shipped_files_match_meta_and_annotations() -> None:
    meta, records = _meta(), _records()
    on_disk = sorted(p.name for p in (SHIPPED / gen.IMAGE_DIR).glob("*.png"))
    assert on_disk == sorted(r["file_name"] for r in records) == sorted(meta["png_sha256"])
    for name in on_disk:
        data = (SHIPPED / gen.IMAGE_DIR / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == meta["png_sha256"][name], name
    assert meta["seed"] == gen.SEED and meta["generator_version"] == gen.GENERATOR_VERSION
    assert meta["font"]["sha256"] == hashlib.sha256(gen.font_bytes()).hexdigest()
    total = sum(p.stat().st_size for p in SHIPPED.rglob("*") if p.suffix in (".png", ".json"))
    assert total < 10_000_000


def test_reads_unchanged_with_tokbench_reader() -> None:
    records, skipped = read_annotations(SHIPPED / gen.ANNOTATION_FILE, "tokbench-text")
    assert not skipped
    assert len(records) == len(_records())


def test_every_bucket_is_populated() -> None:
    ratios = [a["ratio"] for _, a in _instances()]
    for res, buckets in BUCKETS.items():
        for name, (lo, hi) in buckets.items():
            n = sum(lo <= r < hi for r in ratios)
            assert n >= (8 if name == "large" else 4), (res, name, n)
    assert sum(r < 0.005 for r in ratios) >= 3  # below every resolution's smallest bucket
    assert min(ratios) > 0.003 and max(ratios) < 0.1


def test_sizes_counts_and_strings() -> None:
    records = _records()
    assert 15 <= len(records) <= 25
    assert 150 <= sum(len(r["annotations"]) for r in records) <= 300
    sizes = [(r["width"], r["height"]) for r in records]
    assert all(384 <= max(s) <= 1024 for s in sizes)
    assert any(w > h for w, h in sizes) and any(h > w for w, h in sizes)
    recs = [a["rec"] for _, a in _instances()]
    non_ascii = [s for s in recs if not s.isascii()]
    assert 2 <= len(non_ascii) <= 3
    assert all(set(s) <= ASCII_CHARS for s in recs if s.isascii())
    assert all(s.strip() == s and s for s in recs)
    assert sum(_is_polygon(a["bbox"]) for _, a in _instances()) >= 3


def test_boxes_lie_inside_images_and_ratios_follow_the_definition() -> None:
    for record, ann in _instances():
        width, height = record["width"], record["height"]
        with Image.open(SHIPPED / gen.IMAGE_DIR / record["file_name"]) as img:
            assert img.size == (width, height) and img.mode == "RGB"
        bbox, n, long_side = ann["bbox"], len(ann["rec"]), max(width, height)
        where = f"{record['file_name']}: {ann['rec']!r}"
        if _is_polygon(bbox):
            assert len(bbox) == 4 and all(len(p) == 2 and all(type(v) is int for v in p) for p in bbox), where
            assert all(0 <= x <= width and 0 <= y <= height for x, y in bbox), where
            # clockwise on screen (y down): positive shoelace sum; the top edge runs left to right
            nxt = bbox[1:] + bbox[:1]
            area = sum(p[0] * q[1] - q[0] * p[1] for p, q in zip(bbox, nxt, strict=True))
            assert area > 0, where
            top = math.hypot(bbox[1][0] - bbox[0][0], bbox[1][1] - bbox[0][1])
            assert bbox[1][0] > bbox[0][0], where
            assert math.isclose(ann["ratio"] * long_side * n, top, rel_tol=1e-9), where
        else:
            assert len(bbox) == 4 and all(type(v) is int for v in bbox), where
            x0, y0, x1, y1 = bbox
            assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, where
            assert math.isclose(ann["ratio"] * long_side * n, x1 - x0, rel_tol=1e-9), where
            assert round(ann["ratio"] * long_side * n) == x1 - x0, where


def test_boxes_do_not_overlap() -> None:
    for record in _records():
        rects = []
        for ann in record["annotations"]:
            b = ann["bbox"]
            if _is_polygon(b):
                xs, ys = [p[0] for p in b], [p[1] for p in b]
                rects.append((min(xs), min(ys), max(xs), max(ys)))
            else:
                rects.append(tuple(b))
        for i, a in enumerate(rects):
            for b in rects[i + 1 :]:
                disjoint = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
                assert disjoint, (record["file_name"], a, b)
