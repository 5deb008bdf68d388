"""Video files in and out through PyAV (``pip install av``), imported only when a video is touched.

Writing feeds RGB24 frames to one encoder and counts the payload as the sum of the packets' sizes (the
container's own bytes are reported apart). 4:2:0 formats need even sides: an odd-sized clip is padded by
repeating its last row / column and cropped back after decoding. Reading decodes every frame of the first
video stream as RGB24, turned as displayed (the stream's display matrix: rotations by 90 degrees and
mirrors, as FFmpeg's command line and players apply it), and reads the frames' timestamps to tell a
variable frame rate. A file that cannot be opened or decoded, has no video stream or no frames, whose
frames change size, or whose display matrix turns by another angle raises :class:`BadVideo` naming the
file and what is wrong.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
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


# (transpose, flip rows, flip columns) -> what the display matrix does to the coded frame
ORIENTATIONS = {
    (False, False, False): "as coded",
    (False, False, True): "mirrored left-right",
    (False, True, False): "mirrored top-bottom",
    (False, True, True): "rotated 180",
    (True, False, False): "transposed",
    (True, False, True): "rotated 90 clockwise",
    (True, True, False): "rotated 90 counterclockwise",
    (True, True, True): "anti-transposed",
}


@dataclass
class Decoded:
    frames: np.ndarray  # uint8 [T,H,W,3], as displayed (the display matrix applied)
    fps: float  # the rate the clip is taken at: the stream's, or the timestamps' mean rate when variable
    codec: str
    rotation: int = 0  # FFmpeg's reading of the display matrix (degrees counterclockwise); applied
    orientation: str = "as coded"  # what applying the display matrix did (ORIENTATIONS)
    coded_size: tuple[int, int] = (0, 0)  # (W, H) before the display matrix
    fps_source: str = "stream"  # "stream" | "timestamps" | "none" (no rate anywhere: the caller's default)
    vfr: bool | None = None  # frame intervals vary beyond timestamp rounding; None: fewer than 2 timestamps
    frame_interval_s: list[float] = field(default_factory=list)  # [shortest, longest] between frames


def _display_transform(matrix: np.ndarray, label: str) -> tuple[bool, bool, bool]:
    """FFmpeg's 3x3 display matrix (int32, 16.16 in its 2x2 part) -> (transpose, flip rows, flip columns).

    A displayed point is (a*x + c*y, b*x + d*y) for matrix [a b .; c d .; . . .]: axis-aligned when b = c = 0,
    a transpose when a = d = 0, the signs telling the mirrors."""
    a, b, c, d = (int(matrix[i]) for i in (0, 1, 3, 4))
    if b == 0 and c == 0 and a and d:
        return False, d < 0, a < 0
    if a == 0 and d == 0 and b and c:
        return True, b < 0, c < 0
    angle = -math.degrees(math.atan2(b, a))
    raise BadVideo(f"{label}: the display matrix turns frames by {angle:.1f} degrees (only multiples of 90 work)")


def _orient(frame: np.ndarray, how: tuple[bool, bool, bool]) -> np.ndarray:
    transpose, flip_rows, flip_cols = how
    out = frame.transpose(1, 0, 2) if transpose else frame
    return np.ascontiguousarray(out[:: -1 if flip_rows else 1, :: -1 if flip_cols else 1])


def _timing(times: list[float | None], tick: float) -> tuple[bool | None, list[float], float]:
    """(variable frame rate?, [shortest, longest] interval, mean rate) from presentation times in seconds.

    Intervals may differ by the timestamps' rounding (one tick of the time base: 33 and 34 ms for 29.97 fps
    in Matroska) and 1 %; more, or a time that does not increase, is a variable frame rate."""
    if len(times) < 2 or any(t is None for t in times):
        return None, [], 0.0
    ts = np.asarray(times, dtype=np.float64)
    steps = np.diff(ts)
    lo, hi = float(steps.min()), float(steps.max())
    vfr = lo <= 0 or hi - lo > 1.5 * tick + 0.01 * float(np.median(steps))
    span = float(ts[-1] - ts[0])
    return bool(vfr), [lo, hi], (len(ts) - 1) / span if span > 0 else 0.0


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
    times: list[float | None] = []
    how = (False, False, False)
    rotation, coded = 0, (0, 0)
    try:
        with av.open(source if isinstance(source, io.BytesIO) else str(source)) as container:
            if not container.streams.video:
                raise BadVideo(f"{label}: no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            codec = stream.codec_context.name
            tick = float(stream.time_base) if stream.time_base else 0.0
            for frame in container.decode(stream):
                if frame.width * frame.height > MAX_PIXELS:
                    raise BadVideo(f"{label}: frames of {frame.width}x{frame.height} exceed {MAX_PIXELS} pixels")
                if not frames:
                    coded = (frame.width, frame.height)
                    matrix = frame.side_data.get("DISPLAYMATRIX")
                    if matrix is not None:
                        how = _display_transform(np.frombuffer(bytes(matrix), dtype="<i4"), label)
                        rotation = int(round(frame.rotation or 0))
                elif (frame.width, frame.height) != coded:
                    raise BadVideo(
                        f"{label}: frame {len(frames)} is {frame.width}x{frame.height}, "
                        f"frame 0 was {coded[0]}x{coded[1]} (size changes are not supported)"
                    )
                frames.append(_orient(frame.to_ndarray(format="rgb24"), how))
                times.append(None if frame.pts is None else float(frame.time))
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
    vfr, interval, mean_rate = _timing(times, tick)
    if vfr:  # the declared rate does not describe the clip: take the timestamps' mean rate
        fps, source = mean_rate, "timestamps"
    elif rate:
        fps, source = float(rate), "stream"
    else:
        fps, source = mean_rate, "timestamps" if mean_rate > 0 else "none"
    return Decoded(np.stack(frames), fps, codec, rotation, ORIENTATIONS[how], coded, source, vfr, interval)


def write_lossless(path: Path, frames: np.ndarray, fps: float) -> None:
    """Write RGB frames bit-exactly (FFV1, bgr0, Matroska), atomically."""
    from tokbench.cache import atomic_write_bytes

    data, _ = encode_video(frames, "ffv1", "matroska", "bgr0", {}, fps)
    atomic_write_bytes(path, data)
