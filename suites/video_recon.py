"""``recon`` on video: PSNR pooled per clip and averaged per frame (both named); SSIM, MS-SSIM, LPIPS per frame.

Per clip: ``psnr_pooled`` = PSNR of one MSE over all its frames (NVIDIA TokenBench's per-video PSNR),
``psnr_frames`` = mean of its per-frame PSNRs ("APSNR"), ``ssim`` = mean of per-frame SSIMs (Gaussian
11x11), ``ms_ssim`` = mean of per-frame MS-SSIMs (torchmetrics' 5-scale definition, tokbench's image
code; ``ms_ssim=false`` turns it off), ``lpips_<net>`` = mean of per-frame LPIPS (``lpips="alex,vgg"``,
the image suite's v0.1 metric, inputs in [-1,1]; TokenBench reports VGG). Each metric is the mean over
clips of the per-clip means. On the restored frames after the protocol's storage step
(``where="restored"``, what TokBench scores) or on the canvas (``where="canvas"``). PSNR is capped at
``psnr_cap`` for identical content. A metric a clip cannot have is left out of that clip's record and
the metric is the mean over the clips that have it, with the reason and count in ``extra``: MS-SSIM for
frames under 176 px, LPIPS when its ImageNet backbone file is missing (named, never downloaded) or for
frames above ``lpips_max_pixels``. Definitions: :mod:`tokbench.video.metrics`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from tokbench.metric_spec import HIGHER, LOWER, MetricSpec
from tokbench.stats.estimand import Estimand
from tokbench.suite import Item
from tokbench.video import metrics as vm
from tokbench.video.suite import ClipMeanSuite


class VideoReconSuite(ClipMeanSuite):
    name = "recon"
    version = "video-2"  # 2: MS-SSIM and LPIPS per frame
    fields = ("psnr_pooled", "psnr_frames", "ssim")
    defaults: ClassVar[dict[str, Any]] = {
        **ClipMeanSuite.defaults,
        "ms_ssim": True,
        "lpips": "alex,vgg",
        "lpips_random_backbone": False,
        "lpips_max_pixels": 1 << 20,
    }

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.lpips_nets = [n for n in str(self.options["lpips"]).split(",") if n and n != "none"]
        self._lpips: dict[str, Any] = {}
        self._lpips_state: dict[str, str] = {}

    def all_fields(self) -> list[str]:
        """Every per-clip field this configuration reports, in table order."""
        extra = (["ms_ssim"] if self.options["ms_ssim"] else []) + [f"lpips_{n}" for n in self.lpips_nets]
        return [*self.fields, *extra]

    def setup(self, device: str) -> None:
        """Load each LPIPS backbone that is present; note the missing ones (never download)."""
        if not self.lpips_nets or self._lpips_state:
            return
        from tokbench.metrics.lpips_metric import load_present_nets

        random_backbone = bool(self.options["lpips_random_backbone"])
        self._lpips, self._lpips_state = load_present_nets(list(self.lpips_nets), device, random_backbone)

    def fingerprint(self) -> dict[str, Any]:
        # which LPIPS backbones were present is part of what a record means
        return {**super().fingerprint(), "lpips_state": self._lpips_state}

    def metric_specs(self) -> list[MetricSpec]:
        specs = [
            MetricSpec("psnr_pooled", "PSNR (pooled per clip)", HIGHER, "dB", 2, "0.05", "recon"),
            MetricSpec("psnr_frames", "PSNR (per-frame mean)", HIGHER, "dB", 2, "0.05", "recon"),
            MetricSpec("ssim", "SSIM (per frame)", HIGHER, "", 4, "0.002", "recon"),
        ]
        if self.options["ms_ssim"]:
            specs.append(MetricSpec("ms_ssim", "MS-SSIM (per frame)", HIGHER, "", 4, "0.002", "recon"))
        specs += [
            MetricSpec(f"lpips_{n}", f"LPIPS ({n}, per frame)", LOWER, "", 4, "0.002", "recon") for n in self.lpips_nets
        ]
        return specs

    def estimands(self) -> dict[str, Estimand]:
        return {f: Estimand(f) for f in self.all_fields()}

    def process(self, items: list[Item]) -> list[list[dict[str, Any]]]:
        out = []
        cap = float(self.options["psnr_cap"])
        if self.lpips_nets:
            self.setup("cpu")  # no-op when the runner has set it up
        for item in items:
            ref, rec = self.pair(item)
            record: dict[str, Any] = {
                "frames": int(ref.shape[0]),
                "psnr_pooled": vm.psnr_pooled(ref, rec, cap),
                "psnr_frames": vm.psnr_frames(ref, rec, cap),
            }
            if self.options["ms_ssim"]:
                record["ssim"], ms = vm.ssim_ms_ssim_frames(ref, rec)
                if ms is not None:
                    record["ms_ssim"] = ms
                else:
                    record["ms_ssim_skipped"] = vm.ms_ssim_too_small(ref.shape)
            else:
                record["ssim"] = vm.ssim_frames(ref, rec)
            if self._lpips and ref.shape[1] * ref.shape[2] > int(self.options["lpips_max_pixels"]):
                record["lpips_too_large"] = True
            elif self._lpips:
                for net, model in self._lpips.items():
                    record[f"lpips_{net}"] = vm.lpips_frames(model, ref, rec)
            out.append([record])
        return out

    def aggregate(self, records: list[dict[str, Any]], resolution: int) -> dict[str, Any]:
        scored = [r for r in records if "skip" not in r]
        metrics: dict[str, float | None] = {}
        for f in self.all_fields():
            values = [r[f] for r in scored if r.get(f) is not None]
            metrics[f] = float(np.mean(values)) if values else None
        extra: dict[str, Any] = {
            "clips": len(scored),
            "frames": int(sum(r["frames"] for r in scored)),
            "where": self.options["where"],
            "units": "psnr_pooled = mean over clips of PSNR(MSE over the clip); psnr_frames = mean over clips "
            "of the mean per-frame PSNR; ssim, ms_ssim, lpips_<net> = mean over clips of the mean per-frame "
            "value; a metric a clip lacks is the mean over the clips that have it",
        }
        if self.options["ms_ssim"]:
            small = [r for r in scored if r.get("ms_ssim") is None]
            extra["ms_ssim_clips_without"] = len(small)
            if small:
                extra["ms_ssim_skipped"] = sorted({str(r.get("ms_ssim_skipped")) for r in small})
            if small and metrics["ms_ssim"] is None:
                extra["ms_ssim_unavailable"] = f"no clip has MS-SSIM: {small[0].get('ms_ssim_skipped')}"
        for net in self.lpips_nets:
            state = self._lpips_state.get(net, "not loaded")
            extra[f"lpips_{net}"] = state
            if metrics[f"lpips_{net}"] is None and scored:
                extra[f"lpips_{net}_unavailable"] = (
                    state if state.startswith("unavailable") else "every clip is above lpips_max_pixels"
                )
        if self.lpips_nets:
            extra["lpips_skipped_above_max_pixels"] = sum(bool(r.get("lpips_too_large")) for r in scored)
        return {"metrics": metrics, "extra": extra}
