"""``temporal``: how a reconstruction keeps frame-to-frame change, with no learned weights.

Per clip (definitions and references in :mod:`tokbench.video.metrics` and ``docs/video.md``):
``td_mse`` (temporal-difference MSE, 0..255^2 scale; 0 when the error is the same in every frame) and
``tpsnr`` from it; VBench's flicker score of the reference and of the reconstruction, and their gap
``flicker_gap`` = reconstruction - reference (positive: steadier than the source, i.e. temporal
smoothing; negative: added flicker) with its absolute value. Single-frame clips are skipped (counted).
"""

from __future__ import annotations

from typing import Any

from tokbench.metric_spec import HIGHER, LOWER, MetricSpec
from tokbench.suite import Item
from tokbench.video import metrics as vm
from tokbench.video.suite import ClipMeanSuite


class TemporalSuite(ClipMeanSuite):
    name = "temporal"
    version = "1"
    fields = ("td_mse", "tpsnr", "flicker_ref", "flicker_rec", "flicker_gap", "flicker_gap_abs")

    def metric_specs(self) -> list[MetricSpec]:
        return [
            MetricSpec("td_mse", "TD-MSE", LOWER, "", 2, "1.0", "temporal"),
            MetricSpec("tpsnr", "tPSNR", HIGHER, "dB", 2, "0.05", "temporal"),
            MetricSpec("flicker_gap_abs", "|flicker gap|", LOWER, "", 5, "0.0005", "temporal"),
        ]

    def process(self, items: list[Item]) -> list[list[dict[str, Any]]]:
        out = []
        cap = float(self.options["psnr_cap"])
        for item in items:
            ref, rec = self.pair(item)
            td = vm.td_mse(ref, rec)
            f_ref, f_rec = vm.flicker(ref), vm.flicker(rec)
            if td is None or f_ref is None or f_rec is None:
                out.append([{"frames": int(ref.shape[0]), "skip": "single-frame clip"}])
                continue
            gap = f_rec - f_ref
            out.append(
                [
                    {
                        "frames": int(ref.shape[0]),
                        "td_mse": td,
                        "tpsnr": vm.tpsnr(td, cap),
                        "flicker_ref": f_ref,
                        "flicker_rec": f_rec,
                        "flicker_gap": gap,
                        "flicker_gap_abs": abs(gap),
                    }
                ]
            )
        return out

    def aggregate(self, records: list[dict[str, Any]], resolution: int) -> dict[str, Any]:
        scored, metrics = self.clip_means(records)
        extra = {
            "clips": len(scored),
            "where": self.options["where"],
            "units": "td_mse on the 0..255 scale; flicker scores in [0,1] (VBench); each metric = mean over clips",
        }
        return {"metrics": metrics, "extra": extra}
