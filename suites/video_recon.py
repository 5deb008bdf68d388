"""``recon`` on video: PSNR pooled per clip and averaged per frame (both named), SSIM per frame.

Per clip: ``psnr_pooled`` = PSNR of one MSE over all its frames (NVIDIA TokenBench's per-video PSNR),
``psnr_frames`` = mean of its per-frame PSNRs ("APSNR"), ``ssim`` = mean of per-frame SSIMs (Gaussian
11x11). Each metric is the mean over clips. On the restored frames after the protocol's storage step
(``where="restored"``, what TokBench scores) or on the canvas (``where="canvas"``). PSNR is capped at
``psnr_cap`` for identical content. Definitions: :mod:`tokbench.video.metrics`.
"""

from __future__ import annotations

from typing import Any

from tokbench.metric_spec import HIGHER, MetricSpec
from tokbench.suite import Item
from tokbench.video import metrics as vm
from tokbench.video.suite import ClipMeanSuite


class VideoReconSuite(ClipMeanSuite):
    name = "recon"
    version = "video-1"
    fields = ("psnr_pooled", "psnr_frames", "ssim")

    def metric_specs(self) -> list[MetricSpec]:
        return [
            MetricSpec("psnr_pooled", "PSNR (pooled per clip)", HIGHER, "dB", 2, "0.05", "recon"),
            MetricSpec("psnr_frames", "PSNR (per-frame mean)", HIGHER, "dB", 2, "0.05", "recon"),
            MetricSpec("ssim", "SSIM (per frame)", HIGHER, "", 4, "0.002", "recon"),
        ]

    def process(self, items: list[Item]) -> list[list[dict[str, Any]]]:
        out = []
        cap = float(self.options["psnr_cap"])
        for item in items:
            ref, rec = self.pair(item)
            out.append(
                [
                    {
                        "frames": int(ref.shape[0]),
                        "psnr_pooled": vm.psnr_pooled(ref, rec, cap),
                        "psnr_frames": vm.psnr_frames(ref, rec, cap),
                        "ssim": vm.ssim_frames(ref, rec),
                    }
                ]
            )
        return out

    def aggregate(self, records: list[dict[str, Any]], resolution: int) -> dict[str, Any]:
        scored, metrics = self.clip_means(records)
        extra = {
            "clips": len(scored),
            "frames": int(sum(r["frames"] for r in scored)),
            "where": self.options["where"],
            "units": "psnr_pooled = mean over clips of PSNR(MSE over the clip); psnr_frames = mean over clips "
            "of the mean per-frame PSNR; ssim = mean over clips of the mean per-frame SSIM",
        }
        return {"metrics": metrics, "extra": extra}
