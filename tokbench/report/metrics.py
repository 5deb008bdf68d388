"""The known-metric table: display name, better direction, decimals and default release-gate tolerance.

Unknown metric names are shown as they are, with 4 significant digits, no known direction and no
default tolerance (``check`` then lists them without gating on them). A tolerance is a maximum
allowed *drop* in the bad direction: a number in the metric's own unit (``0.5`` = half a
percentage point for T-ACC) or a relative one written ``"2%"`` (of the baseline value).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HIGHER = "higher"
LOWER = "lower"
BUCKETS = ("small", "medium", "large")
BUCKET_SHORT = {"small": "S", "medium": "M", "large": "L"}


@dataclass(frozen=True)
class MetricSpec:
    name: str
    label: str
    direction: str | None  # HIGHER, LOWER, or None when unknown
    decimals: int | None  # None: 4 significant digits
    tolerance: str | None  # default max drop ("0.5" or "2%"); None = not gated by default
    unit: str = ""

    def format(self, value: float | None) -> str:
        """The value as a table shows it ("–" when missing)."""
        if value is None or value != value:
            return "–"
        if self.decimals is None:
            return f"{value:.4g}"
        return f"{value:.{self.decimals}f}"

    @property
    def arrow(self) -> str:
        return {HIGHER: "↑", LOWER: "↓"}.get(self.direction or "", "")


def _family(base: str, label: str, direction: str, decimals: int, tol_mean: str, tol_bucket: str,
            unit: str = "") -> list[MetricSpec]:
    """A metric with a Mean and Small/Medium/Large bucket variants (``t_acc``, ``t_acc_small`` …)."""
    out = [MetricSpec(base, label, direction, decimals, tol_mean, unit)]
    out += [MetricSpec(f"{base}_{b}", f"{label} {BUCKET_SHORT[b]}", direction, decimals, tol_bucket, unit)
            for b in BUCKETS]
    return out


KNOWN: dict[str, MetricSpec] = {s.name: s for s in [
    *_family("t_acc", "T-ACC", HIGHER, 2, "0.5", "1.0", "%"),
    *_family("t_ned", "T-NED", HIGHER, 2, "0.5", "1.0", "%"),
    *_family("f_sim", "F-Sim", HIGHER, 2, "0.005", "0.01"),
    MetricSpec("psnr", "PSNR", HIGHER, 2, "0.05", "dB"),
    MetricSpec("ssim", "SSIM", HIGHER, 4, "0.002"),
    MetricSpec("ms_ssim", "MS-SSIM", HIGHER, 4, "0.002"),
    MetricSpec("lpips_alex", "LPIPS (alex)", LOWER, 4, "0.002"),
    MetricSpec("lpips_vgg", "LPIPS (vgg)", LOWER, 4, "0.002"),
    MetricSpec("lpips", "LPIPS", LOWER, 4, "0.002"),
    MetricSpec("rfid", "rFID", LOWER, 2, "2%"),
    MetricSpec("kid_mean", "KID", LOWER, 4, "5%"),
    MetricSpec("kid_std", "KID std", None, 4, None),
]}

# Token-language statistics: direction known for a few, none gated by default. Matched on the last
# dotted part of names like ``level0.utilization`` or ``joint.codebook_perplexity``.
_LANGUAGE_TAILS: dict[str, tuple[str, int]] = {
    "utilization": (HIGHER, 4),
    "used_codes": (HIGHER, 0),
    "dead_codes": (LOWER, 0),
    "codebook_perplexity": (HIGHER, 2),
    "normalized_entropy": (HIGHER, 4),
}


def spec(name: str) -> MetricSpec:
    """The spec of a metric; unknown names get a neutral spec showing the name as-is."""
    if name in KNOWN:
        return KNOWN[name]
    tail = name.rpartition(".")[2]
    if tail in _LANGUAGE_TAILS and tail != name:
        direction, decimals = _LANGUAGE_TAILS[tail]
        return MetricSpec(name, name, direction, decimals, None)
    return MetricSpec(name, name, None, None, None)


def order_key(name: str) -> tuple[int, str]:
    """Known metrics in table order first, then the rest alphabetically."""
    names = list(KNOWN)
    return (names.index(name), "") if name in names else (len(names), name)


def is_language_metric(name: str) -> bool:
    return bool(re.match(r"^(level\d+|joint)\.", name))
