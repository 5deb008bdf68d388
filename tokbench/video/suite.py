"""What clip-level suites see: a whole clip, original and reconstruction, at one protocol step.

Frame-level suites (``text``, ``face``) get one :class:`~tokbench.suite.Item` per annotated frame, so
their instances pool over (frame, box) as TokBench's; a :class:`ClipSuite` gets one :class:`ClipItem` per
clip and writes one record per clip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from tokbench.errors import ConfigError
from tokbench.stats.estimand import Estimand
from tokbench.suite import Item, Suite


@dataclass
class ClipItem(Item):
    """A clip: ``frames`` / ``frames_restored`` uint8 ``[T,H,W,3]`` at the original size (after the
    protocol's storage step), ``canvas_frames`` / ``canvas_frames_recon`` on the canvas. A discrete
    tokenizer's codes are ``code_windows`` (per window, per level; ``mode`` "per-frame": one row per frame)
    with each window's real frames in ``window_frames``; ``codes`` then lists every window's levels in
    order (None without codes, so suites that need codes skip the clip)."""

    frames: np.ndarray = field(default_factory=lambda: np.zeros((0, 1, 1, 3), np.uint8))
    frames_restored: np.ndarray = field(default_factory=lambda: np.zeros((0, 1, 1, 3), np.uint8))
    canvas_frames: np.ndarray = field(default_factory=lambda: np.zeros((0, 1, 1, 3), np.uint8))
    canvas_frames_recon: np.ndarray = field(default_factory=lambda: np.zeros((0, 1, 1, 3), np.uint8))
    fps: float = 0.0
    mode: str = "video"
    code_windows: list[list[np.ndarray]] | None = None
    window_frames: list[int] = field(default_factory=list)


class ClipSuite(Suite):
    """A suite scored per clip; ``where`` chooses the restored frames or the canvas."""

    clip_level: ClassVar[bool] = True

    def pair(self, item: Item) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(item, ClipItem):
            raise ConfigError(f"suite {self.name!r} scores video clips; run it on a video dataset")
        if self.options.get("where") == "canvas":
            return item.canvas_frames, item.canvas_frames_recon
        return item.frames, item.frames_restored

    @staticmethod
    def check_where(name: str, options: dict[str, Any]) -> None:
        if options["where"] not in ("restored", "canvas"):
            raise ConfigError(f"{name}: where must be 'restored' or 'canvas', got {options['where']!r}")


class ClipMeanSuite(ClipSuite):
    """A clip suite whose metrics are the means over clips of its per-clip record ``fields``."""

    fields: ClassVar[tuple[str, ...]] = ()
    defaults: ClassVar[dict[str, Any]] = {"where": "restored", "psnr_cap": 100.0}

    def __init__(self, **options: Any) -> None:
        merged = self.merge_options(self.defaults, options)
        self.check_where(self.name, merged)
        super().__init__(**merged)

    def estimands(self) -> dict[str, Estimand]:
        return {f: Estimand(f) for f in self.fields}

    def clip_means(self, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, float | None]]:
        """The scored records (skips are counted by the runner) and each field's mean over them."""
        scored = [r for r in records if "skip" not in r]
        return scored, {f: (float(np.mean([r[f] for r in scored])) if scored else None) for f in self.fields}
