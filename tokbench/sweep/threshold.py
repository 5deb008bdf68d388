"""Logistic fits of per-instance 0/1 outcomes on log-size, and the sizes where they reach a level.

Model: ``P(success | size) = top * sigmoid(slope * (log(size) - mid))`` with ``slope > 0`` and an upper
asymptote ``0 < top <= 1``, fitted by maximum likelihood. The free ``top`` is why a level can be *never
reached*: an OCR that tops out at 85 % has no 90 % threshold, where a two-parameter logistic would
extrapolate one. A threshold outside the swept range is flagged ("below sweep" / "above sweep"), and so is
an asymptote below the level fitted to a curve still rising at the largest size ("not reached within sweep").

The fit is a coarse grid search (so no local optimum traps it) refined by Levenberg-damped Fisher scoring,
vectorised over many weightings of the same instances at once: that is what makes the bootstrap cheap
(hundreds of refits in well under a second; scipy's optimiser costs milliseconds per call).

Intervals: a seeded bootstrap that resamples instances within each size level (stratified, so every
level keeps its count), refits, and takes percentiles; a resample that never reaches the level counts as
+infinity, so an upper bound can be "not reached" (None).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

LEVELS = (0.5, 0.9)
_EPS = 1e-12


@dataclass(frozen=True)
class Fit:
    """A fitted curve: ``mid`` and ``slope`` on natural-log size, ``top`` the upper asymptote."""

    mid: float
    slope: float
    top: float

    def rate(self, size: np.ndarray | float) -> np.ndarray:
        x = np.log(np.asarray(size, dtype=np.float64))
        return self.top / (1.0 + np.exp(-self.slope * (x - self.mid)))

    def size_at(self, level: float) -> float | None:
        """The size where the curve reaches ``level``; None when its asymptote stays at or below it."""
        if self.top <= level:
            return None
        q = level / self.top
        return math.exp(self.mid + math.log(q / (1.0 - q)) / self.slope)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free


def _curve(theta: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p [B,U] and dp/dtheta [B,U,3] for parameters theta [B,3] = (mid, log slope, logit top)."""
    mid, slope, top = theta[:, :1], np.exp(theta[:, 1:2]), _sigmoid(theta[:, 2:3])
    sig = _sigmoid(slope * (x[None, :] - mid))
    dsig = top * sig * (1.0 - sig)
    grad = np.stack([-dsig * slope, dsig * (x[None, :] - mid) * slope, sig * top * (1.0 - top)], axis=-1)
    return top * sig, grad


def _loglik(theta: np.ndarray, x: np.ndarray, k: np.ndarray, n: np.ndarray) -> np.ndarray:
    p = np.clip(_curve(theta, x)[0], _EPS, 1.0 - _EPS)
    return np.sum(k * np.log(p) + (n - k) * np.log1p(-p), axis=1)


def _bounds(x: np.ndarray) -> np.ndarray:
    lo, hi = float(x.min()), float(x.max())
    span = max(hi - lo, 1e-6)
    # mid may sit beyond the swept range (all successes or all failures); slopes within physical limits
    return np.array([[lo - 2 * span, hi + 2 * span], [math.log(0.05 / span), math.log(200 / span)], [-9.0, 12.0]])


def fit_many(x: np.ndarray, k: np.ndarray, n: np.ndarray, iterations: int = 200) -> np.ndarray:
    """Maximum-likelihood parameters [B,3] for B binomial data sets on the same log-sizes ``x`` [U]:
    ``k`` successes out of ``n`` trials, both [B,U] (weights may be fractional)."""
    bounds = _bounds(x)
    grid = np.array(
        [
            (m, s, t)
            for m in np.linspace(bounds[0, 0] / 2 + x.min() / 2, bounds[0, 1] / 2 + x.max() / 2, 25)
            for s in np.linspace(bounds[1, 0] + 1.0, bounds[1, 1] - 1.0, 7)
            for t in (-1.0, 0.5, 1.5, 2.5, 4.0, 7.0)
        ]
    )
    # coarse search: every grid point for every data set, [G,B]
    p = np.clip(_curve(grid, x)[0], _EPS, 1.0 - _EPS)
    ll = np.log(p) @ k.T + np.log1p(-p) @ (n - k).T
    theta = grid[np.argmax(ll, axis=0)].copy()
    best = _loglik(theta, x, k, n)
    damping = np.full(theta.shape[0], 1e-3)
    for _ in range(iterations):
        p, dp = _curve(theta, x)
        p = np.clip(p, _EPS, 1.0 - _EPS)
        resid = (k - n * p) / (p * (1.0 - p))
        score = np.einsum("bu,bui->bi", resid, dp)
        info = np.einsum("bu,bui,buj->bij", n / (p * (1.0 - p)), dp, dp)
        diag = np.einsum("bii->bi", info)
        lhs = info + (damping[:, None] * diag + 1e-9)[:, :, None] * np.eye(3)[None]
        step = np.linalg.solve(lhs, score[:, :, None])[:, :, 0]
        trial = np.clip(theta + step, bounds[:, 0], bounds[:, 1])
        new = _loglik(trial, x, k, n)
        better = new >= best - 1e-12
        theta[better], best[better] = trial[better], new[better]
        damping = np.where(better, damping / 3.0, damping * 4.0)
        if np.all((np.abs(step).max(axis=1) < 1e-9) | (damping > 1e12)):
            break
    return theta


def _grouped(sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique log-sizes [U] and the one-hot map instance -> unique size [N,U]."""
    unique, inverse = np.unique(np.asarray(sizes, dtype=np.float64), return_inverse=True)
    onehot = np.zeros((inverse.size, unique.size))
    onehot[np.arange(inverse.size), inverse] = 1.0
    return np.log(unique), onehot


def _as_fits(theta: np.ndarray) -> list[Fit]:
    return [Fit(float(m), math.exp(s), float(_sigmoid(np.array(t)))) for m, s, t in theta]


def fit(sizes: Sequence[float] | np.ndarray, outcomes: Sequence[float] | np.ndarray) -> Fit:
    """Maximum-likelihood fit of 0/1 ``outcomes`` against ``sizes`` (> 0)."""
    s, y = np.asarray(sizes, dtype=np.float64), np.asarray(outcomes, dtype=np.float64)
    check(s, y)
    x, onehot = _grouped(s)
    return _as_fits(fit_many(x, (y @ onehot)[None], onehot.sum(axis=0)[None]))[0]


def check(sizes: np.ndarray, outcomes: np.ndarray) -> None:
    if sizes.shape != outcomes.shape or sizes.ndim != 1 or sizes.size < 2:
        raise ValueError(f"fit needs matching 1-d sizes and outcomes (at least 2), got {sizes.shape}, {outcomes.shape}")
    if not np.all(sizes > 0) or not np.all(np.isfinite(sizes)):
        raise ValueError("fit: sizes must be finite and > 0")
    if not np.all(np.isin(outcomes, (0.0, 1.0))):
        raise ValueError("fit: outcomes must be 0 or 1")


# the fitted curve counts as saturated at the largest size once it is within 90 % of its asymptote
SATURATED = 0.9


def status(value: float | None, lo: float, hi: float, best: Fit | None = None) -> str:
    """ "ok", "never" (asymptote below the level, the curve flat at the largest size), "not reached within
    sweep" (asymptote below the level but the curve still rising at the largest size: the asymptote is an
    extrapolation), "below sweep" or "above sweep"."""
    if value is None:
        if best is not None and float(best.rate(hi)) < SATURATED * best.top:
            return "not reached within sweep"
        return "never"
    if value < lo:
        return "below sweep"
    if value > hi:
        return "above sweep"
    return "ok"


def resample_weights(strata: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """[B,N] bootstrap counts: each stratum's instances redrawn with replacement, its size kept."""
    rng = np.random.default_rng(seed)
    weights = np.zeros((resamples, strata.size))
    for label in np.unique(strata):
        members = np.flatnonzero(strata == label)
        draws = rng.integers(0, members.size, (resamples, members.size))
        for b in range(resamples):
            np.add.at(weights[b], members[draws[b]], 1.0)
    return weights


def _interval(values: np.ndarray, confidence: float) -> tuple[float | None, float | None]:
    """Percentile interval (no interpolation, so +inf = never reached stays +inf: bound None)."""
    alpha = (1.0 - confidence) / 2
    low, high = (float(np.quantile(values, q, method="inverted_cdf")) for q in (alpha, 1 - alpha))
    return (low if math.isfinite(low) else None), (high if math.isfinite(high) else None)


def _at(theta: np.ndarray, level: float) -> np.ndarray:
    """Threshold sizes [B] at ``level`` (+inf where never reached)."""
    return np.array([f.size_at(level) or math.inf for f in _as_fits(theta)])


def thresholds(
    sizes: np.ndarray,
    outcomes: np.ndarray,
    ceiling: np.ndarray | None,
    strata: np.ndarray,
    resamples: int,
    seed: int,
    levels: Sequence[float] = LEVELS,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Per level: the model's threshold, the ceiling's and their ratio, with a paired bootstrap interval
    (the same resampled instances for model and ceiling), each threshold with its status."""
    sizes, outcomes = np.asarray(sizes, dtype=np.float64), np.asarray(outcomes, dtype=np.float64)
    check(sizes, outcomes)
    x, onehot = _grouped(sizes)
    weights = np.vstack([np.ones(sizes.size), resample_weights(np.asarray(strata), resamples, seed)])
    n = weights @ onehot
    series = {"model": outcomes} if ceiling is None else {"model": outcomes, "ceiling": np.asarray(ceiling, float)}
    fitted = {name: fit_many(x, (weights * y) @ onehot, n) for name, y in series.items()}
    lo, hi = float(sizes.min()), float(sizes.max())
    best = {name: _as_fits(theta[:1])[0] for name, theta in fitted.items()}
    result: dict[str, Any] = {}
    for level in levels:
        key = f"{round(level * 100)}"
        at = {name: _at(theta, level) for name, theta in fitted.items()}
        if ceiling is not None:
            with np.errstate(invalid="ignore"):
                ratio = at["model"] / at["ceiling"]
            at["rel"] = np.where(np.isfinite(ratio), ratio, math.inf)
        for name, values in at.items():
            point = float(values[0]) if math.isfinite(values[0]) else None
            low, high = _interval(values[1:], confidence) if resamples else (None, None)
            entry: dict[str, Any] = {"value": point, "low": low, "high": high}
            if name != "rel":
                entry["status"] = status(point, lo, hi, best[name])
            result[f"{name}_{key}"] = entry
    for name, f in best.items():
        result[f"{name}_fit"] = {"mid": f.mid, "slope": f.slope, "top": f.top}
    result["range_px"] = [lo, hi]
    result["resamples"] = resamples
    return result
