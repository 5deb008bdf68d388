"""Codec-equivalent rate: the bpp at which a codec reaches a score, read off its monotone envelope.

The envelope keeps, in order of rate, only the points that beat every cheaper point (a codec can
always spend fewer bits than asked, so a score it reaches at a low rate is reachable at any higher
one). Between two envelope points the score is interpolated linearly in log-bpp. A score outside
the envelope's range is "beyond the curve": reported as a bound, never extrapolated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Status = Literal["within", "below", "above"]


@dataclass(frozen=True)
class Equivalent:
    """``bpp`` is set when ``status == "within"``; otherwise ``bound`` is the end of the curve it lies
    beyond: "below" = worse than the codec's cheapest point (equivalent rate < bound), "above" =
    better than the codec's best point (equivalent rate > bound)."""

    status: Status
    bpp: float | None = None
    bound: float | None = None

    def saving(self, model_bpp: float) -> tuple[str, float] | None:
        """(relation, ratio) of codec bits to the model's: ``("=", 2.4)`` means the codec needs 2.4x the
        bits; ``("<", r)`` / ``(">", r)`` bound it when the score is beyond the curve."""
        if model_bpp <= 0 or not math.isfinite(model_bpp):
            return None
        if self.status == "within" and self.bpp is not None:
            return "=", self.bpp / model_bpp
        if self.bound is None:
            return None
        return ("<" if self.status == "below" else ">"), self.bound / model_bpp

    def to_dict(self, model_bpp: float | None = None) -> dict[str, object]:
        out: dict[str, object] = {"status": self.status, "bpp": self.bpp, "bound": self.bound}
        saving = self.saving(model_bpp) if model_bpp is not None else None
        out["saving"] = None if saving is None else {"relation": saving[0], "ratio": saving[1]}
        return out


def envelope(rates: list[float], values: list[float], higher_is_better: bool = True) -> list[tuple[float, float]]:
    """The points (rate, value), by rising rate, each strictly better than every cheaper point.

    Points with a non-finite or non-positive rate or a non-finite value are not rate-distortion
    points; callers count them before calling (this function refuses them)."""
    if len(rates) != len(values):
        raise ValueError(f"{len(rates)} rates for {len(values)} values")
    sign = 1.0 if higher_is_better else -1.0
    pts = sorted(zip(rates, values, strict=True), key=lambda p: (p[0], -sign * p[1]))
    out: list[tuple[float, float]] = []
    for r, v in pts:
        if not (math.isfinite(r) and r > 0 and math.isfinite(v)):
            raise ValueError(f"not a rate-distortion point: rate {r!r}, value {v!r}")
        if not out or sign * v > sign * out[-1][1]:
            if out and r == out[-1][0]:
                out[-1] = (r, v)
            else:
                out.append((r, v))
    return out


def equivalent_rate(env: list[tuple[float, float]], score: float, higher_is_better: bool = True) -> Equivalent:
    """The rate at which the envelope ``env`` (from :func:`envelope`) reaches ``score``."""
    if not env:
        raise ValueError("an empty curve has no equivalent rate")
    if not math.isfinite(score):
        raise ValueError(f"score must be finite, got {score!r}")
    sign = 1.0 if higher_is_better else -1.0
    s = sign * score
    ys = [sign * v for _, v in env]
    if s < ys[0]:
        return Equivalent("below", bound=env[0][0])
    if s > ys[-1]:
        return Equivalent("above", bound=env[-1][0])
    for i, y in enumerate(ys):
        if s == y:
            return Equivalent("within", bpp=env[i][0])
        if s < y:  # between point i-1 and i (i >= 1: s >= ys[0] and s != ys[0])
            (r0, _), (r1, _) = env[i - 1], env[i]
            t = (s - ys[i - 1]) / (y - ys[i - 1])
            return Equivalent("within", bpp=math.exp(math.log(r0) + t * (math.log(r1) - math.log(r0))))
    raise AssertionError("unreachable: s <= ys[-1]")
