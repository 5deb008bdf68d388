"""``fid``: rFID and KID between the originals and their reconstructions.

Protocol (recorded in ``extra``): 2048-d pool features of the TF 2015-12-05 FID Inception in
torch-fidelity's extractor (:mod:`tokbench.metrics.inception`); each uint8 image is fed at its
own size and resized to 299 x 299 by the extractor's TF1-compatible bilinear resize; features of
the original and of the reconstruction, either the restored one at the original size
(``where="restored"``) or the S x S canvas pair (``where="canvas"``); reference = the originals
of the same run. FID in float64; KID = unbiased polynomial-kernel MMD^2 over seeded subsets. The
Inception Score is not offered (no logits offline).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tokbench.suite import Item, Suite

_DEFAULTS: dict[str, Any] = {"where": "restored", "batch_size": 16, "kid_subsets": 100,
                             "kid_subset_size": 1000, "kid_seed": 0, "weights": None,
                             "extractor": "inception-v3-compat-2048"}


class FidSuite(Suite):
    name = "fid"
    version = "1"

    def __init__(self, **options: Any) -> None:
        unknown = set(options) - set(_DEFAULTS)
        if unknown:
            raise ValueError(f"fid: unknown option(s) {', '.join(sorted(unknown))}; known: {', '.join(_DEFAULTS)}")
        merged = {**_DEFAULTS, **options}
        if merged["where"] not in ("restored", "canvas"):
            raise ValueError(f"fid: where must be 'restored' or 'canvas', got {merged['where']!r}")
        if merged["extractor"] != _DEFAULTS["extractor"]:
            raise ValueError(f"fid: only extractor {_DEFAULTS['extractor']!r} is available")
        for key in ("batch_size", "kid_subsets", "kid_subset_size"):
            if int(merged[key]) < 1:
                raise ValueError(f"fid: {key} must be >= 1, got {merged[key]!r}")
        super().__init__(**merged)
        self.model: Any = None
        self.info: dict[str, Any] = {}

    def setup(self, device: str) -> None:
        from tokbench.metrics.inception import load_inception

        self.model, self.info = load_inception(device, self.options["weights"])

    def _pair(self, item: Item) -> tuple[np.ndarray, np.ndarray]:
        if self.options["where"] == "canvas":
            return item.canvas, item.canvas_recon
        return item.original, item.restored

    def process(self, items: list[Item]) -> list[list[dict[str, Any]]]:
        if self.model is None:
            raise RuntimeError("fid: setup(device) must run before process()")
        from tokbench.metrics.inception import features_of_arrays

        pairs = [self._pair(it) for it in items]
        bs = int(self.options["batch_size"])
        orig = features_of_arrays(self.model, [np.ascontiguousarray(a) for a, _ in pairs], bs)
        recon = features_of_arrays(self.model, [np.ascontiguousarray(b) for _, b in pairs], bs)
        return [[{"image_id": it.image_id, "_feat_orig": orig[i], "_feat_recon": recon[i]}]
                for i, it in enumerate(items)]

    def aggregate(self, records: list[dict[str, Any]], resolution: int) -> dict[str, Any]:
        from tokbench.metrics.fid import bias_warning, fid_from_features, kid

        used = [r for r in records if "skip" not in r]
        extra: dict[str, Any] = {"n": len(used), "where": self.options["where"],
                                 "inception_sha256": self.info.get("sha256"),
                                 "inception_source": self.info.get("source"),
                                 "resize": self.info.get("resize"), "reference": "originals of this run",
                                 "kid_kernel": "(x.y/2048 + 1)^3, unbiased MMD^2", "kid_std_ddof": 0}
        if len(used) < 2:
            extra["warning"] = f"FID needs at least 2 images, got N={len(used)}"
            return {"metrics": {"rfid": None, "kid_mean": None, "kid_std": None}, "extra": extra}
        orig = np.stack([r["_feat_orig"] for r in used])
        recon = np.stack([r["_feat_recon"] for r in used])
        k = kid(orig, recon, int(self.options["kid_subsets"]), int(self.options["kid_subset_size"]),
                int(self.options["kid_seed"]))
        extra.update(warning=bias_warning(len(used)), kid_subsets=k["kid_subsets"],
                     kid_subset_size=k["kid_subset_size"], kid_seed=k["kid_seed"])
        return {"metrics": {"rfid": fid_from_features(orig, recon), "kid_mean": k["kid_mean"],
                            "kid_std": k["kid_std"]}, "extra": extra}
