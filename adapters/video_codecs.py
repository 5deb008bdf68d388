"""Classical video codecs through PyAV: the baselines a video tokenizer must beat at its rate.

``h264`` (libx264), ``h265`` (libx265), ``vp9`` (libvpx-vp9), ``av1`` (libsvtav1; PyAV's wheel has no
libaom), 4:2:0, one clip per stream at ``fps`` (default 16), one thread (deterministic output). Rate is
set by ``crf=`` (constant quality) or a target ``bpp=`` (bits per pixel per frame, turned into a bit rate
of bpp x W x H x fps). The bits of a clip are the sum of its packets' sizes x 8: the codec's payload,
without the container's bytes (a few KB on a tiny file, which would dominate at low rates).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tokbench.errors import ConfigError
from tokbench.tokenizer import Encoded
from tokbench.video.contract import VideoTokenizer, VideoTokenizerInfo
from tokbench.video.protocol import X264_DETERMINISTIC

if TYPE_CHECKING:
    import torch

# name -> (encoder, container, default crf, crf range, extra options)
CODECS: dict[str, tuple[str, str, int, tuple[int, int], dict[str, str]]] = {
    "h264": ("libx264", "mp4", 23, (0, 51), {"preset": "medium", "threads": "1", "x264-params": X264_DETERMINISTIC}),
    "h265": ("libx265", "mp4", 28, (0, 51), {"preset": "medium", "x265-params": "log-level=error:pools=1"}),
    "vp9": ("libvpx-vp9", "webm", 32, (0, 63), {"b": "0", "threads": "1", "row-mt": "0"}),
    "av1": ("libsvtav1", "mp4", 35, (1, 63), {"preset": "8", "svtav1-params": "lp=1"}),
}


class VideoCodec(VideoTokenizer):
    """One PyAV encoder at a constant quality (``crf=``) or a target rate (``bpp=``)."""

    def __init__(self, codec: str = "h264", crf: int | None = None, bpp: float | None = None, fps: float = 16.0):
        if codec not in CODECS:
            raise ConfigError(f"video codec {codec!r} unknown; choose from {', '.join(CODECS)}")
        encoder, container, default_crf, (lo, hi), extra = CODECS[codec]
        if crf is not None and bpp is not None:
            raise ConfigError(f"{codec}: give crf= or bpp=, not both")
        if bpp is not None and not (isinstance(bpp, (int, float)) and bpp > 0):
            raise ConfigError(f"{codec}: bpp must be a positive number, got {bpp!r}")
        if bpp is None:
            crf = default_crf if crf is None else crf
            if not isinstance(crf, int) or not lo <= crf <= hi:
                raise ConfigError(f"{codec}: crf must be an integer in {lo}..{hi}, got {crf!r}")
        if not isinstance(fps, (int, float)) or fps <= 0:
            raise ConfigError(f"{codec}: fps must be a positive number, got {fps!r}")
        from tokbench.video.io import require_av

        require_av()  # a missing PyAV fails here, naming the package
        self.codec, self.encoder, self.container, self.extra = codec, encoder, container, extra
        self.crf, self.bpp, self.fps = crf, bpp, float(fps)
        options = {"codec": codec, "encoder": encoder, "crf": crf, "bpp": bpp, "fps": self.fps, **extra}
        self.info = VideoTokenizerInfo(
            name=codec,
            family="video-codec",
            kind="codec",
            size_multiple=2,
            license="LGPL/GPL (FFmpeg)",
            weights_source="none",
            options=options,
        )

    def _options(self, width: int, height: int) -> tuple[dict[str, str], int | None]:
        opts = dict(self.extra)
        if self.bpp is None:
            opts["crf"] = str(self.crf)
            return opts, None
        return opts, int(round(self.bpp * width * height * self.fps))

    def encode(self, clips: torch.Tensor) -> Encoded:
        import torch

        from tokbench.video.io import encode_video

        arr = clips.detach().mul(255.0).round().clamp(0, 255).to("cpu", torch.uint8).permute(0, 1, 3, 4, 2).numpy()
        files, payloads = [], []
        for clip in arr:
            opts, rate = self._options(clip.shape[2], clip.shape[1])
            if rate is not None:
                opts["b"] = str(rate)
            data, payload = encode_video(
                np.ascontiguousarray(clip), self.encoder, self.container, "yuv420p", opts, self.fps
            )
            files.append(data)
            payloads.append(payload)
        bits = torch.tensor([8.0 * p for p in payloads], dtype=torch.float64)
        return Encoded(
            bits=bits, meta={"files": files, "shape": tuple(arr.shape[1:4]), "file_bytes": [len(f) for f in files]}
        )

    def decode(self, encoded: Encoded) -> Any:
        import torch

        from tokbench.video.io import decode_video_bytes

        t, h, w = encoded.meta["shape"]
        out = [decode_video_bytes(f, t, (h, w)) for f in encoded.meta["files"]]
        return torch.from_numpy(np.stack(out)).permute(0, 1, 4, 2, 3).float().div(255.0)
