"""TokBench-video's sets as manifests: ``--dataset ch3`` / ``ds`` / ``face_clip_3s`` (and any video manifest)
route to the video runner, read TokBench's per-frame formats, are verified, and fail fast when absent."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from tokbench.data.dataset import DatasetUnavailable
from tokbench.data.manifest import ManifestError, builtin_manifest, fetch
from tokbench.hashing import sha256_file
from tokbench.video.data import is_video_dataset, resolve_video_dataset

pytest.importorskip("av")


@pytest.mark.parametrize(
    ("name", "kind", "videos", "annotations"),
    [
        ("ch3", "video-text", "videos/text_data/ch3", "video_annotations/text_ch3.json"),
        ("ds", "video-text", "videos/text_data/ds", "video_annotations/text_ds.json"),
        ("face_clip_3s", "video-faces", "videos/face_data/face_clip_3s", "video_annotations/videoface_meta.json"),
    ],
)
def test_tokbench_video_sets_are_registered_where_tokbench_keeps_them(name, kind, videos, annotations) -> None:
    m = builtin_manifest(name)
    assert m.kind == kind and m.images == videos and m.annotations and m.annotations["file"] == annotations
    assert m.source["repo_id"] == "Junfeng5/TokBench" and f"{videos}/*" in m.source["allow_patterns"]
    assert annotations in m.source["allow_patterns"]
    assert is_video_dataset(name)
    assert not is_video_dataset("wflw") and not is_video_dataset("samples")


def test_an_absent_set_fails_at_once_with_the_fetch_command(tmp_path: Path) -> None:
    with pytest.raises(DatasetUnavailable, match=r"run `tokbench data fetch ch3` \(needs network\)"):
        resolve_video_dataset("ch3", None, str(tmp_path))
    with pytest.raises(ManifestError, match="--offline forbids downloading"):
        fetch(builtin_manifest("face_clip_3s"), tmp_path / "face_clip_3s", offline=True)


def _clip(path: Path, frames: int = 3) -> None:
    from tokbench.video.io import encode_video

    rng = np.random.default_rng(0)
    data, _ = encode_video(rng.integers(0, 256, (frames, 32, 48, 3), dtype=np.uint8), "ffv1", "matroska", "bgr0", {}, 8)
    path.write_bytes(data)


def _user_set(tmp_path: Path) -> Path:
    root = tmp_path / "myvid"
    (root / "clips").mkdir(parents=True)
    _clip(root / "clips" / "v1.mkv")
    ann = [
        {"file_name": "v1-frame2.jpg", "video_name": "v1.mkv", "height": 32, "width": 48,
         "annotations": [{"rec": "ab", "bbox": [1, 1, 20, 12], "ratio": 0.1}]},
        {"file_name": "v1-frame9.jpg", "video_name": "v1.mkv", "height": 32, "width": 48,
         "annotations": [{"rec": "cd", "bbox": [1, 1, 20, 12], "ratio": 0.1}]},
    ]  # fmt: skip
    (root / "text_v.json").write_text(json.dumps(ann))
    manifest = {
        "name": "myvid", "kind": "video-text",
        "source": {"type": "local", "env": "TOKBENCH_MYVID", "hint": "my clips"},
        "images": "clips", "annotations": {"file": "text_v.json", "format": "tokbench-video-text"},
        "files": {"text_v.json": sha256_file(root / "text_v.json")},
    }  # fmt: skip
    path = tmp_path / "myvid.json"
    path.write_text(json.dumps(manifest))
    return path


def test_a_user_video_manifest_reads_per_frame_annotations_and_is_verified(tmp_path: Path, monkeypatch) -> None:
    path = _user_set(tmp_path)
    monkeypatch.setenv("TOKBENCH_MYVID", str(tmp_path / "myvid"))
    assert is_video_dataset(str(path))
    ds = resolve_video_dataset(str(path), None, None)
    [clip] = ds.samples
    assert ds.name == "myvid" and ds.identity["manifest"] == "myvid" and "manifest_sha256" in ds.identity
    assert sorted(clip.frames) == [1, 8] and clip.frames[1]["text"][0]["rec"] == "ab"
    # a changed annotation file no longer matches the manifest's checksum: refused, naming the file
    ann = tmp_path / "myvid" / "text_v.json"
    ann.write_text(ann.read_text().replace('"ab"', '"xx"'))
    with pytest.raises(ManifestError, match=r"checksum mismatch: \$TOKBENCH_MYVID/text_v.json"):
        resolve_video_dataset(str(path), None, None)


def test_a_video_set_runs_and_counts_the_frame_beyond_the_clip(tmp_path: Path, monkeypatch) -> None:
    """The run goes through the video runner: frame 2 is scored, frame 9 of a 3-frame clip is a counted skip."""
    from typer.testing import CliRunner

    from tokbench.cli import app
    from tokbench.results import read_result

    path = _user_set(tmp_path)
    monkeypatch.setenv("TOKBENCH_MYVID", str(tmp_path / "myvid"))
    sys.path.insert(0, str(Path(__file__).parent))
    from fakes import write_ocr

    ocr = write_ocr(tmp_path, "one-word", '"Sign"')
    out = tmp_path / "out"
    args = ["run", "--model", "identity", "--suite", "text", "--dataset", str(path), "--output-dir", str(out)]
    args += ["--cache-dir", str(tmp_path / "cache"), "--resolution", "256", "--suite-arg", f"text:ocr={ocr}"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    result = read_result(out / "identity" / "myvid" / "text-256.json")
    assert result["dataset"]["identity"]["manifest"] == "myvid"
    assert [s["reason"] for s in result["skipped"]] == ["annotated frame beyond the clip: frame 9 of 3, 1 instances"]
