"""What a run is asked to do, validated when it is made."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tokbench.errors import ConfigError

if TYPE_CHECKING:
    from tokbench.stats.intervals import IntervalSettings

PRECISIONS = ("fp32", "bf16", "fp16")
ON_ERROR = ("fail", "skip")


@dataclass
class RunConfig:
    """One ``tokbench run``: a model spec, suites, data and how to run them. A bad value is a
    :class:`~tokbench.errors.ConfigError` naming the option, raised here, before any work."""

    model: str
    suites: list[str]
    dataset: str = "samples"
    images: str | None = None
    resolutions: list[int] = field(default_factory=lambda: [256])
    protocol: str = "tokbench-paper"  # NAME[:store=reference|lossless,read=reference|oriented,resample=...]
    device: str | None = None
    batch_size: int = 8
    precision: str = "fp32"
    workers: int = 2
    limit: int | None = None
    seed: int = 0
    output_dir: str = "results/runs"
    cache_dir: str | None = None
    data_root: str | None = None
    offline: bool = False
    on_error: str = "fail"
    allow_partial: bool = False  # run on a registered dataset with fewer/other files than its manifest (recorded)
    shared_cache: bool = False  # accept a cache folder other users can write to (see check_cache_folder)
    suite_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    intervals: str = "bca"  # bca | percentile | none: how every aggregate's 95 % interval is made
    resamples: int = 2000  # bootstrap resamples per interval (rFID / KID: at most 200, recorded)
    benchmark: str | None = None  # the preset that made this configuration (tokbench.benchmark), recorded

    def __post_init__(self) -> None:
        from tokbench.protocol import parse_protocol

        if self.precision not in PRECISIONS:
            raise ConfigError(f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.on_error not in ON_ERROR:
            raise ConfigError(f"--on-error must be one of {', '.join(ON_ERROR)}, got {self.on_error!r}")
        if self.batch_size < 1:
            raise ConfigError(f"--batch-size must be >= 1, got {self.batch_size}")
        parse_protocol(self.protocol)  # a name and options (tokbench-paper:store=lossless), refused here when bad
        if not self.suites:
            raise ConfigError("--suite names no suite")
        if not self.resolutions or any(not isinstance(r, int) or r < 8 for r in self.resolutions):
            raise ConfigError(f"--resolution values must be integers >= 8, got {self.resolutions!r}")
        if self.intervals != "none":
            self.interval_settings()  # validate now
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"--limit must be >= 1, got {self.limit}")

    def interval_settings(self) -> IntervalSettings | None:
        """How intervals are made (seeded by ``seed``), or None with ``intervals="none"``."""
        from tokbench.stats.intervals import METHODS, IntervalSettings

        if self.intervals == "none":
            return None
        if self.intervals not in METHODS:
            raise ConfigError(f"--intervals must be one of {', '.join(METHODS)}, none; got {self.intervals!r}")
        if self.resamples < 100:
            raise ConfigError(f"--resamples must be >= 100, got {self.resamples}")
        return IntervalSettings(method=self.intervals, resamples=self.resamples, seed=self.seed)
