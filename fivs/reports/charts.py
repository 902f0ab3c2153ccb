"""Server-rendered SVG charts: pure functions, numbers in and markup out (no Flask, no database).

The pages' Content-Security-Policy forbids style attributes, so the markup uses presentation
attributes only (fill=, stroke=, font-size=...). Every chart has a <title> and a <desc> and is
meant to sit beside a data table with the same figures. Text is escaped.

The geometry (`radar_points`, `radar_axis_angles`, `ValueScale`) is kept apart from the markup
so the PDF reports can draw the same shapes with ReportLab.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

FONT = "Noto Sans, DejaVu Sans, sans-serif"
INK = "#1d2733"
GRID = "#c4ccd4"
MUTED = "#5b6673"
# Baseline and final: colour-blind safe (Okabe-Ito) and told apart by dash pattern as well.
BASELINE_COLOUR = "#e69f00"
FINAL_COLOUR = "#0072b2"
BAR_COLOUR = "#0072b2"
NEGATIVE_COLOUR = "#d55e00"


def _num(value: float) -> str:
    """Coordinates with two decimals, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _svg_open(width: int, height: int, title: str, desc: str, chart_id: str) -> list[str]:
    cid = escape(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="{cid}-title {cid}-desc" '
        f'font-family="{FONT}" font-size="12" fill="{INK}">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(desc)}</desc>',
    ]


# ---------------------------------------------------------------- radar
@dataclass(frozen=True)
class Series:
    """One polygon of a radar chart: values 0..max per axis (None: not available)."""

    label: str
    values: Sequence[float | None]
    colour: str
    dash: str | None = None  # stroke-dasharray, e.g. "6 4"


def radar_axis_angles(n: int) -> list[float]:
    """Angles (radians) of n axes: the first points straight up, then clockwise."""
    return [-math.pi / 2 + 2 * math.pi * i / n for i in range(n)]


def radar_points(values: Sequence[float | None], cx: float, cy: float, radius: float,
                 max_value: float = 100.0) -> list[tuple[float, float] | None]:
    """Screen points (y grows downwards) of the values on their axes; None stays None.

    Values are clamped to 0..max_value.
    """
    points: list[tuple[float, float] | None] = []
    for angle, value in zip(radar_axis_angles(len(values)), values):
        if value is None:
            points.append(None)
            continue
        r = radius * min(max(value, 0.0), max_value) / max_value
        points.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    return points


def _anchor(angle: float) -> str:
    cos = math.cos(angle)
    if abs(cos) < 0.2:
        return "middle"
    return "start" if cos > 0 else "end"


def radar_svg(axes: Sequence[str], series: Sequence[Series], *, title: str, desc: str = "",
              chart_id: str = "radar", rings: Sequence[float] = (20, 40, 60, 80, 100),
              max_value: float = 100.0, fmt: Callable[[float], str] = lambda v: f"{v:g}",
              size: int = 440) -> Markup:
    """A radar (spider) chart with one polygon per series and a legend underneath."""
    legend_h = 22 * len(series) + 8
    width, height = size, size + legend_h
    cx = cy = size / 2
    radius = size / 2 - 80  # room for the axis labels
    angles = radar_axis_angles(len(axes))
    out = _svg_open(width, height, title, desc, chart_id)

    out.append(f'<g fill="none" stroke="{GRID}" stroke-width="1">')
    for ring in rings:
        ring_points = radar_points([ring] * len(axes), cx, cy, radius, max_value)
        out.append(f'<polygon points="{_points(ring_points)}"/>')
    for x, y in radar_points([max_value] * len(axes), cx, cy, radius, max_value):
        out.append(f'<line x1="{_num(cx)}" y1="{_num(cy)}" x2="{_num(x)}" y2="{_num(y)}"/>')
    out.append("</g>")

    out.append(f'<g font-size="11" fill="{MUTED}" text-anchor="start">')
    for ring in rings:
        y = cy - radius * ring / max_value
        out.append(f'<text x="{_num(cx + 3)}" y="{_num(y - 2)}">{escape(fmt(ring))}</text>')
    out.append("</g>")

    for angle, label in zip(angles, axes):
        x = cx + (radius + 20) * math.cos(angle)
        y = cy + (radius + 20) * math.sin(angle) + 5 * (1 + math.sin(angle))
        out.append(f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{_anchor(angle)}" '
                   f'font-size="14" font-weight="bold">{escape(label)}</text>')

    for s in series:
        points = radar_points(s.values, cx, cy, radius, max_value)
        present = [p for p in points if p is not None]
        dash = f' stroke-dasharray="{escape(s.dash)}"' if s.dash else ""
        if len(present) >= 3:
            out.append(f'<polygon points="{_points(present)}" fill="{escape(s.colour)}" '
                       f'fill-opacity="0.15" stroke="{escape(s.colour)}" stroke-width="2.5"{dash}/>')
        for x, y in present:
            out.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="3.5" fill="{escape(s.colour)}"/>')

    for i, s in enumerate(series):
        y = size + 14 + 22 * i
        dash = f' stroke-dasharray="{escape(s.dash)}"' if s.dash else ""
        out.append(f'<line x1="24" y1="{_num(y)}" x2="60" y2="{_num(y)}" stroke="{escape(s.colour)}" '
                   f'stroke-width="3"{dash}/>')
        out.append(f'<text x="68" y="{_num(y + 5)}" font-size="14">{escape(s.label)}</text>')
    out.append("</svg>")
    return Markup("\n".join(out))


def _points(points: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{_num(x)},{_num(y)}" for x, y in points)


# ---------------------------------------------------------------- bars with confidence intervals
@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    low: float | None = None  # confidence interval, if any
    high: float | None = None


@dataclass(frozen=True)
class ValueScale:
    """Linear map from values to screen y (larger values higher up) over round tick values."""

    lo: float
    hi: float
    step: float
    top: float
    bottom: float

    @classmethod
    def covering(cls, values: Sequence[float], top: float, bottom: float) -> ValueScale:
        """A scale from a multiple of a nice step at or below min(values, 0) to one at or above
        max(values, 0), so zero is always a tick."""
        lo, hi = min([0.0, *values]), max([0.0, *values])
        if hi - lo < 1e-9:
            hi = lo + 10.0
        step = nice_step((hi - lo) / 5)
        return cls(math.floor(lo / step) * step, math.ceil(hi / step) * step, step, top, bottom)

    def y(self, value: float) -> float:
        return self.bottom - (value - self.lo) / (self.hi - self.lo) * (self.bottom - self.top)

    def ticks(self) -> list[float]:
        count = round((self.hi - self.lo) / self.step)
        return [self.lo + i * self.step for i in range(count + 1)]


def nice_step(raw: float) -> float:
    """1, 2, 2.5 or 5 times a power of ten, at least `raw`."""
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= raw - 1e-12:
            return factor * power
    return 10 * power


def bar_ci_svg(bars: Sequence[Bar], *, title: str, desc: str = "", chart_id: str = "bars",
               fmt: Callable[[float], str] = lambda v: f"{v:g}", width: int = 560,
               height: int = 300) -> Markup:
    """Vertical bars (e.g. the mean change per S) with confidence-interval whiskers and a zero
    line; each bar's label and value are written under it."""
    left, right, top, bottom = 60, 12, 14, height - 52
    values = [v for b in bars for v in (b.value, b.low, b.high) if v is not None]
    scale = ValueScale.covering(values, top, bottom)
    out = _svg_open(width, height, title, desc, chart_id)

    out.append(f'<g font-size="12" fill="{MUTED}" text-anchor="end">')
    for tick in scale.ticks():
        y = scale.y(tick)
        out.append(f'<line x1="{left}" y1="{_num(y)}" x2="{width - right}" y2="{_num(y)}" '
                   f'stroke="{GRID}" stroke-width="1"/>')
        out.append(f'<text x="{left - 6}" y="{_num(y + 4)}">{escape(fmt(tick))}</text>')
    out.append("</g>")

    slot = (width - left - right) / max(len(bars), 1)
    zero = scale.y(0.0)
    for i, bar in enumerate(bars):
        x_mid = left + slot * (i + 0.5)
        if bar.value is not None:
            y = scale.y(bar.value)
            colour = BAR_COLOUR if bar.value >= 0 else NEGATIVE_COLOUR
            out.append(f'<rect x="{_num(x_mid - slot * 0.3)}" y="{_num(min(y, zero))}" '
                       f'width="{_num(slot * 0.6)}" height="{_num(abs(zero - y))}" fill="{colour}"/>')
        if bar.low is not None and bar.high is not None:
            y_lo, y_hi = scale.y(bar.low), scale.y(bar.high)
            out.append(f'<g stroke="{INK}" stroke-width="1.5">'
                       f'<line x1="{_num(x_mid)}" y1="{_num(y_lo)}" x2="{_num(x_mid)}" y2="{_num(y_hi)}"/>'
                       f'<line x1="{_num(x_mid - 6)}" y1="{_num(y_lo)}" x2="{_num(x_mid + 6)}" y2="{_num(y_lo)}"/>'
                       f'<line x1="{_num(x_mid - 6)}" y1="{_num(y_hi)}" x2="{_num(x_mid + 6)}" y2="{_num(y_hi)}"/>'
                       f'</g>')
        value = "—" if bar.value is None else fmt(bar.value)
        out.append(f'<text x="{_num(x_mid)}" y="{height - 30}" text-anchor="middle" font-size="13" '
                   f'font-weight="bold">{escape(bar.label)}</text>')
        out.append(f'<text x="{_num(x_mid)}" y="{height - 12}" text-anchor="middle" font-size="13">'
                   f'{escape(value)}</text>')
    out.append(f'<line x1="{left}" y1="{_num(zero)}" x2="{width - right}" y2="{_num(zero)}" '
               f'stroke="{INK}" stroke-width="1.5"/>')
    out.append("</svg>")
    return Markup("\n".join(out))
