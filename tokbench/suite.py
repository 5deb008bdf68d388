"""The suite contract: per-image records from reconstructions, then an aggregate.

A suite turns each reconstructed image into a list of instance records (``process``), which
the runner caches by content so an interrupted run resumes without redoing them, then folds
all records into metrics (``aggregate``). Records are plain dicts; keys starting with ``_``
hold arrays or other bulky values that are cached but not written to the per-instance JSONL.
A record carrying ``"skip": "<reason>"`` is an instance that could not be scored: the runner
counts it under that reason and ``aggregate`` must leave it out of every metric.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from tokbench.errors import ConfigError
from tokbench.metric_spec import MetricSpec
from tokbench.stats.estimand import Estimand
from tokbench.stats.intervals import Interval, IntervalSettings

if TYPE_CHECKING:
    from tokbench.data.dataset import Dataset
    from tokbench.tokenizer import TokenizerInfo


@dataclass
class Item:
    """One image after reconstruction, as suites see it.

    Arrays are uint8 ``[H,W,3]`` RGB. ``original`` is the dataset image; ``restored`` the
    reconstruction brought back to the original size by the protocol; ``canvas`` and
    ``canvas_recon`` the S x S tokenizer input and output. ``codes`` holds one integer array
    per codebook level (None for continuous tokenizers and codecs).
    """

    image_id: str
    original: np.ndarray
    restored: np.ndarray
    canvas: np.ndarray
    canvas_recon: np.ndarray
    resolution: int
    annotations: dict[str, Any] = field(default_factory=dict)
    codes: list[np.ndarray] | None = None
    bits: float | None = None


class Skip(Exception):
    """Raised by a suite for a whole image it cannot score; the reason is recorded."""


class Suite:
    """Base class of suites. Subclasses set ``name``/``version`` and implement both steps."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    #: what the suite needs from the run: "codes" makes continuous models skip it.
    needs_codes: ClassVar[bool] = False
    #: annotation kind an item must carry ("text", "faces") or None for any image.
    annotation_kind: ClassVar[str | None] = None
    #: record field that ranks instances for the report's example crops (None: no examples).
    example_score: ClassVar[str | None] = None

    def __init__(self, **options: Any) -> None:
        self.options: dict[str, Any] = dict(options)
        #: root of the run's content-keyed caches (set by the runner; suites may keep their own there)
        self.cache_root: Path | None = None

    def merge_options(self, defaults: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
        """``defaults`` updated with ``options``; an unknown option name is an error naming the known ones."""
        unknown = set(options) - set(defaults)
        if unknown:
            raise ConfigError(
                f"{self.name}: unknown option(s) {', '.join(sorted(unknown))}; known: {', '.join(defaults)}"
            )
        return {**defaults, **options}

    def fingerprint(self) -> dict[str, Any]:
        """Everything a record depends on; part of the record cache key."""
        return {"suite": self.name, "version": self.version, "options": self.options}

    def metric_specs(self) -> list[MetricSpec]:
        """How the metrics ``aggregate`` returns read (label, better direction, unit, decimals, default
        gate tolerance, table), in the order tables show them; written into every result. Default: none,
        so every metric is shown as named, with no known direction, and not gated."""
        return []

    def estimands(self) -> dict[str, Estimand]:
        """What each metric ``aggregate`` reports estimates, as a mean of record fields, so every metric
        gets an interval and ``compare`` / ``check`` can pair two models' records. Default: none."""
        return {}

    def resampled_intervals(
        self, records: list[dict[str, Any]], settings: IntervalSettings
    ) -> tuple[dict[str, Interval | str], dict[str, Any]]:
        """Intervals of metrics that are not means of records (rFID, KID), and how they were made."""
        return {}, {}

    def setup(self, device: str) -> None:
        """Load heavy models once per run (OCR, face, Inception). Default: nothing."""

    def process(self, items: list[Item]) -> list[list[dict[str, Any]]]:
        """Per item, its instance records. May batch internally."""
        raise NotImplementedError

    def begin(self, dataset: Dataset) -> None:
        """Called before each set is scored, with the whole set (records may depend on it, as capped
        decoding does; the fingerprint must then say so). Default: nothing."""

    def own_dataset(self, size: int, info: TokenizerInfo) -> Dataset | None:
        """The data this suite brings itself for canvas ``size`` and the tokenizer ``info`` (the ``sweep``
        suite generates its set on the tokenizer's patch grid), or None to score the run's ``--dataset``.
        Default: None."""
        return None

    def example_pair(self, item: Item, record: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
        """Original and reconstruction crops of one instance, for the report. Default: none."""
        return None

    def aggregate(self, records: list[dict[str, Any]], resolution: int) -> dict[str, Any]:
        """Fold every record of the run (skipped ones included) into a dict with
        ``"metrics"`` (flat name -> float) and optionally ``"buckets"`` and ``"extra"``."""
        raise NotImplementedError


class BackendSuite(Suite):
    """A suite scored by one model backend (OCR, face): loads it once, times it, and keys records on it."""

    backend: Any
    timings: defaultdict[str, float]
    _ready: bool

    def fingerprint(self) -> dict[str, Any]:
        """Options and backend; ``batch_size`` is left out: predictions do not depend on batching
        (confidences can move in their last digits, ~1e-7)."""
        ident = super().fingerprint()
        ident["options"] = {k: v for k, v in self.options.items() if k != "batch_size"}
        return {**ident, "backend": self.backend.fingerprint()}

    def instances(
        self, items: list[Item], out: list[list[dict[str, Any]]]
    ) -> Iterator[tuple[Item, dict[str, Any], dict[str, Any]]]:
        """Each annotation of kind ``annotation_kind`` with its record, already appended to ``out``
        (index, dataset); an annotation that is not an object gets a skip record and is not yielded."""
        if not self._ready:
            self.setup("cpu")
        for k, item in enumerate(items):
            dataset = item.annotations.get("dataset")
            for i, ann in enumerate(item.annotations.get(str(self.annotation_kind)) or []):
                rec: dict[str, Any] = {"index": i} if dataset is None else {"index": i, "dataset": dataset}
                out[k].append(rec)
                if isinstance(ann, dict):
                    yield item, rec, ann
                else:
                    rec["skip"] = f"unreadable {self.name} annotation"

    def setup(self, device: str) -> None:
        import time

        t0 = time.perf_counter()
        self.backend.setup(device)
        self._ready = True
        self.timings["setup_s"] += time.perf_counter() - t0
