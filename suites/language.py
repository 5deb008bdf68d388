"""``language``: statistics of the visual-token "language" (docs/token-language.md).

``process`` linearises each image's codes (one sentence per codebook level, in the ``order``
option) into a record; ``aggregate`` streams the records of the whole run, in dataset order,
through :class:`tokbench.metrics.language.LanguageStats`: rate, codebook use, entropies and
entropy rates for n = 1..4, Zipf and power-law fits, vocabulary growth, Huffman/lzma/zlib
compression and held-out n-gram perplexity. Metric names are listed in
:mod:`tokbench.metrics.language`. Every option, defaults filled in, is in ``self.options``
(and so in the result and the record cache key). The runner passes ``codebook_sizes`` and
``token_layout`` from the adapter.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from tokbench.metric_spec import HIGHER, LOWER, MetricSpec
from tokbench.metrics.language import LanguageStats, heldout_ids, linearize, options_from_dict, options_record
from tokbench.suite import Item, Suite

SKIP_REASON = "needs discrete codes"


def _compact(seq: np.ndarray) -> np.ndarray:
    """The smallest integer dtype holding the codes, to keep the record cache small."""
    if seq.size == 0 or seq.min() < 0:
        return seq
    top = int(seq.max())
    for dtype in (np.uint16, np.uint32):
        if top <= np.iinfo(dtype).max:
            return seq.astype(dtype)
    return seq


class LanguageSuite(Suite):
    name = "language"
    version = "1"
    needs_codes = True

    def __init__(self, **options: Any) -> None:
        sizes = options.pop("codebook_sizes", None)
        layout = options.pop("token_layout", "2d")
        opts = options_from_dict(options)
        self.opts = opts
        super().__init__(
            codebook_sizes=[int(k) if k else None for k in (sizes or [])],
            token_layout=str(layout),
            **options_record(opts),
        )

    def metric_specs(self) -> list[MetricSpec]:
        """Names depend on the streams (``level0.``, ``joint.``, ``concat.``), so they are declared as
        patterns: a few codebook-use statistics with a known better side, then every statistic of the
        suite, neutral, so all of them go to the language table. None is gated by default."""
        tails = [
            ("utilization", HIGHER, 4),
            ("used_codes", HIGHER, 0),
            ("dead_codes", LOWER, 0),
            ("codebook_perplexity", HIGHER, 2),
            ("normalized_entropy", HIGHER, 4),
        ]
        specs = [
            MetricSpec(f"*.{tail}", direction=direction, decimals=decimals, group="language")
            for tail, direction, decimals in tails
        ]
        specs.append(MetricSpec("n_images", group="language"))
        return specs + [MetricSpec(p, group="language") for p in ("rate.*", "level*", "joint.*", "concat.*")]

    def process(self, items: list[Item]) -> list[list[dict[str, Any]]]:
        return [[self._record(item)] for item in items]

    def _record(self, item: Item) -> dict[str, Any]:
        if item.codes is None:
            return {"image_id": item.image_id, "skip": SKIP_REASON}
        codes = [_compact(linearize(c, self.opts.order)) for c in item.codes]
        record: dict[str, Any] = {
            "image_id": item.image_id,
            "tokens": int(sum(c.size for c in codes)),
            "tokens_per_level": [int(c.size) for c in codes],
            "_codes": codes,
        }
        canvas = getattr(item, "canvas", None)
        if canvas is not None and np.ndim(canvas) >= 2:
            record["pixels"] = int(canvas.shape[0]) * int(canvas.shape[1])
        if item.bits is not None:
            record["bits"] = float(item.bits)
        return record

    def aggregate(self, records: list[dict[str, Any]], resolution: int) -> dict[str, Any]:
        used = [r for r in records if "skip" not in r]
        if not used:
            reasons = Counter(r["skip"] for r in records if "skip" in r)
            reason = reasons.most_common(1)[0][0] if reasons else SKIP_REASON
            return {"metrics": {}, "extra": {"skipped": reason, "options": dict(self.options)}}
        # the split is decided from the ids up front, so every image is streamed exactly once
        heldout = heldout_ids([r["image_id"] for r in used], self.opts.heldout_fraction, self.opts.seed)
        stats = LanguageStats(self.opts, self.options["codebook_sizes"], self.options["token_layout"])
        for r in used:
            stats.update(r["image_id"], r["_codes"], r.get("pixels"), r["image_id"] in heldout)
        out = stats.compute()
        out["extra"].update(
            resolution=resolution,
            skipped_records=len(records) - len(used),
            codebook_sizes_declared=self.options["codebook_sizes"],
        )
        out["extra"]["options"] = dict(self.options)
        return out
