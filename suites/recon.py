"""``recon``: per-image PSNR and SSIM between the original and its reconstruction.

Conventions (all recorded in ``options``): computed on the restored image at the original
size (``where="restored"``, as TokBench) or on the S x S canvas (``where="canvas"``); on
uint8-quantized RGB, data range 255; PSNR per image then averaged (``average="per-image"``)
or from the pooled MSE (``"pooled"``, torchmetrics' default); SSIM with an 11x11 Gaussian
window (sigma 1.5, K1 0.01, K2 0.03) per channel, averaged over channels; ``color="rgb"`` or
``"y"`` (BT.601 luma, as some papers). PSNR of identical images is capped at ``psnr_cap``.
MS-SSIM is torchmetrics' definition (5 scales, Gaussian 11x11, the standard weights, relu-normalised),
computed by our separable float64 code sharing the first scale with SSIM (equal to torchmetrics within
1e-8, tested); reported only for images whose short side is at least 176 px (torchmetrics' minimum;
smaller images are counted).
LPIPS (``lpips="alex,vgg"``, v0.1 heads, inputs scaled to [-1,1]) needs ImageNet backbones no
package ships: where a backbone file is missing its metric is ``None``, ``extra`` names the file
and the folder to put it in, and the rest of the suite still runs. LPIPS runs on whole images, and its
activations take about 1 KB a pixel (VGG), so images above ``lpips_max_pixels`` (default 1024 x 1024)
get no LPIPS and are counted in ``extra``; the pixel metrics go in strips of rows and take any size.
``ssim_compat="llamagen"`` adds ``ssim_llamagen``, SSIM as LlamaGen's and GigaTok's evaluation computes it:
scikit-image's ``structural_similarity`` defaults (7x7 uniform window, sample covariance) on float32 images
in [0, 1] with ``data_range=2.0``, which inflates it; ``ssim`` stays the correct one. It holds the whole image
in memory (use ``where=canvas``, as those papers score their 256 x 256 crops).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tokbench.errors import ConfigError
from tokbench.metric_spec import HIGHER, LOWER, MetricSpec
from tokbench.metrics.image import psnr_from_mse, squared_error, ssim, ssim_and_ms_ssim
from tokbench.stats.estimand import Estimand
from tokbench.stats.intervals import Interval, IntervalSettings
from tokbench.suite import Item, Suite

_DEFAULTS: dict[str, Any] = {
    "where": "restored",
    "color": "rgb",
    "average": "per-image",
    "data_range": 255,
    "quantize": "uint8",
    "ssim_window": "gaussian-11-1.5",
    "psnr_cap": 100.0,
    "ms_ssim": True,
    "lpips": "alex,vgg",
    "lpips_random_backbone": False,
    "lpips_max_pixels": 1 << 20,
    "ssim_compat": None,
}
SSIM_COMPAT = ("llamagen",)


class ReconSuite(Suite):
    name = "recon"
    version = "2"  # 2: MS-SSIM in float64 (was float32 torchmetrics, |diff| < 1e-5)

    def __init__(self, **options: Any) -> None:
        merged = self.merge_options(_DEFAULTS, options)
        if merged["where"] not in ("restored", "canvas"):
            raise ConfigError(f"recon: where must be 'restored' or 'canvas', got {merged['where']!r}")
        if merged["color"] not in ("rgb", "y"):
            raise ConfigError(f"recon: color must be 'rgb' or 'y', got {merged['color']!r}")
        if merged["average"] not in ("per-image", "pooled"):
            raise ConfigError(f"recon: average must be 'per-image' or 'pooled', got {merged['average']!r}")
        if merged["ssim_compat"] is not None and merged["ssim_compat"] not in SSIM_COMPAT:
            raise ConfigError(f"recon: ssim_compat must be {', '.join(SSIM_COMPAT)}, got {merged['ssim_compat']!r}")
        super().__init__(**merged)
        self.lpips_nets = [n for n in str(merged["lpips"]).split(",") if n and n != "none"]
        self._lpips: dict[str, Any] = {}
        self._lpips_state: dict[str, str] = {}

    def setup(self, device: str) -> None:
        """Load each LPIPS backbone that is present; note the missing ones (never download)."""
        if not self.lpips_nets:
            return
        from tokbench.metrics.lpips_metric import load_present_nets

        random_backbone = bool(self.options["lpips_random_backbone"])
        self._lpips, self._lpips_state = load_present_nets(list(self.lpips_nets), device, random_backbone)

    def fingerprint(self) -> dict[str, Any]:
        # which LPIPS backbones were present is part of what a record means
        return {**super().fingerprint(), "lpips_state": self._lpips_state}

    def metric_specs(self) -> list[MetricSpec]:
        """PSNR, SSIM, MS-SSIM when enabled, and LPIPS for each net of the ``lpips`` option."""
        specs = [
            MetricSpec("psnr", "PSNR", HIGHER, "dB", 2, "0.05", "recon"),
            MetricSpec("ssim", "SSIM", HIGHER, "", 4, "0.002", "recon"),
        ]
        if self.options["ms_ssim"]:
            specs.append(MetricSpec("ms_ssim", "MS-SSIM", HIGHER, "", 4, "0.002", "recon"))
        if self.options["ssim_compat"]:
            specs.append(MetricSpec("ssim_llamagen", "SSIM (LlamaGen, data_range=2)", HIGHER, "", 4, "0.002", "recon"))
        specs += [
            MetricSpec(f"lpips_{net}", f"LPIPS ({net})", LOWER, "", 4, "0.002", "recon") for net in self.lpips_nets
        ]
        return specs

    def estimands(self) -> dict[str, Estimand]:
        """Means of per-image values; a pooled PSNR is not one (see ``resampled_intervals``)."""
        names = ["ssim", "ms_ssim", *(f"lpips_{net}" for net in self.lpips_nets)]
        if self.options["ssim_compat"]:
            names.append("ssim_llamagen")
        if self.options["average"] == "per-image":
            names.insert(0, "psnr")
        return {name: Estimand(name) for name in names}

    def resampled_intervals(
        self, records: list[dict[str, Any]], settings: IntervalSettings
    ) -> tuple[dict[str, Interval | str], dict[str, Any]]:
        if self.options["average"] == "pooled":
            return {"psnr": "the PSNR of the pooled MSE is not a mean of per-image values: no interval"}, {}
        return {}, {}

    def process(self, items: list[Item]) -> list[list[dict[str, Any]]]:
        out = []
        luma = self.options["color"] == "y"
        for item in items:
            # uint8 in: the metrics convert to float64 a strip of rows at a time (bounded memory)
            a, b = self._uint8_pair(item)
            mse, n_values = squared_error(a, b, luma)
            rng = float(self.options["data_range"])
            record: dict[str, Any] = {
                "image_id": item.image_id,
                "mse": mse,
                "n_values": n_values,
                "psnr": psnr_from_mse(mse, rng, self.options["psnr_cap"]),
            }
            if self.options["ms_ssim"]:
                record["ssim"], record["ms_ssim"] = ssim_and_ms_ssim(a, b, rng, luma)
            else:
                record["ssim"] = ssim(a, b, rng, luma)
            if self.options["ssim_compat"]:
                record["ssim_llamagen"] = ssim_llamagen(a, b)
            out.append([record])
        cap = int(self.options["lpips_max_pixels"])
        fits = [k for k, item in enumerate(items) if np.prod(self._uint8_pair(item)[0].shape[:2]) <= cap]
        for net, model in self._lpips.items():
            from tokbench.metrics.lpips_metric import lpips_of_arrays

            pairs = [self._uint8_pair(items[k]) for k in fits]
            values = lpips_of_arrays(model, [p[0] for p in pairs], [p[1] for p in pairs])
            for k, v in zip(fits, values, strict=True):
                out[k][0][f"lpips_{net}"] = float(v)
        if self._lpips:
            for k in set(range(len(items))) - set(fits):
                out[k][0]["lpips_too_large"] = True
        return out

    def _uint8_pair(self, item: Item) -> tuple[np.ndarray, np.ndarray]:
        # LPIPS is an RGB network: it always sees RGB, whatever ``color`` says (Y is taken in the metrics)
        return (item.canvas, item.canvas_recon) if self.options["where"] == "canvas" else (item.original, item.restored)

    def aggregate(self, records: list[dict[str, Any]], resolution: int) -> dict[str, Any]:
        used = [r for r in records if "skip" not in r]
        if not used:
            return {"metrics": {"psnr": None, "ssim": None}, "extra": {"n": 0}}
        if self.options["average"] == "pooled":
            total = sum(r["mse"] * r["n_values"] for r in used) / sum(r["n_values"] for r in used)
            psnr = psnr_from_mse(total, float(self.options["data_range"]), self.options["psnr_cap"])
        else:
            psnr = float(np.mean([r["psnr"] for r in used]))
        metrics: dict[str, float | None] = {"psnr": psnr, "ssim": float(np.mean([r["ssim"] for r in used]))}
        extra: dict[str, Any] = {"n": len(used), "psnr_capped": sum(r["mse"] == 0 for r in used)}
        if self.options["ssim_compat"]:
            values = [r["ssim_llamagen"] for r in used if r.get("ssim_llamagen") is not None]
            metrics["ssim_llamagen"] = float(np.mean(values)) if values else None
            extra["ssim_llamagen_too_small"] = len(used) - len(values)
        if self.options["ms_ssim"]:
            values = [r["ms_ssim"] for r in used if r.get("ms_ssim") is not None]
            metrics["ms_ssim"] = float(np.mean(values)) if values else None
            extra["ms_ssim_too_small"] = len(used) - len(values)
        for net in self.lpips_nets:
            values = [r[f"lpips_{net}"] for r in used if f"lpips_{net}" in r]
            metrics[f"lpips_{net}"] = float(np.mean(values)) if values else None
            extra[f"lpips_{net}"] = self._lpips_state.get(net, "not loaded")
        if self.lpips_nets:
            extra["lpips_skipped_above_max_pixels"] = sum(bool(r.get("lpips_too_large")) for r in used)
        return {"metrics": metrics, "extra": extra}


def ssim_llamagen(a: np.ndarray, b: np.ndarray) -> float | None:
    """SSIM of two uint8 ``[H,W,3]`` images as LlamaGen / GigaTok compute it (see the module docstring);
    None for a side below the 7-px window (counted in ``extra``)."""
    from skimage.metrics import structural_similarity

    if min(a.shape[:2]) < 7:
        return None
    x, y = (np.asarray(v, dtype=np.float32) / 255.0 for v in (a, b))
    return float(structural_similarity(x, y, data_range=2.0, channel_axis=-1))
