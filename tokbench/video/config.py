"""What a video run is asked to do: a :class:`~tokbench.config.RunConfig` whose protocol is a video one."""

from __future__ import annotations

from dataclasses import dataclass

from tokbench.config import RunConfig
from tokbench.video.protocol import VideoProtocol


@dataclass
class VideoRunConfig(RunConfig):
    """``protocol`` is ``tokbench-video[:store=reference|lossless,multiple=N]``; ``batch_size`` and
    ``workers`` are not used (one clip at a time, memory bounded by one temporal window)."""

    protocol: str = "tokbench-video"
    dataset: str = "video-samples"

    def __post_init__(self) -> None:
        VideoProtocol.parse(self.protocol)  # refused here, naming the option, when bad
        # the image checks of every other field; the image protocol check is the only one not wanted
        protocol, self.protocol = self.protocol, "tokbench-paper"
        try:
            super().__post_init__()
        finally:
            self.protocol = protocol

    def video_protocol(self) -> VideoProtocol:
        return VideoProtocol.parse(self.protocol)
