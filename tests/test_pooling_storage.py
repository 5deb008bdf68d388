"""Issue #14: pooled results over several sets, the reference's storage step, reading as the reference."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from fakes import write_ocr
from imaging import photo
from PIL import Image

from tokbench.data.groups import TEXT_SETS, split_datasets
from tokbench.data.images import load_rgb
from tokbench.errors import ConfigError
from tokbench.pool import PoolRefused, pool_files
from tokbench.protocol import Protocol, letterbox, letterbox_geometry, parse_protocol, unletterbox
from tokbench.results import read_instances, read_result
from tokbench.runner import RunConfig, run
from tokbench.storage import store, stored_bytes

EDGES = (0.02, 0.03, 0.04)  # TokBench's text edges at 256


def _text_set(root: Path, name: str, suffix: str, ratios: list[float], seed: int) -> tuple[Path, Path]:
    """An annotation file and its image folder: one image per ratio, two words each."""
    folder = root / name
    folder.mkdir()
    records = []
    for i, ratio in enumerate(ratios):
        file_name = f"img{i}{suffix}"  # same names in every set: pooled records must keep their set apart
        Image.fromarray(photo(90, 140, seed + i)).save(folder / file_name)
        words = [
            {"rec": "Sign", "bbox": [5, 5, 60, 30], "ratio": ratio},
            {"rec": "Sign", "bbox": [40, 40, 130, 80], "ratio": ratio * 1.4},
        ]
        records.append({"file_name": file_name, "height": 90, "width": 140, "annotations": words})
    ann = root / f"{name}.json"
    ann.write_text(json.dumps(records))
    return ann, folder


def _reference_arithmetic(records: list[dict]) -> dict[str, float | None]:
    """compute_all_metrics.py, written out: bucket the concatenated instances, mean per bucket, mean of
    the three bucket means (None when a bucket is empty: the reference prints NaN), in %. Sums are
    exactly rounded (math.fsum), as tokbench documents; ``numpy_order`` below is the reference's own order."""
    buckets: dict[str, list[dict]] = {"small": [], "medium": [], "large": []}
    for r in records:
        if "skip" in r or r["ratio"] < EDGES[0]:
            continue
        name = "small" if r["ratio"] < EDGES[1] else "medium" if r["ratio"] < EDGES[2] else "large"
        buckets[name].append(r)
    out: dict[str, float | None] = {}
    for metric, key in (("t_acc", "acc"), ("t_ned", "ned")):
        means = [math.fsum(r[key] for r in b) / len(b) if b else None for b in buckets.values()]
        for name, m in zip(buckets, means, strict=True):
            out[f"{metric}_{name}"] = None if m is None else m * 100
        out[metric] = None if None in means else math.fsum(means) / 3 * 100  # type: ignore[arg-type]
    return out


def _numpy_order(records: list[dict], key: str) -> float:
    """The reference's own summation order: instances sorted by ratio, np.mean per bucket, np.mean of those."""
    ordered = sorted((r for r in records if "skip" not in r), key=lambda r: r["ratio"])
    ranges = [(EDGES[0], EDGES[1]), (EDGES[1], EDGES[2]), (EDGES[2], 1)]
    means = [np.mean([r[key] for r in ordered if lo <= r["ratio"] < hi]) for lo, hi in ranges]
    return float(np.mean(means)) * 100


def test_a_pooled_run_is_the_reference_arithmetic_over_the_concatenated_records(tmp_path: Path) -> None:
    # reads a crop as a word that depends on its pixels, so records differ between images and sets
    ocr = write_ocr(tmp_path, "pixel", '"Sign" if int(c.mean()) % 3 else "Sig" + "n" * (int(c.mean()) % 5)')
    ann_a, dir_a = _text_set(tmp_path, "seta", ".jpg", [0.021, 0.025, 0.033, 0.05], 0)
    ann_b, dir_b = _text_set(tmp_path, "setb", ".png", [0.022, 0.027, 0.015], 10)  # no large: undefined Mean
    rotated = Image.open(dir_b / "img0.png")
    exif = rotated.getexif()
    exif[0x0112] = 6
    rotated.save(dir_b / "img0.png", exif=exif)  # TokBench's text reading ignores the tag: boxes index raw pixels
    out = tmp_path / "out"
    config = RunConfig(
        model="identity",
        suites=["text"],
        dataset=f"{ann_a},{ann_b}",
        images=f"{dir_a},{dir_b}",
        suite_options={"text": {"ocr": ocr}},
        output_dir=str(out),
        cache_dir=str(tmp_path / "cache"),
        intervals="none",
    )
    paths = run(config)
    assert [read_result(p)["dataset"]["name"] for p in paths] == ["seta", "setb", "seta+setb"]
    per_set = [read_instances(p) for p in paths[:2]]
    pooled = read_result(paths[2])
    expected = _reference_arithmetic(per_set[0] + per_set[1])
    assert {k: pooled["metrics"][k] for k in expected} == expected  # to the last digit
    assert expected["t_acc"] is not None and 0 < expected["t_acc"] < 100  # a real mix, not all right or wrong
    for metric, key in (("t_acc", "acc"), ("t_ned", "ned")):  # numpy's order moves at most the last bits
        assert pooled["metrics"][metric] == pytest.approx(_numpy_order(per_set[0] + per_set[1], key), rel=1e-13)
    assert read_instances(paths[2]) == per_set[0] + per_set[1]
    set_b = read_result(paths[1])
    assert set_b["metrics"]["t_acc"] is None and set_b["extra"]["empty_buckets"] == ["large"]
    breakdown = pooled["extra"]["pooled"]
    assert breakdown["sets"] == ["seta", "setb"] and breakdown["per_set"]["setb"]["metrics"]["t_acc"] is None
    assert [d["name"] for d in pooled["dataset"]["identity"]["pooled"]] == ["seta", "setb"]
    # reading and storage are counted and named
    assert set_b["counts"]["image_conversions"] == {"exif-orientation-ignored": 1}
    assert set_b["counts"]["stored_as"] == {"PNG": 3} and pooled["counts"]["stored_as"] == {"JPEG": 4, "PNG": 3}
    assert pooled["protocol"]["store"] == "reference" and pooled["protocol"]["read"] == "reference"

    # after the fact, from the per-set files: the same numbers
    again = read_result(pool_files(paths[:2], tmp_path / "again"))
    assert again["metrics"] == pooled["metrics"] and again["extra"]["per_dataset"] == pooled["extra"]["per_dataset"]
    # results made otherwise are refused, with the reason
    other = tmp_path / "other" / "setb"
    other.mkdir(parents=True)
    changed = json.loads(paths[1].read_text())
    changed["protocol"]["store"] = "lossless"
    (other / paths[1].name).write_text(json.dumps(changed))
    (other / paths[1].with_suffix(".jsonl").name).write_bytes(paths[1].with_suffix(".jsonl").read_bytes())
    with pytest.raises(PoolRefused, match="protocol differs"):
        pool_files([paths[0], other / paths[1].name], tmp_path / "refused")


def test_the_stored_image_is_pillows_own_save_and_reload(tmp_path: Path) -> None:
    pixels = photo(70, 90, 3)
    for suffix, fmt in ((".jpg", "JPEG"), (".jpeg", "JPEG"), (".png", "PNG")):
        path = tmp_path / f"ref{suffix}"
        Image.fromarray(pixels).save(path)  # what TokBench's scripts do: save under the source's name
        assert stored_bytes(pixels, fmt) == path.read_bytes()
        got, used = store(pixels, Path(f"x{suffix.upper()}"), "reference")
        assert used == fmt and np.array_equal(got, np.asarray(Image.open(path).convert("RGB")))
    with Image.open(io.BytesIO(stored_bytes(pixels, "JPEG"))) as jpeg:
        assert jpeg.info.get("progressive") is None and jpeg.layer[0][1:3] == (2, 2)  # 4:2:0
    assert not np.array_equal(store(pixels, Path("a.jpg"), "reference")[0], pixels)
    assert store(pixels, Path("a.jpg"), "lossless") == (pixels, None)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * math.log10(255.0**2 / mse)


def test_identity_psnr_moves_with_the_storage_step_on_jpeg_sources(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.fromarray(photo(120, 170, 5)).save(folder / "a.jpg")
    original = np.asarray(Image.open(folder / "a.jpg").convert("RGB"))
    canvas, placement = letterbox(original, 64)
    restored = unletterbox(canvas, placement)  # identity reconstructs the canvas exactly
    psnr = {}
    for spec in ("tokbench-paper", "tokbench-paper:store=lossless"):
        cfg = RunConfig(
            model="identity",
            suites=["recon"],
            dataset="folder",
            images=str(folder),
            resolutions=[64],
            protocol=spec,
            output_dir=str(tmp_path / spec.replace(":", "_")),
            cache_dir=str(tmp_path / "cache"),
            intervals="none",
        )
        (path,) = run(cfg)
        psnr[spec] = read_instances(path)[0]["psnr"]
        assert read_result(path)["protocol"]["store"] == ("lossless" if "lossless" in spec else "reference")
    assert psnr["tokbench-paper:store=lossless"] == pytest.approx(_psnr(original, restored), abs=1e-9)
    stored = np.asarray(Image.open(io.BytesIO(stored_bytes(restored, "JPEG"))).convert("RGB"))
    assert psnr["tokbench-paper"] == pytest.approx(_psnr(original, stored), abs=1e-9)
    assert psnr["tokbench-paper"] != psnr["tokbench-paper:store=lossless"]


def test_an_exif_rotated_image_is_read_as_the_reference_reads_it(tmp_path: Path) -> None:
    img = Image.fromarray(photo(20, 40, 1))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    path = tmp_path / "r.jpg"
    img.save(path, exif=exif)
    text = load_rgb(path, "pil")  # Image.open(p).convert("RGB"): the stored grid
    assert np.array_equal(text.pixels, np.asarray(Image.open(path).convert("RGB")))
    assert text.pixels.shape == (20, 40, 3) and text.conversions == ("exif-orientation-ignored",)
    face = load_rgb(path, "cv2")
    assert face.pixels.shape == (40, 20, 3) and face.conversions == ("exif-orientation",)
    cv2 = pytest.importorskip("cv2")
    assert np.array_equal(face.pixels, cv2.imread(str(path))[..., ::-1])
    assert load_rgb(path).pixels.shape == (40, 20, 3)  # tokbench's own reading applies it


def test_protocol_options_use_the_model_syntax_and_name_their_defaults() -> None:
    paper = parse_protocol("tokbench-paper")
    assert (paper.store, paper.read) == ("reference", "reference")
    lossless = parse_protocol("tokbench-paper:store=lossless,read=oriented")
    assert lossless.to_dict()["store"] == "lossless" and lossless != paper
    assert (Protocol("center-crop").store, Protocol("center-crop").read) == ("lossless", "oriented")
    for bad, message in (("tokbench-paper:store=png", "store must be one of"), ("tokbench-paper:jpeg=1", "unknown")):
        with pytest.raises(ConfigError, match=message):
            RunConfig(model="identity", suites=["recon"], protocol=bad)
    # the letterbox guard never acts at TokBench's resolutions: ceil(W * S / W) <= S
    for size in (256, 512, 1024):
        for side in range(1, 20001, 7):
            short = max(1, side // 3)
            ratio = min(size / side, size / short)
            unguarded = (math.ceil(side * ratio), math.ceil(short * ratio))  # TokBench's resize_rec.py
            geometry = letterbox_geometry(side, short, size)
            assert unguarded == (geometry.w, geometry.h) and geometry.w == size


def test_dataset_lists_expand_groups_and_pair_image_folders(tmp_path: Path) -> None:
    text = split_datasets("tokbench-text", None)
    assert [e for e, _ in text.entries] == list(TEXT_SETS) and text.pooled_name == "tokbench-text"
    assert split_datasets("wflw", None).pooled_name is None
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for f in (a, b):
        f.write_text("[]")
    both = split_datasets(f"{a},ic13,{b}", "A,B")
    assert both.entries == ((str(a), "A"), ("ic13", None), (str(b), "B")) and both.pooled_name == "a+ic13+b"
    assert split_datasets(f"{a},{b}", "one").entries == ((str(a), "one"), (str(b), "one"))
    with pytest.raises(ConfigError, match="3 folders for 2"):
        split_datasets(f"{a},{b}", "A,B,C")
    with pytest.raises(ConfigError, match="twice"):
        split_datasets("ic13,ic13", None)
