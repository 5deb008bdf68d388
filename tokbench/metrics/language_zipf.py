"""Rank–frequency statistics: log-log OLS Zipf fit, the power-law MLE, and plot curves.

The OLS fit is the conventional "Zipf plot" slope; it is biased (Clauset, Shalizi & Newman
2009), which is why the ``powerlaw`` package's MLE fit of the frequency distribution is
reported beside it, with the safeguards of Park, Takamichi, Chan et al.: no fit when the
type/token ratio exceeds 0.9, and a refit with alpha in [1.01, 8] when the default alpha range
(upper bound 3) is hit.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

_BOUND_TOL = 1e-3  # alpha within this of the default upper bound counts as "hit the bound"


def linear_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """OLS ``y = a + b x``: returns ``(b, a, r2)``; NaN when x has no spread."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.size < 2 or np.ptp(x) == 0:
        return math.nan, math.nan, math.nan
    b, a = np.polyfit(x, y, 1)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    ss_res = float(np.sum((y - (a + b * x)) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else math.nan
    return float(b), float(a), r2


def rank_frequency_ols(
    counts: np.ndarray, drop_top: float = 0.0, drop_singletons: bool = False, rank_max: int | None = None
) -> dict[str, Any]:
    """Fit ``log10 c(r) = intercept - s log10 r`` over a rank range of the sorted type counts.

    ``drop_top`` removes that fraction of the highest ranks, ``drop_singletons`` the tail of
    count-1 types, ``rank_max`` caps the range."""
    c = np.sort(np.asarray(counts, dtype=np.float64)[np.asarray(counts) > 0])[::-1]
    lo = 1 + int(math.floor(drop_top * c.size))
    hi = c.size
    if drop_singletons:
        hi = int(np.count_nonzero(c > 1))
    if rank_max is not None:
        hi = min(hi, int(rank_max))
    ranks = np.arange(lo, hi + 1, dtype=np.float64)
    slope, intercept, r2 = linear_fit(np.log10(ranks), np.log10(c[lo - 1 : hi])) if hi > lo else (math.nan,) * 3
    return {
        "s": 0.0 - slope if math.isfinite(slope) else math.nan,
        "intercept": intercept,
        "r2": r2,
        "rank_range": [lo, hi],
        "points": max(0, hi - lo + 1),
    }


def log_spaced_curve(counts: np.ndarray, points: int = 64) -> dict[str, list[int]]:
    """The rank–frequency curve at about ``points`` log-spaced ranks (first and last included)."""
    c = np.sort(np.asarray(counts)[np.asarray(counts) > 0])[::-1]
    if c.size == 0:
        return {"rank": [], "count": []}
    ranks = np.unique(np.round(np.logspace(0, math.log10(c.size), max(2, points))).astype(np.int64))
    ranks = ranks[(ranks >= 1) & (ranks <= c.size)]
    return {"rank": ranks.tolist(), "count": c[ranks - 1].astype(np.int64).tolist()}


def _fit(data: np.ndarray, ranges: dict[str, list[float]] | None) -> Any:
    import powerlaw  # imported on use: it pulls in matplotlib (seconds)

    return powerlaw.Fit(data, discrete=True, verbose=0, parameter_ranges=ranges)


def powerlaw_fit(
    counts: np.ndarray,
    n_tokens: int,
    max_types_per_token: float = 0.9,
    refit_range: tuple[float, float] = (1.01, 8.0),
    compare: bool = True,
    max_types: int | None = 300_000,
) -> dict[str, Any]:
    """Clauset-style discrete power-law MLE of the type-frequency distribution.

    Returns alpha, xmin, KS distance D, the implied Zipf exponent ``s = 1 / (alpha - 1)`` and,
    when ``compare``, the normalised log-likelihood ratio R (> 0 favours the power law) and
    its p-value against a log-normal. More than ``max_types`` types: not fitted, because the
    package checks its whole data in a Python loop for every candidate xmin (~10 s at 300k types)."""
    c = np.asarray(counts, dtype=np.float64)
    c = c[c > 0]
    out: dict[str, Any] = {
        "defined": False,
        "reason": None,
        "alpha": math.nan,
        "xmin": math.nan,
        "ks": math.nan,
        "s": math.nan,
        "n_tail": 0,
        "refit": False,
        "lognormal_R": math.nan,
        "lognormal_p": math.nan,
        "warnings": [],
    }
    if n_tokens == 0 or c.size / n_tokens > max_types_per_token:
        out["reason"] = f"types/tokens > {max_types_per_token}"
        return out
    if max_types is not None and c.size > max_types:
        out["reason"] = f"more than {max_types} types (powerlaw_max_types)"
        return out
    if np.unique(c).size < 3:
        out["reason"] = "fewer than 3 distinct type frequencies"
        return out
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = _fit(c, None)
            if fit.power_law.alpha >= 3.0 - _BOUND_TOL:
                fit = _fit(c, {"alpha": list(refit_range)})
                out["refit"] = True
            alpha = float(fit.power_law.alpha)
            out.update(alpha=alpha, xmin=float(fit.xmin), ks=float(fit.power_law.D), n_tail=int(fit.n))
            out["s"] = 1.0 / (alpha - 1.0) if alpha > 1 else math.nan
            if compare:
                r, p = fit.distribution_compare("power_law", "lognormal", normalized_ratio=True)
                out.update(lognormal_R=float(r), lognormal_p=float(p))
        except Exception as e:  # a failed fit is a recorded outcome, not a crash
            out["reason"] = f"fit failed: {type(e).__name__}: {e}"
            return out
    # the package's own deprecation notices say nothing about the fit
    out["warnings"] = sorted({str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)})
    if any("No valid values for xmin" in m for m in out["warnings"]):
        out["reason"] = "no valid xmin"
    else:
        out["defined"] = math.isfinite(out["alpha"])
    return out
