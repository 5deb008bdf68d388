"""Small self-made SVG line charts (no plotting dependency): linear, log or categorical axes.

The ``<svg>`` carries no ``xmlns``: it is meant for inline use in HTML, whose parser supplies it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import TypeGuard

PALETTE = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
    "#393b79",
    "#637939",
]


@dataclass
class Series:
    label: str
    xs: Sequence[float]
    ys: Sequence[float | None]
    dashed: bool = False
    errors: Sequence[tuple[float, float] | None] | None = None  # (low, high) per point: an error bar


def _bars(s: Series, log_x: bool, log_y: bool) -> list[tuple[float, float, float]]:
    """(x, low, high) of the series' drawable error bars."""
    return [
        (x, e[0], e[1])
        for x, y, e in zip(s.xs, s.ys, s.errors or [], strict=False)
        if e is not None and _ok(x, log_x) and _ok(y, log_y) and _ok(e[0], log_y) and _ok(e[1], log_y)
    ]


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 5 × 10^k steps) covering [lo, hi]."""
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(count, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step) * step
    ticks = []
    v = first
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 12))
        v += step
    if ticks[-1] < hi:
        ticks.append(round(v, 12))
    return ticks


def log_ticks(lo: float, hi: float) -> list[float]:
    return [10.0**k for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)]


def _fmt(v: float) -> str:
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
        return f"{v:.0e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{v:.6g}"


class _Axis:
    def __init__(
        self,
        values: list[float],
        log: bool,
        lo_px: float,
        hi_px: float,
        fixed: tuple[float, float] | None,
        categories: list[str] | None = None,
    ) -> None:
        self.log, self.categories = log, categories
        self.lo_px, self.hi_px = lo_px, hi_px
        if categories is not None:
            self.lo, self.hi, self.ticks = -0.5, len(categories) - 0.5, [float(i) for i in range(len(categories))]
        elif log:
            vals = [v for v in values if v > 0] or [1.0, 10.0]
            self.ticks = log_ticks(min(vals), max(vals))
            self.lo, self.hi = math.log10(self.ticks[0]), math.log10(self.ticks[-1])
            if self.hi == self.lo:
                self.hi += 1
        else:
            lo, hi = fixed if fixed else (min(values, default=0.0), max(values, default=1.0))
            self.ticks = nice_ticks(lo, hi)
            self.lo, self.hi = self.ticks[0], self.ticks[-1]

    def __call__(self, v: float) -> float:
        t = math.log10(v) if self.log else v
        return self.lo_px + (t - self.lo) / (self.hi - self.lo) * (self.hi_px - self.lo_px)

    def label(self, tick: float) -> str:
        if self.categories is not None:
            return self.categories[int(tick)]
        return _fmt(tick)


def line_chart(
    series: list[Series],
    title: str,
    x_label: str = "",
    y_label: str = "",
    categories: list[str] | None = None,
    log_x: bool = False,
    log_y: bool = False,
    y_range: tuple[float, float] | None = None,
    width: int = 460,
    height: int = 300,
) -> str:
    """An inline ``<svg>`` with one polyline per series, hover titles on points and a legend."""
    legend_w = 150
    left, right, top, bottom = 58, width - legend_w, 30, height - 44
    pts = [(x, y) for s in series for x, y in zip(s.xs, s.ys, strict=False) if _ok(x, log_x) and _ok(y, log_y)]
    xa = _Axis([p[0] for p in pts], log_x, left, right, None, categories)
    bounds = [v for s in series for _, lo, hi in _bars(s, log_x, log_y) for v in (lo, hi)]  # bars stay inside the axes
    ya = _Axis([p[1] for p in pts] + bounds, log_y, bottom, top, y_range)
    out = [
        f'<svg class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<text x="{(left + right) / 2:.1f}" y="16" text-anchor="middle" font-size="13" '
        f'font-weight="bold">{escape(title)}</text>',
    ]
    for t in ya.ticks:
        y = ya(t)
        out.append(f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(ya.label(t))}</text>')
    for t in xa.ticks:
        x = xa(t)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 4}" stroke="#444"/>')
        out.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{escape(xa.label(t))}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" fill="none" stroke="#444"/>')
    if x_label:
        out.append(f'<text x="{(left + right) / 2:.1f}" y="{height - 8}" text-anchor="middle">{escape(x_label)}</text>')
    if y_label:
        out.append(
            f'<text transform="translate(14 {(top + bottom) / 2:.1f}) rotate(-90)" text-anchor="middle">'
            f"{escape(y_label)}</text>"
        )
    for i, s in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        xy = [(xa(x), ya(y)) for x, y in zip(s.xs, s.ys, strict=False) if _ok(x, log_x) and _ok(y, log_y)]
        if not xy:
            continue
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        for x, lo, hi in _bars(s, log_x, log_y):
            bx, y0, y1 = xa(x), ya(lo), ya(hi)
            out.append(
                f'<path class="bar" d="M{bx:.1f},{y0:.1f}V{y1:.1f}M{bx - 3:.1f},{y0:.1f}H{bx + 3:.1f}'
                f'M{bx - 3:.1f},{y1:.1f}H{bx + 3:.1f}" stroke="{color}" fill="none"/>'
            )
        if len(xy) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.8"{dash}/>')
        if len(xy) <= 40:
            for (px, py), (x, y) in zip(
                xy, [(x, y) for x, y in zip(s.xs, s.ys, strict=False) if _ok(x, log_x) and _ok(y, log_y)], strict=True
            ):
                xl = xa.label(x) if categories is not None else _fmt(x)
                out.append(
                    f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{color}"><title>'
                    f"{escape(s.label)}: {escape(xl)}, {_fmt(y)}</title></circle>"
                )
        ly = top + 6 + 16 * i
        out.append(
            f'<line x1="{right + 10}" x2="{right + 28}" y1="{ly}" y2="{ly}" stroke="{color}" stroke-width="2"{dash}/>'
        )
        out.append(
            f'<text x="{right + 32}" y="{ly + 4}">{escape(_short(s.label))}<title>{escape(s.label)}</title></text>'
        )
    out.append("</svg>")
    return "\n".join(out)


def _ok(v: float | None, log: bool) -> TypeGuard[float]:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v) and (v > 0 or not log)


def _short(label: str, n: int = 20) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"
