"""The report's video section: video results in their own tables, TokBench-video's rows beside them only."""

from __future__ import annotations

import json
from pathlib import Path

from test_video_run import go, text_folder

from tokbench.report.build import make_report
from tokbench.report.video_section import VIDEO_PUBLISHED

ROOT = Path(__file__).resolve().parent.parent
IMAGE = ROOT / "results" / "baselines" / "identity" / "samples" / "recon-256.json"


def test_published_video_file_is_consistent() -> None:
    data = json.loads(VIDEO_PUBLISHED.read_text())
    assert len(data["rows"]) == 16 and {r["resolution"] for r in data["rows"]} == {256, 480}
    for row in data["rows"]:
        for m in ("t_acc", "t_ned", "f_sim"):
            buckets = [row["metrics"][f"{m}_{b}"] for b in ("small", "medium", "large")]
            assert abs(sum(buckets) / 3 - row["metrics"][m]) <= 0.011, (row["model"], m)  # Mean = mean of buckets


def test_video_results_get_their_own_tables_and_image_tables_are_unchanged(tmp_path: Path) -> None:
    _, folder = text_folder(tmp_path)
    go(tmp_path, "h264:crf=35", "recon,temporal", "video-folder", folder, limit=1)
    video_dir = tmp_path / "out"
    image_only = make_report([IMAGE], with_published=True)
    both = make_report([IMAGE, video_dir], with_published=True)
    video = [t for t in both.tables if t.name.startswith("video-")]
    assert {t.name for t in both.tables} - {t.name for t in video} == {t.name for t in image_only.tables}
    for a, b in zip(image_only.tables, [t for t in both.tables if not t.name.startswith("video-")], strict=True):
        assert a.frame.equals(b.frame)  # image tables untouched by the video results
    recon = next(t for t in video if t.kind == "recon")
    assert recon.title.startswith("Video — ") and list(recon.frame["Model"]) == ["h264:crf=35"]
    assert "psnr_pooled" in {c.key for c in recon.columns}
    # TokBench-video's rows come with video results, at both short sides, marked published
    text = [t for t in video if "t_acc" in {c.key for c in t.columns}]
    assert {t.resolution for t in text} == {256, 480}
    t256 = next(t for t in text if t.resolution == 256)
    row = list(t256.frame["Model"]).index("Resize")
    assert t256.frame.iloc[row]["t_acc"] == 88.14 and t256.frame.iloc[row]["Source"] == "published"
    assert not any("t_acc" in {c.key for c in t.columns} for t in image_only.tables if t.resolution == 480)
