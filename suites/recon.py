"""``recon``: per-image PSNR and SSIM between the original and its reconstruction.

Conventions (all recorded in ``options``): computed on the restored image at the original
size (``where="restored"``, as TokBench) or on the S x S canvas (``where="canvas"``); on
uint8-quantized RGB, data range 255; PSNR per image then averaged (``average="per-image"``)
or from the pooled MSE (``"pooled"``, torchmetrics' default); SSIM with an 11x11 Gaussian
window (sigma 1.5, K1 0.01, K2 0.03) per channel, averaged over channels; ``color="rgb"`` or
``"y"`` (BT.601 luma, as some papers). PSNR of identical images is capped at ``psnr_cap``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tokbench.metrics.image import psnr_from_mse, ssim, to_luma
from tokbench.suite import Item, Suite

_DEFAULTS: dict[str, Any] = {"where": "restored", "color": "rgb", "average": "per-image", "data_range": 255,
                             "quantize": "uint8", "ssim_window": "gaussian-11-1.5", "psnr_cap": 100.0}


class ReconSuite(Suite):
    name = "recon"
    version = "1"

    def __init__(self, **options: Any) -> None:
        unknown = set(options) - set(_DEFAULTS)
        if unknown:
            raise ValueError(f"recon: unknown option(s) {', '.join(sorted(unknown))}; known: {', '.join(_DEFAULTS)}")
        merged = {**_DEFAULTS, **options}
        if merged["where"] not in ("restored", "canvas"):
            raise ValueError(f"recon: where must be 'restored' or 'canvas', got {merged['where']!r}")
        if merged["color"] not in ("rgb", "y"):
            raise ValueError(f"recon: color must be 'rgb' or 'y', got {merged['color']!r}")
        if merged["average"] not in ("per-image", "pooled"):
            raise ValueError(f"recon: average must be 'per-image' or 'pooled', got {merged['average']!r}")
        super().__init__(**merged)

    def _pair(self, item: Item) -> tuple[np.ndarray, np.ndarray]:
        if self.options["where"] == "canvas":
            a, b = item.canvas, item.canvas_recon
        else:
            a, b = item.original, item.restored
        a, b = a.astype(np.float64), b.astype(np.float64)
        if self.options["color"] == "y":
            a, b = to_luma(a), to_luma(b)
        return a, b

    def process(self, items: list[Item]) -> list[list[dict[str, Any]]]:
        out = []
        for item in items:
            a, b = self._pair(item)
            mse = float(np.mean((a - b) ** 2))
            rng = float(self.options["data_range"])
            out.append([{
                "image_id": item.image_id,
                "mse": mse,
                "n_values": int(a.size),
                "psnr": psnr_from_mse(mse, rng, self.options["psnr_cap"]),
                "ssim": ssim(a, b, rng),
            }])
        return out

    def aggregate(self, records: list[dict[str, Any]], resolution: int) -> dict[str, Any]:
        used = [r for r in records if "skip" not in r]
        if not used:
            return {"metrics": {"psnr": None, "ssim": None}, "extra": {"n": 0}}
        if self.options["average"] == "pooled":
            total = sum(r["mse"] * r["n_values"] for r in used) / sum(r["n_values"] for r in used)
            psnr = psnr_from_mse(total, float(self.options["data_range"]), self.options["psnr_cap"])
        else:
            psnr = float(np.mean([r["psnr"] for r in used]))
        return {"metrics": {"psnr": psnr, "ssim": float(np.mean([r["ssim"] for r in used]))},
                "extra": {"n": len(used), "psnr_capped": sum(r["mse"] == 0 for r in used)}}
