"""``language`` on video: codes kept in the clip cache, sentences per frame or per window, token rates."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_video import clip
from test_video_run import go
from tokbench.suites.language import LanguageSuite

from tokbench.registry import build_model, parse_model_spec
from tokbench.suite import Item
from tokbench.video import runner as video_runner
from tokbench.video.cache import ClipCache, ClipEntry
from tokbench.video.io import read_video, write_lossless
from tokbench.video.protocol import VideoProtocol

pytest.importorskip("av")

KMEANS = "kmeans-vq:p=8,K=16,iters=3"
VIDEO_ONLY = ("n_clips", "rate.tokens_per_clip", "rate.tokens_per_frame", "rate.tokens_per_second")


def two_clips(root: Path) -> Path:
    """a: 5 frames at 16 fps, b: 3 frames at 8 fps, 64x96 (canvas 96x64 at short side 64)."""
    folder = root / "videos"
    write_lossless(folder / "a.mkv", clip(5, 64, 96, seed=1), 16.0)
    write_lossless(folder / "b.mkv", clip(3, 64, 96, seed=2), 8.0)
    return folder


def run(tmp_path: Path, model: str, folder: Path, **kw: Any) -> dict[str, Any]:
    return go(tmp_path, model, "language", "video-folder", folder, resolutions=[64], **kw)["language"]


def test_per_frame_rates_are_the_code_grid_times_frames_and_fps(tmp_path: Path) -> None:
    got = run(tmp_path, KMEANS, two_clips(tmp_path))
    m = got["metrics"]
    per_frame = (96 // 8) * (64 // 8)  # the kmeans code grid of one 96x64 canvas
    assert [c["canvas"] for c in got["extra"]["video"]["per_clip"]] == [[96, 64], [96, 64]]
    assert m["rate.tokens_per_frame"] == per_frame
    assert m["rate.tokens_per_clip"] == per_frame * (5 + 3) / 2
    assert m["rate.tokens_per_second"] == (per_frame * 16 + per_frame * 8) / 2
    assert m["n_clips"] == 2 and m["n_images"] == 8  # one sentence per frame
    assert got["extra"]["sentences"]["unit"] == "frame"
    assert got["counts"]["instances_used"] == 8
    again = run(tmp_path, KMEANS, two_clips(tmp_path), tag="again")  # codes come back from the clip cache
    assert again["run"]["tokenizer_calls"] == 0 and again["cache"]["video_recon"]["hits"] == 2
    assert again["metrics"] == m


def _plain(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def test_codebook_statistics_equal_the_image_suite_on_the_same_frames(tmp_path: Path) -> None:
    folder = two_clips(tmp_path)
    got = run(tmp_path, KMEANS, folder)["metrics"]
    # the image suite by hand: each canvas frame encoded as an image, named as the video sentences
    import torch

    adapter = build_model(parse_model_spec(KMEANS))
    items = []
    for name in ("a", "b"):
        frames = read_video(folder / f"{name}.mkv").frames
        canvas, _ = VideoProtocol.parse("tokbench-video").prepare(frames, 64, 32)
        x = torch.from_numpy(canvas).permute(0, 3, 1, 2).float().div(255.0)
        codes = adapter.encode(x).codes.numpy()
        items += [
            Item(f"{name}#frame{t + 1}", frames[t], frames[t], canvas[t], canvas[t], 64, codes=[codes[t]])
            for t in range(len(frames))
        ]
    suite = LanguageSuite(codebook_sizes=[16], token_layout="2d")
    image = suite.aggregate([r for recs in suite.process(items) for r in recs], 64)["metrics"]
    assert image["level0.used_codes"] > 1 and image["level0.unigram_entropy_bits"] > 0
    assert {k: _plain(v) for k, v in image.items()} == {k: v for k, v in got.items() if k not in VIDEO_ONLY}


def test_continuous_models_and_codecs_skip_every_clip(tmp_path: Path) -> None:
    for model in ("identity", "jpeg:quality=30"):
        got = run(tmp_path, model, two_clips(tmp_path), tag=model)
        assert got["metrics"] == {} and got["counts"]["instances_skipped"] == {"needs discrete codes": 2}
        assert got["extra"]["skipped"] == "needs discrete codes"


WINDOWED = textwrap.dedent("""
    import torch
    from tokbench.tokenizer import Encoded
    from tokbench.video.contract import FrameRule, VideoTokenizer, VideoTokenizerInfo

    class HalfTime(VideoTokenizer):
        '''Discrete stand-in: windows of 3 frames (1 + 2k), one latent frame per 2 frames (ceil), 8x8 patches.'''

        def __init__(self):
            self.info = VideoTokenizerInfo("half-time", "test", "discrete", temporal_compression=2,
                                           spatial_compression=8, frames=FrameRule(2, 1), window=3,
                                           codebook_sizes=(16,))

        def encode(self, clips):
            b, t, _, h, w = clips.shape
            lat = torch.nn.functional.avg_pool3d(clips.mean(2, keepdim=True).transpose(1, 2), (2, 8, 8),
                                                 ceil_mode=True)
            return Encoded(codes=(lat[:, 0] * 15).round().long(), meta={"shape": clips.shape})

        def decode(self, enc):
            return torch.full(enc.meta["shape"], 0.5)
""")


def test_a_video_tokenizer_makes_one_sentence_per_window_padding_counted(tmp_path: Path) -> None:
    file = tmp_path / "half_time.py"
    file.write_text(WINDOWED)
    folder = tmp_path / "videos"
    write_lossless(folder / "a.mkv", clip(5, 64, 96, seed=1), 16.0)
    got = run(tmp_path, f"{file}:HalfTime", folder)
    m = got["metrics"]
    # windows of 5 frames: [3 real], [2 real padded to 3]; each 3-frame window -> 2 latent frames x 8x12
    assert got["extra"]["video"]["per_clip"][0]["padded_to"] == [3, 3]
    assert m["n_images"] == 2 and got["extra"]["sentences"]["unit"] == "window"
    assert m["rate.tokens_per_clip"] == 2 * 2 * 8 * 12
    assert m["rate.tokens_per_frame"] == 2 * 2 * 8 * 12 / 5
    assert m["rate.tokens_per_second"] == pytest.approx(2 * 2 * 8 * 12 / 5 * 16)


def test_the_clip_cache_keeps_codes_as_integer_data_and_changed_layout_misses(tmp_path: Path, monkeypatch) -> None:
    cache = ClipCache(tmp_path)
    recon = np.zeros((3, 8, 8, 3), np.uint8)
    codes = [[np.arange(4).reshape(2, 2)], [np.arange(2).reshape(1, 2)]]
    cache.put("k1", ClipEntry(recon, 12.0, [2, 1], codes))
    cache.put("k2", ClipEntry(recon, None, [3], None))
    one, two = cache.get("k1", recon.shape), cache.get("k2", recon.shape)
    assert one is not None and two is not None and two.codes is None and one.bits == 12.0
    assert one.codes is not None and all(
        np.array_equal(a, b) and a.dtype == b.dtype
        for wa, wb in zip(one.codes, codes, strict=True)
        for a, b in zip(wa, wb, strict=True)
    )
    # the layout is part of the key: entries of another layout are never looked up
    folder = two_clips(tmp_path)
    run(tmp_path, KMEANS, folder)
    monkeypatch.setattr(video_runner, "LAYOUT", "clip-entry-1")
    again = run(tmp_path, KMEANS, folder, tag="old-layout")
    assert again["cache"]["video_recon"]["hits"] == 0 and again["run"]["tokenizer_calls"] > 0


def test_batch_size_and_frame_rate_are_in_the_keys(tmp_path: Path) -> None:
    """A per-frame model's entry holds its codes per call of --batch-size frames, and the frame rate shapes
    tokens per second: another batch size, or the same frames re-muxed at another rate, is not a stale hit."""
    folder = two_clips(tmp_path)
    first = run(tmp_path, KMEANS, folder, batch_size=2, tag="b2")
    other = run(tmp_path, KMEANS, folder, batch_size=4, tag="b4")  # used to fail: cached windows of 2 frames
    assert other["cache"]["video_recon"]["hits"] == 0
    assert other["metrics"] == first["metrics"]  # frames are independent: the numbers do not move
    write_lossless(folder / "b.mkv", clip(3, 64, 96, seed=2), 4.0)  # the same frames at 4 fps
    slower = run(tmp_path, KMEANS, folder, batch_size=4, tag="fps")
    per_frame = (96 // 8) * (64 // 8)
    assert slower["metrics"]["rate.tokens_per_second"] == (per_frame * 16 + per_frame * 4) / 2
    assert slower["cache"]["video_recon"]["hits"] == 2  # the reconstruction is reused, the records are not
