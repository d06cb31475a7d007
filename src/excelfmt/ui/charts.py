"""Inline SVG charts for the HTML report: a time axis, bars, lines and shaded periods.

Hand-written because the report must be one self-contained file that works offline and
stays small: a chart library inlined would weigh more than the whole report. Colours
come from CSS classes the page defines, so the charts follow its light or dark theme.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 860, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 10, 26


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above `value`."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value * 0.999:
            return step * power
    return 10 * power


def short(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def clock(seconds: float) -> str:
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


@dataclass(frozen=True)
class Frame:
    """The plot area: data coordinates (x0..x1, 0..y1) onto pixels."""

    x0: float
    x1: float
    y1: float

    def x(self, value: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return LEFT + (value - self.x0) / span * (WIDTH - LEFT - RIGHT)

    def y(self, value: float) -> float:
        return TOP + (1 - value / self.y1) * (HEIGHT - TOP - BOTTOM)


def svg(title: str, body: str, height: int = HEIGHT) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>{body}</svg>'
    )


def label(x: float, y: float, text: str, anchor: str = "middle") -> str:
    """A tick label at (x, y) pixels."""
    return (
        f'<text class="tick" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'
    )


def time_axes(frame: Frame, y_label: str) -> str:
    """Grid lines and labels: y in four steps, x as elapsed time."""
    parts = []
    for step in range(5):
        value = frame.y1 * step / 4
        y = frame.y(value)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(label(LEFT - 6, y + 4, short(value), "end"))
    parts += [label(frame.x(at), HEIGHT - 8, clock(at)) for at in time_ticks(frame.x0, frame.x1)]
    turned = f'transform="rotate(90 12 {TOP + 4})"'
    parts.append(f'<text class="axis" x="12" y="{TOP + 4}" {turned}>{escape(y_label)}</text>')
    return "".join(parts)


TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800)
"""Seconds between time labels: the first that gives at most six."""


def time_ticks(x0: float, x1: float) -> list[float]:
    """Where the time axis is labelled: whole steps of TIME_STEPS, so that no two labels
    read the same (a 3 s run had 0:00, 0:01, 0:01, 0:02...)."""
    span = max(x1 - x0, 1e-9)
    step = next(
        (s for s in TIME_STEPS if span / s <= 6),
        TIME_STEPS[-1] * math.ceil(span / 6 / TIME_STEPS[-1]),
    )
    first = math.ceil(x0 / step) * step
    return [first + step * n for n in range(int((x1 - first) // step) + 1)]


def bands(frame: Frame, spans: Sequence[tuple[float, float, str, str]]) -> str:
    """Shaded periods (start, end, css class, tooltip) across the plot's height."""
    parts = []
    for start, end, kind, tip in spans:
        x0, x1 = frame.x(max(start, frame.x0)), frame.x(min(end, frame.x1))
        width = max(1.5, x1 - x0)
        parts.append(
            f'<rect class="band {kind}" x="{x0:.1f}" y="{TOP}" width="{width:.1f}" '
            f'height="{HEIGHT - TOP - BOTTOM}"><title>{escape(tip)}</title></rect>'
        )
    return "".join(parts)


def stacked_bars(
    frame: Frame, columns: Sequence[tuple[float, float, Sequence[tuple[float, str]]]]
) -> str:
    """Columns of (x, width in data units, [(value, css class), ...]) stacked from zero."""
    parts = []
    for x, width, stack in columns:
        left, right = frame.x(x), frame.x(x + width)
        base = 0.0
        for value, kind in stack:
            if value <= 0:
                continue
            top, bottom = frame.y(base + value), frame.y(base)
            parts.append(
                f'<rect class="{kind}" x="{left:.1f}" y="{top:.1f}" '
                f'width="{max(0.8, right - left - 0.3):.1f}" height="{bottom - top:.1f}"/>'
            )
            base += value
    return "".join(parts)


def line(frame: Frame, points: Sequence[tuple[float, float]], kind: str, step: bool = False) -> str:
    """A polyline through (x, y) points; `step` holds each value until the next point."""
    if not points:
        return ""
    coords: list[str] = []
    previous: float | None = None
    for x, y in points:
        if step and previous is not None:
            coords.append(f"{frame.x(x):.1f},{frame.y(previous):.1f}")
        coords.append(f"{frame.x(x):.1f},{frame.y(y):.1f}")
        previous = y
    return f'<polyline class="line {kind}" points="{" ".join(coords)}"/>'


def legend(items: Sequence[tuple[str, str]]) -> str:
    """An HTML legend: (css class, label) swatches."""
    return (
        '<div class="legend">'
        + "".join(
            f'<span><i class="swatch {kind}"></i>{escape(label)}</span>' for kind, label in items
        )
        + "</div>"
    )
