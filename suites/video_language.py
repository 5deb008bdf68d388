"""``language`` on video: the image suite's statistics over each clip's token sentences, plus token rates.

A clip's tokens become sentences: one per frame for an image tokenizer run frame by frame (mode
"per-frame", the sentence the image suite makes of that frame), one per temporal window for a video
tokenizer (its latent frames each read in ``order``, in time order). Those sentences go through
:class:`~tokbench.suites.language.LanguageSuite`'s aggregate unchanged (its "images" are the sentences), and
the rates per clip are added: ``rate.tokens_per_clip``, ``rate.tokens_per_frame`` (tokens / the clip's
frames) and ``rate.tokens_per_second`` (tokens per frame x the clip's fps), each a mean over clips. A video
tokenizer's tokens include those of the frames the runner padded a window with (what it must emit);
a clip without codes (continuous tokenizers, codecs) is one skip record.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

import numpy as np
from tokbench.suites.language import SKIP_REASON, LanguageSuite, _compact

from tokbench.errors import ConfigError
from tokbench.metric_spec import MetricSpec
from tokbench.metrics.language import linearize
from tokbench.suite import Item
from tokbench.video.suite import ClipItem


class VideoLanguageSuite(LanguageSuite):
    name = "language"
    version = "1"
    clip_level: ClassVar[bool] = True

    def metric_specs(self) -> list[MetricSpec]:
        return [*super().metric_specs(), MetricSpec("n_clips", group="language")]

    def process(self, items: list[Item]) -> list[list[dict[str, Any]]]:
        return [self._clip_records(item) for item in items]

    def _sentence(self, codes: list[np.ndarray]) -> list[np.ndarray]:
        """One sentence's levels, each linearised as the image suite does (a latent time axis first: each
        latent frame in ``order``, in time order)."""
        out = []
        for c in codes:
            a = np.asarray(c)
            flat = (
                np.concatenate([linearize(f, self.opts.order) for f in a])
                if a.ndim >= 3
                else linearize(a, self.opts.order)
            )
            out.append(_compact(flat))
        return out

    def _clip_records(self, item: Item) -> list[dict[str, Any]]:
        if not isinstance(item, ClipItem):
            raise ConfigError("language on video scores whole clips; the video runner gives it ClipItems")
        if item.code_windows is None:
            return [{"image_id": item.image_id, "skip": SKIP_REASON}]
        h, w = item.canvas_frames.shape[1:3]
        unit = "frame" if item.mode == "per-frame" else "window"
        sentences: list[tuple[str, list[np.ndarray], int]] = []  # (id, levels, real frames covered)
        frame = 0
        for k, (levels, count) in enumerate(zip(item.code_windows, item.window_frames, strict=True)):
            if item.mode == "per-frame":
                sentences += [
                    (f"{item.image_id}#frame{frame + t + 1}", [c[t] for c in levels], 1) for t in range(count)
                ]
            else:
                sentences.append((f"{item.image_id}#window{k + 1}", list(levels), count))
            frame += count
        records = []
        for sentence_id, levels, count in sentences:
            codes = self._sentence(levels)
            records.append(
                {
                    "image_id": sentence_id,
                    "clip": item.image_id,
                    "sentence": unit,
                    "frames": count,
                    "fps": float(item.fps),
                    "tokens": int(sum(c.size for c in codes)),
                    "tokens_per_level": [int(c.size) for c in codes],
                    "pixels": int(h) * int(w) * count,
                    "_codes": codes,
                }
            )
        return records

    def aggregate(self, records: list[dict[str, Any]], resolution: int) -> dict[str, Any]:
        out = super().aggregate(records, resolution)
        clips: dict[tuple[Any, str], dict[str, Any]] = {}
        for r in records:
            if "skip" not in r:  # by set too: pooled records of several sets may repeat a clip name
                c = clips.setdefault((r.get("dataset"), r["clip"]), {"tokens": 0, "frames": 0, "fps": r["fps"]})
                c["tokens"] += r["tokens"]
                c["frames"] += r["frames"]
        if not clips:
            return out
        per_frame = [c["tokens"] / c["frames"] for c in clips.values()]
        out["metrics"].update(
            {
                "n_clips": len(clips),
                "rate.tokens_per_clip": float(np.mean([c["tokens"] for c in clips.values()])),
                "rate.tokens_per_frame": float(np.mean(per_frame)),
                "rate.tokens_per_second": float(
                    np.mean([t * c["fps"] for t, c in zip(per_frame, clips.values(), strict=True)])
                ),
            }
        )
        sentence = Counter(str(r["sentence"]) for r in records if "skip" not in r)
        out["extra"]["sentences"] = {
            "unit": sentence.most_common(1)[0][0],
            "clips": len(clips),
            "rates": "means over clips; tokens per second = tokens per frame x the clip's fps",
        }
        return out
