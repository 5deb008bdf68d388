"""Bad video input: display rotation and mirrors applied, variable frame rate told, zero frames, size changes."""

from __future__ import annotations

import io
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fakes import write_ocr
from test_video import clip

from tokbench.results import read_instances, read_result
from tokbench.video.config import VideoRunConfig
from tokbench.video.io import BadVideo, read_video, write_lossless
from tokbench.video.runner import run_video
from tokbench.video.samples import _plate

av = pytest.importorskip("av")


def write(
    path: Path,
    coded: np.ndarray,
    rotation: float = 0,
    hflip: bool = False,
    pts_ms: list[int] | None = None,
    rate: Fraction | int = 16,
) -> None:
    """Lossless FFV1 in Matroska with a display matrix and, optionally, each frame's time in ms."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=rate)
        stream.width, stream.height, stream.pix_fmt = coded.shape[2], coded.shape[1], "bgr0"
        if rotation or hflip:
            stream.set_display_rotation(rotation, hflip=hflip)
        if pts_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        for t, frame in enumerate(coded):
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            if pts_ms is not None:
                f.pts, f.time_base = pts_ms[t], Fraction(1, 1000)
            for packet in stream.encode(f):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


# FFmpeg's convention: a display matrix read as rotation -90 (a phone held upright) is shown turned 90 degrees
# clockwise, so the coded frame is the displayed one turned counterclockwise; +90 the other way
CASES = [
    (-90, False, lambda f: np.rot90(f, 1), "rotated 90 clockwise"),
    (90, False, lambda f: np.rot90(f, -1), "rotated 90 counterclockwise"),
    (180, False, lambda f: f[::-1, ::-1], "rotated 180"),
    (0, True, lambda f: f[:, ::-1], "mirrored left-right"),
]


@pytest.mark.parametrize(("rotation", "hflip", "code", "orientation"), CASES)
def test_display_matrix_is_applied(tmp_path: Path, rotation: int, hflip: bool, code: Any, orientation: str) -> None:
    shown = clip(3, 24, 40)
    write(tmp_path / "r.mkv", np.stack([code(f) for f in shown]), rotation, hflip)
    got = read_video(tmp_path / "r.mkv")
    assert np.array_equal(got.frames, shown)  # exactly the displayed frames
    assert got.orientation == orientation
    assert got.coded_size == (code(shown[0]).shape[1], code(shown[0]).shape[0])


def test_a_rotation_off_right_angles_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "tilt.mkv", clip(2, 16, 16), rotation=45)
    with pytest.raises(BadVideo, match=r"tilt\.mkv.*45\.0 degrees"):
        read_video(tmp_path / "tilt.mkv")


def test_variable_frame_rate_is_told_and_its_mean_rate_used(tmp_path: Path) -> None:
    pts = [0, 40, 80, 200, 240, 400, 440]
    write(tmp_path / "vfr.mkv", clip(7, 16, 16), pts_ms=pts, rate=25)
    got = read_video(tmp_path / "vfr.mkv")
    assert got.vfr is True and got.fps_source == "timestamps"
    assert got.fps == pytest.approx(6 / 0.44) and got.frame_interval_s == pytest.approx([0.04, 0.16])
    assert got.frames.shape[0] == 7  # every coded frame once: none duplicated or dropped to a nominal rate
    # NTSC rate in millisecond ticks: 33 and 34 ms alternate, which is rounding, not a variable rate
    ntsc = [round(k * 1001 / 30) for k in range(7)]
    write(tmp_path / "ntsc.mkv", clip(7, 16, 16), pts_ms=ntsc, rate=Fraction(30000, 1001))
    cfr = read_video(tmp_path / "ntsc.mkv")
    assert cfr.vfr is False and cfr.fps_source == "stream" and cfr.fps == pytest.approx(30000 / 1001)


def test_zero_frames_and_size_changes_are_bad_videos(tmp_path: Path) -> None:
    with av.open(str(tmp_path / "zero.mp4"), "w") as out:  # a header and a track, no frame
        stream = out.add_stream("libx264", rate=16)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        out.start_encoding()
    with pytest.raises(BadVideo, match=r"zero\.mp4: (no video stream|no frames)"):
        read_video(tmp_path / "zero.mp4")

    def segment(w: int, h: int) -> bytes:
        buf = io.BytesIO()
        with av.open(buf, "w", format="mpegts") as out:
            stream = out.add_stream("libx264", rate=16)
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            for frame in clip(3, h, w):
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    out.mux(packet)
            for packet in stream.encode(None):
                out.mux(packet)
        return buf.getvalue()

    (tmp_path / "resized.ts").write_bytes(segment(64, 32) + segment(32, 32))  # MPEG-TS concatenates
    with pytest.raises(BadVideo, match=r"resized\.ts: frame 3 is 32x32, frame 0 was 64x32"):
        read_video(tmp_path / "resized.ts")


def test_annotations_refer_to_displayed_frames(tmp_path: Path) -> None:
    """A phone-style rotated clip with boxes on its displayed frames, some frames annotated; a clip with no
    annotations; a variable-frame-rate clip: text reads every box on its plate, recon scores every clip."""
    folder = tmp_path / "videos"
    folder.mkdir()
    shown = clip(5, 96, 64)  # portrait as displayed
    records = []
    for t in (0, 2, 4):  # frames 2 and 4 carry no annotation
        ann = _plate(shown[t], "Sign", 12, 8, 10 + 12 * t)
        records.append({"file_name": f"phone-frame{t + 1}.jpg", "video_name": "phone", "annotations": [ann]})
    coded = np.stack([np.rot90(f, 1) for f in shown])
    x0, y0, x1, y1 = records[0]["annotations"][0]["bbox"]
    assert np.mean(np.all(coded[0, y0:y1, x0:x1] > 200, axis=-1)) < 0.4  # unturned, the box misses its plate
    write(folder / "phone.mkv", coded, rotation=-90)
    write_lossless(folder / "still.mkv", clip(4, 32, 48, seed=1), 16.0)
    write(folder / "vfr.mkv", clip(4, 32, 48, seed=2), pts_ms=[0, 50, 100, 300], rate=20)
    ann_file = tmp_path / "text_phone.json"
    ann_file.write_text(json.dumps(records))
    # reads a crop as the word when most of it is the light plate: a box off its plate reads as nothing
    plate_ocr = write_ocr(tmp_path, "plate", '"Sign" if np.mean(np.all(np.asarray(c) > 200, axis=-1)) > 0.4 else ""')
    cfg = VideoRunConfig(
        model="identity",
        suites=["text", "recon"],
        dataset=str(ann_file),
        images=str(folder),
        output_dir=str(tmp_path / "out"),
        cache_dir=str(tmp_path / "cache"),
        intervals="none",
        protocol="tokbench-video:store=lossless",
        suite_options={"text": {"ocr": plate_ocr}},
    )
    got = {read_result(p)["suite"]["name"]: (read_result(p), p) for p in run_video(cfg)}
    text, path = got["text"]
    assert text["counts"]["instances_used"] == 3 and text["metrics"]["t_acc_pooled"] == 100.0
    assert {r["image_id"] for r in read_instances(path)} == {"phone#frame1", "phone#frame3", "phone#frame5"}
    recon = got["recon"][0]
    assert recon["extra"]["video"]["clips"] == 3
    per_clip = {c["clip"]: c for c in recon["extra"]["video"]["per_clip"]}
    phone = per_clip["phone"]
    assert phone["orientation"] == "rotated 90 clockwise" and phone["rotation"] == -90
    assert phone["size"] == [64, 96] and phone["coded_size"] == [96, 64]
    assert per_clip["still"]["vfr"] is False and per_clip["still"]["orientation"] == "as coded"
    assert per_clip["vfr"]["vfr"] is True and per_clip["vfr"]["fps_source"] == "timestamps"
    assert per_clip["vfr"]["fps"] == pytest.approx(3 / 0.3)


def test_h264_is_deterministic_within_a_process() -> None:
    """x264's SIMD path gave other bytes for the same frames after a few encodes in one process (96x64,
    2-8 distinct outputs in 25); the reference store and the h264 baseline use its C path (asm=0)."""
    import hashlib

    from tokbench.video.io import decode_video_bytes, encode_video
    from tokbench.video.protocol import REFERENCE_STORE

    frames = clip(9, 64, 96)
    options = {"crf": "23", "preset": "medium", "threads": "1", "x264-params": str(REFERENCE_STORE["x264_params"])}
    seen = set()
    for _ in range(30):
        data, _ = encode_video(frames, "libx264", "mp4", "yuv420p", options, 16.0)
        seen.add(hashlib.sha256(decode_video_bytes(data, 9, (64, 96)).tobytes()).hexdigest())
    assert len(seen) == 1
