"""Intervals of rFID and KID by resampling images over the Inception features the run already has
(the fid suite's records carry each image's original and reconstruction features; no forward pass).

Images are resampled with replacement, an image's two feature vectors together. FID is biased in the
number of distinct images (it grows as N shrinks) and a resample holds only about 63 % distinct images,
so resampled values sit well above the estimate: the plain percentile interval often does not contain
it, and the ``basic`` interval (2 x estimate - quantiles) moves the other way, towards an infinite-N
FID that rFID, compared only at equal N, does not estimate. The interval here is the percentile
interval shifted by the bootstrap's own bias (mean of the resampled values - estimate): it gives the
spread of rFID over image sets of this size, around the value reported. rFID's is clipped at 0 (a
Fréchet distance is >= 0); KID's is not (its estimator is unbiased and can be negative). Each resample
costs one FID (an N x N singular value decomposition for N <= 2048), so at most ``FID_RESAMPLES`` are
drawn; the count is recorded.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from tokbench.stats.intervals import Interval, IntervalSettings

FID_RESAMPLES = 200
METHOD = "percentile-bias-shifted"


def fid_kid_intervals(
    orig: np.ndarray, recon: np.ndarray, settings: IntervalSettings, kid_options: dict[str, int]
) -> tuple[dict[str, Interval | str], dict[str, Any]]:
    """Intervals of ``rfid`` and ``kid_mean`` from features ``[N,d]`` of originals and reconstructions
    (``kid_options``: subsets, subset_size, seed as the suite's KID uses them), and how they were made."""
    from scipy.stats import bootstrap

    from tokbench.metrics.fid import fid_from_features, kid

    n = orig.shape[0]
    resamples = min(settings.resamples, FID_RESAMPLES)
    how = {"method": METHOD, "resamples": resamples, "unit": "image", "seed": settings.seed}
    if n < 3:
        return {m: f"needs at least 3 images, got {n}" for m in ("rfid", "kid_mean")}, how

    def rfid(idx: np.ndarray) -> float:
        return fid_from_features(orig[idx], recon[idx])

    def kid_mean(idx: np.ndarray) -> float:
        value = kid(orig[idx], recon[idx], **kid_options)["kid_mean"]
        return math.nan if value is None else float(value)

    out: dict[str, Interval | str] = {}
    for name, statistic in (("rfid", rfid), ("kid_mean", kid_mean)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = bootstrap(
                (np.arange(n),),
                statistic,
                n_resamples=resamples,
                vectorized=False,
                confidence_level=settings.confidence,
                method="percentile",
                rng=np.random.default_rng(settings.seed),
            )
        shift = float(np.mean(res.bootstrap_distribution)) - statistic(np.arange(n))
        lo, hi = float(res.confidence_interval.low) - shift, float(res.confidence_interval.high) - shift
        if math.isfinite(lo) and math.isfinite(hi):
            floor = 0.0 if name == "rfid" else -math.inf
            out[name] = Interval(max(floor, lo), max(floor, hi), METHOD)
        else:
            out[name] = "the image bootstrap is degenerate here"
    return out, how
