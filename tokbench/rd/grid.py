"""The codec side of a rate-distortion run: the bpp grid, one run per (codec, rate, down), and at each
rate the down-scaling that scores best while keeping to the rate.

A grid point runs ``codec:bpp=B,down=D``: every image is downscaled D times, then coded at the
largest quality whose file fits B bits per canvas pixel (:mod:`adapters.codecs`). Its rate is the
*measured* mean file size, never the target. At each target a down factor is a candidate when its
measured mean rate keeps to the target; among candidates the best metric value wins (ties: the
lower rate, then the smaller factor). The choice is made per metric and recorded with every
candidate; a target no factor keeps to is recorded as unreachable (JPEG's headers alone exceed
0.01 bpp at 256x256).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tokbench.errors import ConfigError

CODECS = ("jpeg", "webp", "avif", "jpeg2000")
DEFAULT_GRID = (0.01, 1.0, 4)  # about 0.01-1 bpp, four points a decade
DEFAULT_DOWNS = (1, 2, 4, 8)
_BUDGET_SLACK = 1e-9  # a mean rate equal to the target (rounding) keeps to it


def log_grid(lo: float, hi: float, per_decade: int) -> list[float]:
    """Log-spaced rates from ``lo`` to ``hi`` (both included), ``per_decade`` a decade, 3 significant digits."""
    if not (0 < lo < hi) or per_decade < 1:
        raise ConfigError(f"--grid: need 0 < lo < hi and at least one point a decade, got {lo}:{hi}:{per_decade}")
    n = max(1, round(math.log10(hi / lo) * per_decade))
    return [float(f"{lo * (hi / lo) ** (i / n):.3g}") for i in range(n + 1)]


def parse_grid(text: str) -> list[float]:
    """``lo:hi:per_decade`` (log-spaced) or a comma-separated list of bpp targets."""
    try:
        if ":" in text:
            lo, hi, per = text.split(":")
            return log_grid(float(lo), float(hi), int(per))
        rates = sorted({float(p) for p in text.split(",") if p.strip()})
    except ValueError:
        raise ConfigError(f"--grid must be LO:HI:PER_DECADE or comma-separated bpp values, got {text!r}") from None
    if not rates or any(not (math.isfinite(r) and r > 0) for r in rates):
        raise ConfigError(f"--grid values must be positive bpp, got {text!r}")
    return rates


def parse_downs(text: str) -> list[int]:
    try:
        downs = sorted({int(p) for p in text.split(",") if p.strip()})
    except ValueError:
        raise ConfigError(f"--downs must be comma-separated integers >= 1, got {text!r}") from None
    if not downs or downs[0] < 1:
        raise ConfigError(f"--downs must be comma-separated integers >= 1, got {text!r}")
    return downs


def parse_codecs(text: str) -> list[str]:
    codecs = [c.strip() for c in text.split(",") if c.strip()]
    bad = [c for c in codecs if c not in CODECS]
    if bad or not codecs:
        raise ConfigError(
            f"--codecs: unknown codec(s) {', '.join(map(repr, bad)) or '(none)'}; choose from {', '.join(CODECS)}"
        )
    return list(dict.fromkeys(codecs))


def point_spec(codec: str, bpp: float, down: int) -> str:
    """The model spec of one grid point (the runner's ordinary model name)."""
    return f"{codec}:bpp={bpp:g},down={down}"


@dataclass(frozen=True)
class Measured:
    """One grid point's measured rate and metric value (None: the metric is missing or not finite)."""

    target: float
    down: int
    bpp: float
    value: float | None


def choose(points: list[Measured], higher_is_better: bool) -> list[dict[str, Any]]:
    """Per target rate (rising), the chosen down factor and every candidate, as JSON-ready dicts."""
    sign = 1.0 if higher_is_better else -1.0
    out = []
    for target in sorted({p.target for p in points}):
        here = sorted((p for p in points if p.target == target), key=lambda p: p.down)
        fits = [p for p in here if p.bpp <= target * (1 + _BUDGET_SLACK) and p.value is not None]
        best = min(fits, key=lambda p: (-sign * (p.value or 0.0), p.bpp, p.down)) if fits else None
        out.append(
            {
                "target_bpp": target,
                "chosen": None if best is None else {"down": best.down, "bpp": best.bpp, "value": best.value},
                "status": "chosen" if best else "unreachable",
                "candidates": [
                    {"down": p.down, "bpp": p.bpp, "value": p.value, "keeps_to_target": p in fits} for p in here
                ],
            }
        )
    return out
