"""Peak memory of a video run as clips grow 4x, per-frame image model and windowed video model, in one run.

    python benchmarks/video_memory.py [--frames 16] [--size 480x272]

Writes one clip of ``--frames`` frames and the same motion 4x longer (lossless FFV1), then runs each model
on each clip in a fresh process (Linux keeps a process's peak RSS across fork and exec) through
``run_video`` with ``recon,temporal`` at S=256 and the reference H.264 storage step. Each child prints its
peak RSS above its RSS after imports, the peak of Python/NumPy allocations (tracemalloc: the clip arrays)
and the frames the tokenizer saw per call; the parent prints them with the 4x / 1x ratios.

Models (defined here, 1x1 convolutions to 16 float32 channels and back, so activations are 64 bytes a
canvas pixel per frame in the call and compute is small):

- ``PointwiseImage``: an image tokenizer, run frame by frame (``--batch-size 8`` frames per call);
- ``PointwiseVideo:window=8``: a video tokenizer that declares 8-frame windows;
- ``PointwiseVideo``: the same with no window (whole clip per call), for contrast.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from tokbench.tokenizer import Encoded, Tokenizer, TokenizerInfo
from tokbench.video.contract import VideoTokenizer, VideoTokenizerInfo

HERE = Path(__file__).resolve()
MODELS = {
    "per-frame image": f"{HERE}:PointwiseImage",
    "video, window 8": f"{HERE}:PointwiseVideo:window=8",
    "video, whole clip": f"{HERE}:PointwiseVideo",
}


def _pointwise(x: Any, channels: int) -> Any:
    """[N,3,...] -> 16 channels -> [N,3,...]: a 1x1 convolution pair; the activations are what counts."""
    import torch

    g = torch.Generator().manual_seed(0)
    w1 = torch.randn(channels, 3, generator=g) / 3
    h = torch.einsum("cd,nd...->nc...", w1, x)  # [N,channels,...] float32
    return (x + 0 * h.mean(1, keepdim=True)).clamp(0, 1)


class PointwiseImage(Tokenizer):
    """An image tokenizer with 64 bytes a pixel of activations."""

    def __init__(self, channels: int = 16) -> None:
        self.channels = int(channels)
        self.info = TokenizerInfo(name="pointwise-image", family="benchmark", kind="continuous")

    def encode(self, images: Any) -> Encoded:
        return Encoded(latents=_pointwise(images, self.channels))

    def decode(self, encoded: Any) -> Any:
        return encoded.latents


class PointwiseVideo(VideoTokenizer):
    """A video tokenizer on ``[B,T,3,H,W]`` with 64 bytes a pixel a frame of activations over its window."""

    def __init__(self, channels: int = 16, window: int | None = None) -> None:
        self.channels = int(channels)
        self.info = VideoTokenizerInfo(
            "pointwise-video", "benchmark", "continuous", window=None if window is None else int(window)
        )

    def encode(self, clips: Any) -> Encoded:
        b, t = clips.shape[:2]
        return Encoded(latents=_pointwise(clips.reshape(b * t, *clips.shape[2:]), self.channels).reshape(clips.shape))

    def decode(self, encoded: Any) -> Any:
        return encoded.latents


def _rss_now() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def child(model: str, clip_dir: Path, cache: Path) -> dict[str, Any]:
    """One run in this fresh process; what it measured."""
    import torch  # noqa: F401  (imported before the baseline, as every run imports it)

    from tokbench.results import read_result
    from tokbench.video.config import VideoRunConfig
    from tokbench.video.runner import run_video

    base = _rss_now()
    tracemalloc.start()
    cfg = VideoRunConfig(
        model=model,
        suites=["recon", "temporal"],
        dataset="video-folder",
        images=str(clip_dir),
        output_dir=str(cache / "out"),
        cache_dir=str(cache),
        intervals="none",
        batch_size=8,
    )
    paths = run_video(cfg)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    result = read_result(paths[0])
    video = result["extra"]["video"]
    return {
        "rss_after_imports": base,
        "peak_rss": peak,
        "peak_over_imports": peak - base,
        "tracemalloc_peak": traced_peak,
        "frames": video["frames"],
        "frames_per_call": max(max(c["padded_to"]) for c in video["per_clip"]),
        "canvas": video["per_clip"][0]["canvas"],
        "psnr_pooled": result["metrics"]["psnr_pooled"],
    }


def make_clips(root: Path, frames: int, width: int, height: int) -> dict[str, Path]:
    """``frames`` and ``4 * frames`` frames of the same smooth motion with texture, each in its own folder."""
    from tokbench.video.io import write_lossless

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    noise = rng.normal(0, 4, (height, width, 3)).astype(np.float32)
    out = {}
    for label, n in (("1x", frames), ("4x", 4 * frames)):
        clip = np.empty((n, height, width, 3), np.uint8)
        for k in range(n):
            base = 127 + 60 * np.sin((xx + 3 * k) / 17.0) * np.cos(yy / 13.0)
            clip[k] = np.clip(np.stack([base, base[::-1], np.roll(base, k, 1)], -1) + noise, 0, 255)
        folder = root / label
        write_lossless(folder / "clip.mkv", clip, 16.0)
        out[label] = folder
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", default="480x272", help="WxH of the clip")
    parser.add_argument("--child", nargs=3, metavar=("MODEL", "CLIPS", "CACHE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]), Path(args.child[2]))))
        return
    width, height = (int(v) for v in args.size.split("x"))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory(prefix="tokbench-video-memory-") as tmp:
        clips = make_clips(Path(tmp), args.frames, width, height)
        rows: dict[str, dict[str, dict[str, Any]]] = {}
        for name, model in MODELS.items():
            for label, folder in clips.items():
                cache = Path(tmp) / f"cache-{len(rows)}-{label}"
                cmd = [sys.executable, str(HERE), "--child", model, str(folder), str(cache)]
                proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
                if proc.returncode:
                    sys.exit(f"{name} {label} failed:\n{proc.stderr[-3000:]}")
                rows.setdefault(name, {})[label] = json.loads(proc.stdout.strip().splitlines()[-1])
    mb = 1e6
    one = next(iter(rows.values()))["1x"]
    canvas = f"{one['canvas'][0]}x{one['canvas'][1]}"
    print(f"clip {width}x{height}, canvas {canvas}, {args.frames} vs {4 * args.frames} frames")
    print(f"{'model':20} {'frames/call':>11} {'peak RSS over imports, MB (1x -> 4x)':>38} {'ratio':>6} "
          f"{'NumPy/Python peak, MB (1x -> 4x)':>34} {'ratio':>6}")  # fmt: skip
    for name, r in rows.items():
        a, b = r["1x"], r["4x"]
        calls = f"{a['frames_per_call']} / {b['frames_per_call']}"
        print(
            f"{name:20} {calls:>11} {a['peak_over_imports'] / mb:>17.0f} -> {b['peak_over_imports'] / mb:<18.0f} "
            f"{b['peak_over_imports'] / a['peak_over_imports']:>6.2f} {a['tracemalloc_peak'] / mb:>15.0f} -> "
            f"{b['tracemalloc_peak'] / mb:<16.0f} {b['tracemalloc_peak'] / a['tracemalloc_peak']:>6.2f}"
        )
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
