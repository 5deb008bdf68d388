"""Video pieces on tiny clips: frame rules, the clip reconstruction path, the protocol, metrics, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tokbench.errors import ConfigError
from tokbench.reconstruct import CallStats
from tokbench.tokenizer import Encoded
from tokbench.validate import AdapterError
from tokbench.video import metrics as vm
from tokbench.video.contract import FrameByFrame, FrameRule, VideoTokenizer, VideoTokenizerInfo, pad_frames, windows
from tokbench.video.data import annotated_dataset
from tokbench.video.io import BadVideo, encode_video, read_video, write_lossless
from tokbench.video.protocol import VideoProtocol
from tokbench.video.reconstruct import reconstruct_clip


def clip(t: int = 9, h: int = 64, w: int = 96, seed: int = 0) -> np.ndarray:
    """A smooth moving pattern with texture (codecs and SSIM need structure, not noise)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    frames = []
    for k in range(t):
        base = 127 + 60 * np.sin((xx + 3 * k) / 7.0) * np.cos(yy / 9.0)
        rgb = np.stack([base, base[::-1], np.roll(base, k, 1)], axis=-1) + rng.normal(0, 4, (h, w, 3))
        frames.append(np.clip(rgb, 0, 255).astype(np.uint8))
    return np.stack(frames)


class StrictVideo(VideoTokenizer):
    """Identity that accepts only 1 + 4k frames and records what it was fed."""

    def __init__(self, window: int | None = None, drop: bool = False) -> None:
        rule = FrameRule() if drop else FrameRule(4, 1)
        self.info = VideoTokenizerInfo("strict", "test", "identity", frames=rule, window=window)
        self.fed: list[int] = []
        self.drop = drop

    def encode(self, clips: torch.Tensor) -> Encoded:
        t = clips.shape[1]
        if not self.drop and (t - 1) % 4:
            raise ValueError(f"got {t} frames")
        self.fed.append(t)
        return Encoded(latents=clips, bits=torch.tensor([float(t)]))

    def decode(self, encoded: Encoded) -> torch.Tensor:
        x = encoded.latents
        return x[:, : 1 + 4 * ((x.shape[1] - 1) // 4)] if self.drop else x  # Wan-like silent truncation


def test_frame_rule_padded_counts() -> None:
    rule = FrameRule(4, 1)
    assert [rule.padded(t) for t in range(1, 11)] == [1, 5, 5, 5, 5, 9, 9, 9, 9, 13]
    assert [FrameRule(17, 0).padded(t) for t in (1, 17, 18)] == [17, 17, 34]
    assert FrameRule().padded(7) == 7 and FrameRule(8, 1).describe() == "1 + 8k"
    with pytest.raises(ConfigError, match="step"):
        FrameRule(0, 1)


@pytest.mark.parametrize("t", [1, 4, 5, 8, 10])
def test_padding_round_trips_exactly(t: int) -> None:
    canvas = clip(t, 32, 32)
    tok = StrictVideo()
    entry = reconstruct_clip(tok, canvas, "c", "cpu", "fp32", CallStats())
    assert np.array_equal(entry.canvas_recon, canvas)  # every real frame back, the repeats trimmed
    assert tok.fed == entry.padded == [FrameRule(4, 1).padded(t)]
    assert entry.bits == float(entry.padded[0])
    padded = pad_frames(canvas, entry.padded[0])
    assert np.array_equal(padded[:t], canvas) and all(np.array_equal(f, canvas[-1]) for f in padded[t:])


def test_windows_pad_each_window_and_cover_every_frame() -> None:
    assert windows(10, 4) == [(0, 4), (4, 8), (8, 10)]
    canvas = clip(10, 32, 32)
    tok = StrictVideo(window=4)
    entry = reconstruct_clip(tok, canvas, "c", "cpu", "fp32", CallStats())
    assert np.array_equal(entry.canvas_recon, canvas)
    assert entry.padded == [5, 5, 5]


def test_a_decoder_that_drops_frames_is_an_error() -> None:
    with pytest.raises(AdapterError, match="returned 9 frames for 10"):
        reconstruct_clip(StrictVideo(drop=True), clip(10, 32, 32), "c", "cpu", "fp32", CallStats())


def test_per_frame_mode_is_the_image_tokenizer_on_each_frame() -> None:
    from tokbench.adapters.codecs import PillowCodec

    image = PillowCodec(codec="jpeg", quality=30)
    tok = FrameByFrame(image)
    assert tok.info.mode == "per-frame" and tok.info.image_info is not None
    frames = clip(3, 32, 48)
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255)
    entry = reconstruct_clip(tok, frames, "c", "cpu", "fp32", CallStats())
    one = image.decode(image.encode(x))
    expected = one.mul(255).round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()
    assert np.array_equal(entry.canvas_recon, expected)
    assert entry.bits == pytest.approx(float(image.encode(x).bits.sum()))


def test_protocol_geometry_and_restore() -> None:
    p = VideoProtocol(store="lossless")
    g = p.geometry(480, 320, 256, 32)
    assert (g.w, g.h, g.canvas_w, g.canvas_h, g.x, g.y) == (384, 256, 384, 256, 0, 0)
    g = p.geometry(101, 250, 256, 32)  # portrait, odd: long side round(250 * 256 / 101) = 634 -> 640
    assert (g.w, g.h, g.canvas_w, g.canvas_h, g.x, g.y) == (256, 634, 256, 640, 0, 3)
    frames = clip(3, 256, 300)  # short side already S: the canvas holds the frames unchanged
    canvas, placement = p.prepare(frames, 256, 32)
    assert canvas.shape == (3, 256, 320, 3) and not canvas[:, :, :10].any()
    assert np.array_equal(p.restore(canvas, placement), frames)
    with pytest.raises(ConfigError, match="store"):
        VideoProtocol.parse("tokbench-video:store=jpeg")
    with pytest.raises(ConfigError, match="unknown option"):
        VideoProtocol.parse("tokbench-video:crf=3")


def test_reference_store_is_one_h264_generation() -> None:
    frames = clip(5, 37, 51)  # odd sides: padded to even for 4:2:0, cropped back
    stored = VideoProtocol(store="reference").stored(frames, 16.0)
    assert stored.shape == frames.shape
    assert 30 < vm.psnr_pooled(frames, stored) < 60  # lossy, but a good-quality generation
    assert VideoProtocol(store="lossless").stored(frames, 16.0) is frames


def test_psnr_pooled_and_per_frame_against_torchmetrics() -> None:
    from torchmetrics.functional.image import peak_signal_noise_ratio

    ref = clip(6, 24, 32)
    rec = ref.copy()
    rec[2] = np.clip(rec[2].astype(int) + 20, 0, 255).astype(np.uint8)  # error in one frame only
    rec[4, :5] = 0
    a, b = torch.from_numpy(ref).double(), torch.from_numpy(rec).double()
    pooled = float(peak_signal_noise_ratio(b, a, data_range=255.0))
    per_frame = [float(peak_signal_noise_ratio(b[t], a[t], data_range=255.0)) for t in (2, 4)]
    assert vm.psnr_pooled(ref, rec) == pytest.approx(pooled, rel=1e-6)  # torchmetrics sums in float32
    assert vm.psnr_frames(ref, rec) == pytest.approx((sum(per_frame) + 4 * 100.0) / 6, rel=1e-6)  # cap 100
    assert vm.psnr_pooled(ref, rec) <= vm.psnr_frames(ref, rec)  # Jensen


def test_ssim_per_frame_against_skimage() -> None:
    from skimage.metrics import structural_similarity

    ref, rec = clip(3, 48, 48, 0), clip(3, 48, 48, 1)
    expected = np.mean(
        [
            structural_similarity(
                ref[t].astype(np.float64),
                rec[t].astype(np.float64),
                data_range=255,
                channel_axis=-1,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
            )  # fmt: skip
            for t in range(3)
        ]
    )
    assert vm.ssim_frames(ref, rec) == pytest.approx(expected, abs=1e-6)
    assert vm.ssim_frames(ref, ref) == pytest.approx(1.0)


def test_temporal_difference_and_flicker() -> None:
    ref = (clip(5, 16, 16).astype(int) // 2 + 40).astype(np.uint8)  # room for an offset without clipping
    shifted = (ref.astype(int) + 7).astype(np.uint8)
    assert vm.td_mse(ref, shifted) == 0.0  # the same error in every frame is no temporal error
    noisy = ref.copy()
    noisy[3] = noisy[3] + 5
    dx, dy = np.diff(ref.astype(float), axis=0), np.diff(noisy.astype(float), axis=0)
    assert vm.td_mse(ref, noisy) == pytest.approx(float(np.mean((dx - dy) ** 2)))
    assert vm.tpsnr(0.0) == 100.0 and vm.td_mse(ref[:1], ref[:1]) is None
    static = np.repeat(ref[:1], 4, axis=0)
    assert vm.flicker(static) == 1.0
    mad = np.mean(np.abs(np.diff(ref.astype(float), axis=0)))  # VBench: (255 - MAD) / 255
    assert vm.flicker(ref) == pytest.approx((255 - mad) / 255)


def test_codec_bits_are_the_packets(tmp_path: Path) -> None:
    from tokbench.adapters.video_codecs import VideoCodec

    frames = clip(5, 32, 48)
    data, payload = encode_video(frames, "libx264", "mp4", "yuv420p", {"crf": "30", "threads": "1"}, 16.0)
    path = tmp_path / "a.mp4"
    path.write_bytes(data)
    import av

    with av.open(str(path)) as c:
        sizes = [p.size for p in c.demux(video=0) if p.size]
    # mp4 stores length-prefixed NAL units where the encoder emitted start codes: a byte or so per packet
    assert abs(sum(sizes) - payload) <= 2 * len(sizes) and payload < len(data)
    tok = VideoCodec("h264", crf=30)
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255)[None]
    enc = tok.encode(x)
    # the adapter's bits are the packets of the file it wrote (read back from that file, not re-encoded:
    # x264 writes its settings into the stream, so another encoder call is not the same bytes)
    own = tmp_path / "own.mp4"
    own.write_bytes(enc.meta["files"][0])
    with av.open(str(own)) as c:
        own_sizes = [p.size for p in c.demux(video=0) if p.size]
    assert abs(float(enc.bits[0]) / 8 - sum(own_sizes)) <= 2 * len(own_sizes)
    assert float(enc.bits[0]) / 8 < enc.meta["file_bytes"][0]
    assert tok.decode(enc).shape == x.shape
    with pytest.raises(ConfigError, match="crf"):
        VideoCodec("h264", crf=99)
    with pytest.raises(ConfigError, match="not both"):
        VideoCodec("vp9", crf=30, bpp=0.1)


def test_bad_video_files_name_the_file_and_problem(tmp_path: Path) -> None:
    good = tmp_path / "good.mkv"
    write_lossless(good, clip(4, 17, 33), 8.0)  # odd sizes decode as they are
    decoded = read_video(good)
    assert decoded.frames.shape == (4, 17, 33, 3) and decoded.fps == 8.0
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "noise.mp4").write_bytes(np.random.default_rng(0).bytes(5000))
    data, _ = encode_video(clip(9, 32, 32), "libx264", "mp4", "yuv420p", {"crf": "20"}, 16.0)
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 3])
    for name, problem in (("empty.mp4", "empty file"), ("noise.mp4", "cannot decode"), ("cut.mp4", "")):
        with pytest.raises(BadVideo, match=name) as err:
            read_video(tmp_path / name)
        assert problem in str(err.value)


def test_annotations_bad_records_are_counted(tmp_path: Path) -> None:
    write_lossless(tmp_path / "a.mkv", clip(3, 16, 16), 8.0)
    text = [
        {"file_name": "a-frame1.jpg", "video_name": "a", "annotations": [{"rec": "x", "bbox": [0, 0, 4, 4]}]},
        {"file_name": "a-frame9.jpg", "video_name": "a", "annotations": [{"rec": "y", "bbox": [0, 0, 4, 4]}]},
        {"file_name": "a.jpg", "video_name": "a", "annotations": []},
        {"file_name": "b-frame1.jpg", "video_name": "b", "annotations": [{"rec": "z", "bbox": [0, 0, 4, 4]}]},
        ["not", "a", "record"],
    ]
    ann = tmp_path / "text_a.json"
    ann.write_text(json.dumps(text))
    ds = annotated_dataset(tmp_path, "t", [ann])
    assert [c.clip_id for c in ds.samples] == ["a"]
    assert sorted(ds.samples[0].frames) == [0, 8]  # frame 9 is filed; the runner counts it (3 frames)
    reasons = sorted(r for _, r in ds.skipped)
    assert reasons == [
        "annotated video not in the folder",
        "file_name has no 1-based -frame<N>",
        "record is not an object",
    ]
