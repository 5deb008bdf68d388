"""Video files in and out through PyAV (``pip install av``), imported only when a video is touched.

Writing feeds RGB24 frames to one encoder and counts the payload as the sum of the packets' sizes (the
container's own bytes are reported apart). 4:2:0 formats need even sides: an odd-sized clip is padded by
repeating its last row / column and cropped back after decoding. Reading decodes every frame of the first
video stream as RGB24; a file that cannot be opened or decoded, has no video stream or no frames, or
whose frames change size raises :class:`BadVideo` naming the file and what is wrong.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tokbench.errors import ResourceUnavailable, TokbenchError

MAX_FRAMES = 10_000  # a longer clip is refused rather than decoded into memory
MAX_PIXELS = 8 * 1024 * 1024  # per frame


class BadVideo(TokbenchError, ValueError):
    """A video file tokbench cannot use; the message names the file and the problem."""


def require_av() -> Any:
    try:
        import av
    except ImportError:
        raise ResourceUnavailable('video needs PyAV: pip install av (or pip install -e ".[video]")') from None
    av.logging.set_level(av.logging.ERROR)
    return av


@dataclass
class Decoded:
    frames: np.ndarray  # uint8 [T,H,W,3]
    fps: float
    codec: str
    rotation: int  # degrees from the stream's display matrix (not applied; recorded)


def _even(frames: np.ndarray) -> np.ndarray:
    h, w = frames.shape[1:3]
    return np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def encode_video(
    frames: np.ndarray, codec: str, container: str, pix_fmt: str, options: dict[str, str], fps: float
) -> tuple[bytes, int]:
    """Encode uint8 ``[T,H,W,3]``; return the file's bytes and the payload bytes (sum of packet sizes)."""
    av = require_av()
    from fractions import Fraction

    frames = _even(frames) if pix_fmt.startswith(("yuv420", "yuv422")) else frames
    buf = io.BytesIO()
    payload = 0
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = int(frames.shape[2]), int(frames.shape[1])
        stream.pix_fmt = pix_fmt
        stream.options = dict(options)
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                payload += packet.size
                out.mux(packet)
        for packet in stream.encode(None):
            payload += packet.size
            out.mux(packet)
    return buf.getvalue(), payload


def decode_video_bytes(data: bytes, count: int, size: tuple[int, int]) -> np.ndarray:
    """Frames of an encoded clip we wrote ourselves, cropped to ``size`` (H, W); exactly ``count`` of them."""
    frames = _decode(io.BytesIO(data), "<encoded clip>").frames
    if frames.shape[0] != count:
        raise BadVideo(f"<encoded clip>: the codec returned {frames.shape[0]} frames for {count}")
    return np.ascontiguousarray(frames[:, : size[0], : size[1]])


def read_video(path: Path) -> Decoded:
    """Every frame of ``path`` as RGB24; :class:`BadVideo` for anything unusable."""
    if not path.is_file():
        raise BadVideo(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise BadVideo(f"{path}: empty file")
    return _decode(path, str(path))


def _decode(source: Any, label: str) -> Decoded:
    av = require_av()
    frames: list[np.ndarray] = []
    try:
        with av.open(source if isinstance(source, io.BytesIO) else str(source)) as container:
            if not container.streams.video:
                raise BadVideo(f"{label}: no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else 0.0
            codec = stream.codec_context.name
            rotation = 0
            for frame in container.decode(stream):
                rotation = int(getattr(frame, "rotation", 0) or 0)
                if frame.width * frame.height > MAX_PIXELS:
                    raise BadVideo(f"{label}: frames of {frame.width}x{frame.height} exceed {MAX_PIXELS} pixels")
                if frames and (frame.height, frame.width) != frames[0].shape[:2]:
                    raise BadVideo(
                        f"{label}: frame {len(frames)} is {frame.width}x{frame.height}, "
                        f"frame 0 was {frames[0].shape[1]}x{frames[0].shape[0]} (size changes are not supported)"
                    )
                frames.append(frame.to_ndarray(format="rgb24"))
                if len(frames) > MAX_FRAMES:
                    raise BadVideo(f"{label}: more than {MAX_FRAMES} frames")
    except BadVideo:
        raise
    except (av.FFmpegError, OSError, ValueError, EOFError) as e:
        if not frames:
            raise BadVideo(f"{label}: cannot decode ({type(e).__name__}: {e})") from None
        # a truncated file: the frames before the damage decoded; refusing it keeps clips whole
        raise BadVideo(f"{label}: damaged after frame {len(frames)} ({type(e).__name__}: {e})") from None
    if not frames:
        raise BadVideo(f"{label}: no frames")
    return Decoded(np.stack(frames), fps, codec, rotation)


def write_lossless(path: Path, frames: np.ndarray, fps: float) -> None:
    """Write RGB frames bit-exactly (FFV1, bgr0, Matroska), atomically."""
    from tokbench.cache import atomic_write_bytes

    data, _ = encode_video(frames, "ffv1", "matroska", "bgr0", {}, fps)
    atomic_write_bytes(path, data)
