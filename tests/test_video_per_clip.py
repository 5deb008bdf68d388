"""Per-clip text summaries on video: each clip's numbers are the suite's own aggregate over its records."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fakes import write_ocr
from test_video_run import go, text_folder

pytest.importorskip("av")

MODEL = "jpeg:quality=20"
LOSSLESS = "tokbench-video:store=lossless"  # FFV1: exact, so separate runs agree to the bit


def ocr_options(tmp_path: Path) -> dict[str, Any]:
    # reads a crop as a prefix of the truth whose length follows the crop's pixels: results vary by clip and frame
    return {"text": {"ocr": write_ocr(tmp_path, "pixel", '"Sign"[: 1 + int(c.mean()) % 4]')}}


def one_clip_set(root: Path, ann: Path, folder: Path, name: str) -> tuple[Path, Path]:
    """The clip ``name`` alone: its folder and its annotation records."""
    (root / name).mkdir(parents=True)
    shutil.copy(folder / f"{name}.mkv", root / name / f"{name}.mkv")
    records = [r for r in json.loads(ann.read_text()) if r["video_name"] == name]
    out = root / f"text_{name}.json"
    out.write_text(json.dumps(records))
    return out, root / name


def test_per_clip_numbers_equal_one_clip_runs(tmp_path: Path) -> None:
    ann, folder = text_folder(tmp_path)
    opts = ocr_options(tmp_path)
    both = go(tmp_path, MODEL, "text", str(ann), folder, suite_options=opts, protocol=LOSSLESS)["text"]
    per_clip = both["extra"]["per_clip"]
    assert list(per_clip) == ["alpha", "beta"]
    alone = {}
    for name in ("alpha", "beta"):
        a, f = one_clip_set(tmp_path / "sets", ann, folder, name)
        alone[name] = go(
            tmp_path, "jpeg:quality=20", "text", str(a), f, suite_options=opts, protocol=LOSSLESS, tag=name
        )
    for name, result in alone.items():
        got = dict(per_clip[name])
        assert got.pop("instances") == result["text"]["counts"]["instances_used"] == 9
        assert got == result["text"]["metrics"]
    # the stand-in reads differently per clip, so the check is not between equal numbers
    assert per_clip["alpha"]["t_ned_pooled"] != per_clip["beta"]["t_ned_pooled"]
    assert both["metrics"]["t_ned_pooled"] == pytest.approx(
        (per_clip["alpha"]["t_ned_pooled"] + per_clip["beta"]["t_ned_pooled"]) / 2
    )


def test_per_clip_face_numbers_equal_one_clip_runs(tmp_path: Path) -> None:
    """Two face clips cut from video-samples' moving faces (all 17 frames, and the first 6): each clip's
    F-Sim in the two-clip result equals its own one-clip run (dlib, shipped offline)."""
    pytest.importorskip("dlib")
    from tokbench.video.data import samples_dataset
    from tokbench.video.io import read_video, write_lossless

    clips = samples_dataset(str(tmp_path / "data")).samples
    [face_clip] = [c for c in clips if any("faces" in frame for frame in c.frames.values())]
    frames = read_video(face_clip.path).frames
    anns = [face_clip.frames.get(t, {}).get("faces", []) for t in range(frames.shape[0])]
    cuts = {"whole": frames.shape[0], "start": 6}
    both_dir = tmp_path / "both"
    records = []
    for name, n in cuts.items():
        write_lossless(both_dir / f"{name}.mkv", frames[:n], 16.0)
        (tmp_path / name).mkdir()
        write_lossless(tmp_path / name / f"{name}.mkv", frames[:n], 16.0)
        records.append({"video_name": f"{name}.mkv", "frame_anns": anns[:n]})
        (tmp_path / f"face_{name}.json").write_text(json.dumps(records[-1:]))
    (tmp_path / "face_both.json").write_text(json.dumps(records))
    both = go(tmp_path, MODEL, "face", str(tmp_path / "face_both.json"), both_dir, protocol=LOSSLESS, tag="both")
    per_clip = both["face"]["extra"]["per_clip"]
    assert sorted(per_clip) == ["start", "whole"]
    for name in cuts:
        alone = go(
            tmp_path, MODEL, "face", str(tmp_path / f"face_{name}.json"), tmp_path / name, protocol=LOSSLESS, tag=name
        )["face"]
        got = dict(per_clip[name])
        assert got.pop("instances") == alone["counts"]["instances_used"] > 0
        assert got == alone["metrics"]
    assert per_clip["whole"]["instances"] > per_clip["start"]["instances"]
