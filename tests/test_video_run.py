"""Video runs end to end on tiny clips: the canvas invariant, rate order, one table, frames, resume, bad files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fakes import write_ocr
from test_video import clip

from tokbench.results import read_instances, read_result
from tokbench.video.config import VideoRunConfig
from tokbench.video.io import write_lossless
from tokbench.video.runner import run_video
from tokbench.video.samples import _plate


def text_folder(root: Path) -> tuple[Path, Path]:
    """Two 9-frame 192x128 clips with a scrolling word each, TokBench's per-frame text annotations, and one
    annotation for a frame past the end of a clip."""
    folder = root / "videos"
    records: list[dict[str, Any]] = []
    for k, name in enumerate(("alpha", "beta")):
        frames = clip(9, 128, 192, seed=k)
        for t in range(9):
            ann = _plate(frames[t], "Sign", 12 + 6 * k, 10 + 3 * t, 40)
            records.append({"file_name": f"{name}-frame{t + 1}.jpg", "video_name": name, "annotations": [ann]})
        write_lossless(folder / f"{name}.mkv", frames, 16.0)
    records.append({"file_name": "beta-frame12.jpg", "video_name": "beta", "annotations": [ann]})
    ann_file = root / "text_tiny.json"
    ann_file.write_text(json.dumps(records))
    return ann_file, folder


def go(tmp_path: Path, model: str, suites: str, dataset: str, images: Path | None = None, **kw: Any) -> dict[str, Any]:
    cfg = VideoRunConfig(
        model=model,
        suites=suites.split(","),
        dataset=dataset,
        images=None if images is None else str(images),
        output_dir=str(tmp_path / "out" / kw.pop("tag", "run")),
        cache_dir=str(tmp_path / "cache"),
        intervals="none",
        **kw,
    )
    return {read_result(p)["suite"]["name"]: read_result(p) for p in run_video(cfg)}


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, Path]:
    return text_folder(tmp_path)


def test_identity_scores_perfectly_on_the_canvas(tmp_path: Path, tiny: tuple[Path, Path]) -> None:
    ann, folder = tiny
    canvas = {"recon": {"where": "canvas"}, "temporal": {"where": "canvas"}}
    got = go(tmp_path, "identity", "recon,temporal", str(ann), folder, suite_options=canvas)
    m, t = got["recon"]["metrics"], got["temporal"]["metrics"]
    assert m["psnr_pooled"] == m["psnr_frames"] == 100.0 and m["ssim"] == pytest.approx(1.0, abs=1e-12)
    assert t["td_mse"] == 0.0 and t["flicker_gap_abs"] == 0.0
    assert got["recon"]["extra"]["video"]["mode"] == "per-frame"
    # on the restored frames the reference's H.264 storage step is a loss of its own, and it is recorded
    restored = go(tmp_path, "identity", "recon", str(ann), folder, tag="ref")["recon"]
    lossless = go(tmp_path, "identity", "recon", str(ann), folder, tag="ll", protocol="tokbench-video:store=lossless")
    assert restored["protocol"]["store"] == "reference"
    assert restored["counts"]["stored_as"] == {"h264-crf23-yuv420p": 18}
    assert restored["metrics"]["psnr_pooled"] < lossless["recon"]["metrics"]["psnr_pooled"] < 100.0


def test_heavier_compression_never_scores_better(tmp_path: Path, tiny: tuple[Path, Path]) -> None:
    ann, folder = tiny
    rows = []
    lossless = "tokbench-video:store=lossless"
    for crf in (12, 30, 48):
        got = go(tmp_path, f"h264:crf={crf}", "recon,temporal", str(ann), folder, tag=str(crf), protocol=lossless)
        rows.append((got["recon"]["rate"]["bpp_mean"], got["recon"]["metrics"], got["temporal"]["metrics"]["tpsnr"]))
    for (bpp_a, a, tp_a), (bpp_b, b, tp_b) in zip(rows, rows[1:], strict=False):
        assert bpp_a > bpp_b
        assert a["psnr_pooled"] > b["psnr_pooled"] and a["psnr_frames"] > b["psnr_frames"] and a["ssim"] > b["ssim"]
        assert tp_a > tp_b


def test_a_per_frame_image_tokenizer_and_a_video_codec_share_one_table(tmp_path: Path, tiny: tuple[Path, Path]) -> None:
    from tokbench.report.commands import report_cmd

    ann, folder = tiny
    go(tmp_path, "jpeg:quality=20", "recon", str(ann), folder, tag="a")
    go(tmp_path, "h264:crf=30", "recon", str(ann), folder, tag="b")
    assert report_cmd([str(tmp_path / "out")], "md", tmp_path / "board") == 0
    section = (tmp_path / "board" / "report.md").read_text().split("## Video — Reconstruction")[1].split("\n## ")[0]
    assert "| jpeg:quality=20 |" in section and "| h264:crf=30 |" in section and "PSNR (pooled per clip)" in section


def test_text_pools_over_frames_counts_missing_frames_and_resumes(tmp_path: Path, tiny: tuple[Path, Path]) -> None:
    ann, folder = tiny
    opts = {"text": {"ocr": write_ocr(tmp_path, "one-word", '"Sign"')}}
    first = go(tmp_path, "h264:crf=30", "text,recon", str(ann), folder, suite_options=opts)["text"]
    assert first["counts"]["instances_used"] == 18  # 2 clips x 9 frames x 1 box
    assert first["counts"]["images_skipped"] == {"annotated frame beyond the clip": 1}
    assert first["suite"]["options"]["edges"] == "0.01/0.02/0.03"  # TokBench-video's text edges at 256
    assert first["metrics"]["t_acc_pooled"] == 100.0  # the stand-in OCR reads every crop as the truth
    again = go(tmp_path, "h264:crf=30", "text,recon", str(ann), folder, suite_options=opts)["text"]
    assert again["run"]["tokenizer_calls"] == 0 and again["cache"]["video_recon"]["hits"] == 2
    assert again["metrics"] == first["metrics"] and again["instances_sha256"] == first["instances_sha256"]


def test_bad_files_in_a_video_folder_are_counted_and_the_rest_runs(tmp_path: Path) -> None:
    folder = tmp_path / "videos"
    write_lossless(folder / "good.mkv", clip(5, 64, 96), 16.0)
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "noise.webm").write_bytes(np.random.default_rng(1).bytes(3000))
    got = go(tmp_path, "h264:crf=30", "recon", "video-folder", folder)["recon"]
    assert got["counts"]["images_skipped"] == {"unreadable video": 2} and got["counts"]["images_used"] == 1
    reasons = {s["image"]: s["reason"] for s in got["skipped"]}
    assert "empty file" in reasons["empty"] and "noise.webm" in reasons["noise"]
    assert got["extra"]["video"]["per_clip"][0]["frames"] == 5


def test_video_samples_cover_the_buckets_with_faces_on_every_frame(tmp_path: Path) -> None:
    pytest.importorskip("dlib")
    got = go(tmp_path, "identity", "face", "video-samples", limit=1, protocol="tokbench-video:store=lossless")["face"]
    assert got["counts"]["instances_used"] == 34  # face_move: 17 frames x 2 faces, each with its own keypoints
    assert all(got["buckets"][b]["n"] > 0 for b in ("small", "medium", "large"))
    assert got["metrics"]["f_sim_large"] > 0.95  # identity: only the resize loss
    from tokbench.paths import data_root

    texts = json.loads((data_root() / "video-samples-v1" / "text_video_samples.json").read_text())
    ratios = [a["ratio"] for r in texts for a in r["annotations"]]
    for e0, e1, e2 in ((0.01, 0.02, 0.03), (0.005, 0.01, 0.02)):  # every text bucket at 256 and 480
        assert any(e0 <= r < e1 for r in ratios) and any(e1 <= r < e2 for r in ratios) and any(r >= e2 for r in ratios)
    per_frame = {r["image_id"] for r in read_instances(next((tmp_path / "out").rglob("face-256.json")))}
    assert per_frame == {f"face_move#frame{t}" for t in range(1, 18)}
