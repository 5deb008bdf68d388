"""Bjøntegaard deltas between two rate-distortion curves, with piecewise-cubic (PCHIP) interpolation.

BD-rate: log-rate as a function of the metric on each curve, averaged over the metric range both
curves cover; ``(exp(mean difference) - 1) x 100`` is how many percent more (+) or fewer (-) bits
the test curve spends than the reference for the same quality. BD-metric: the metric as a function
of log-rate, its mean difference (test - reference, in the metric's unit) over the common log-rate
range. Both work on the curves' monotone envelopes (:func:`tokbench.rd.equivalent.envelope`): the
interpolant of rate against quality needs one rate per quality.

Crossing curves: the delta is still the mean over the common range (the standard definition), but
it then hides a change of sign, so the result says ``crossing`` and where the curves cross; a
report shows the number with "crosses" beside it (docs/rd.md, "The crossing case").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tokbench.rd.equivalent import envelope

_SAMPLES = 401  # where the sign of the difference is checked for a crossing
_TOL = 1e-9


@dataclass(frozen=True)
class Delta:
    """``value`` is None when the curves share no range or one has fewer than two envelope points
    (``reason`` says which)."""

    value: float | None
    overlap: tuple[float, float] | None = None
    crossing: bool = False
    crossings: list[float] = field(default_factory=list)
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "overlap": list(self.overlap) if self.overlap else None,
            "crossing": self.crossing,
            "crossings": self.crossings,
            "reason": self.reason,
        }


def _pchip(x: list[float], y: list[float]) -> Any:
    from scipy.interpolate import PchipInterpolator

    return PchipInterpolator(x, y, extrapolate=False)


def _mean_difference(ref: tuple[list[float], list[float]], test: tuple[list[float], list[float]], axis: str) -> Delta:
    """Mean of test(x) - ref(x) over the common x range, both interpolated piecewise-cubically."""
    (xa, ya), (xb, yb) = ref, test
    lo, hi = max(xa[0], xb[0]), min(xa[-1], xb[-1])
    if not hi > lo:
        return Delta(None, reason=f"the curves share no {axis} range")
    fa, fb = _pchip(xa, ya), _pchip(xb, yb)
    mean = (float(fb.integrate(lo, hi)) - float(fa.integrate(lo, hi))) / (hi - lo)
    xs = [lo + (hi - lo) * i / (_SAMPLES - 1) for i in range(_SAMPLES - 1)] + [hi]  # the end exactly: no NaN
    diff = [float(fb(x)) - float(fa(x)) for x in xs]
    crossings = []
    sign = 0
    for x, d in zip(xs, diff, strict=True):
        s = 0 if not abs(d) > _TOL else (1 if d > 0 else -1)
        if s and sign and s != sign:
            crossings.append(x)
        sign = s or sign
    return Delta(mean, (lo, hi), bool(crossings), crossings)


def _curve(rates: list[float], values: list[float], higher: bool) -> tuple[list[float], list[float]] | str:
    env = envelope(rates, values, higher)
    if len(env) < 2:
        return f"a curve has {len(env)} envelope point(s); Bjøntegaard needs at least 2"
    return [r for r, _ in env], [v for _, v in env]


def bd_rate(
    ref: tuple[list[float], list[float]], test: tuple[list[float], list[float]], higher_is_better: bool = True
) -> Delta:
    """BD-rate in percent of ``test`` against ``ref``, each given as (rates, values)."""
    a, b = _curve(*ref, higher_is_better), _curve(*test, higher_is_better)
    if isinstance(a, str) or isinstance(b, str):
        return Delta(None, reason=a if isinstance(a, str) else str(b))
    sign = 1.0 if higher_is_better else -1.0  # x must rise: a lower-is-better metric is read negated

    def along_metric(c: tuple[list[float], list[float]]) -> tuple[list[float], list[float]]:
        return [sign * v for v in c[1]], [math.log(r) for r in c[0]]

    d = _mean_difference(along_metric(a), along_metric(b), "metric")
    if d.value is None:
        return d
    return Delta(
        (math.exp(d.value) - 1.0) * 100.0,
        (min(sign * d.overlap[0], sign * d.overlap[1]), max(sign * d.overlap[0], sign * d.overlap[1]))
        if d.overlap
        else None,
        d.crossing,
        [sign * x for x in d.crossings],
    )


def bd_metric(
    ref: tuple[list[float], list[float]], test: tuple[list[float], list[float]], higher_is_better: bool = True
) -> Delta:
    """BD-metric of ``test`` against ``ref`` (test - ref, the metric's unit); overlap and crossings in bpp."""
    a, b = _curve(*ref, higher_is_better), _curve(*test, higher_is_better)
    if isinstance(a, str) or isinstance(b, str):
        return Delta(None, reason=a if isinstance(a, str) else str(b))

    def along_rate(c: tuple[list[float], list[float]]) -> tuple[list[float], list[float]]:
        return [math.log(r) for r in c[0]], list(c[1])

    d = _mean_difference(along_rate(a), along_rate(b), "rate")
    if d.value is None:
        return d
    overlap = (math.exp(d.overlap[0]), math.exp(d.overlap[1])) if d.overlap else None
    return Delta(d.value, overlap, d.crossing, [math.exp(x) for x in d.crossings])
