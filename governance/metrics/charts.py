"""Server-rendered SVG charts for the dashboard: no JavaScript, no chart library, no CDN.

Each chart is an ``<svg role="img">`` with a title and a text description; the dashboard prints
the same numbers in a table beside it, and series differ by dash pattern and a text legend as
well as colour, so nothing depends on seeing colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 36


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    css_class: str = "series-a"
    dashed: bool = False


def _scale(values: Sequence[float | None], floor_max: float) -> float:
    present = [v for v in values if v is not None]
    return max([floor_max, *present]) if present else floor_max


def _frame(title: str, description: str, body: str, y_max: float, unit: str) -> SafeString:
    plot_h = HEIGHT - TOP - BOTTOM
    ticks = []
    for index in range(5):
        value = y_max * index / 4
        y = TOP + plot_h - plot_h * index / 4
        ticks.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{value:.0f}{escape(unit)}</text>"
        )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-t {}-d">'
        '<title id="{}-t">{}</title><desc id="{}-d">{}</desc>{}{}</svg>',
        WIDTH,
        HEIGHT,
        _slug(title),
        _slug(title),
        _slug(title),
        title,
        _slug(title),
        description,
        mark_safe("".join(ticks)),  # noqa: S308 - numbers and escaped units only
        mark_safe(body),  # noqa: S308 - built from numbers and escape()d labels below
    )


def _slug(title: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in title.lower())


def _x_labels(labels: Sequence[str], step: float) -> str:
    every = max(1, len(labels) // 8)
    parts = []
    for index, label in enumerate(labels):
        if index % every:
            continue
        x = LEFT + step * index + step / 2
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    return "".join(parts)


def bar_chart(
    title: str,
    description: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    unit: str,
    floor_max: float,
) -> SafeString:
    """One bar per label; a missing value draws no bar (and says so in the tooltip)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    y_max = _scale(values, floor_max)
    step = plot_w / max(len(labels), 1)
    bars = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + step * index + step * 0.15
        if value is None:
            continue
        height = plot_h * value / y_max if y_max else 0
        bars.append(
            f'<rect class="bar" x="{x:.1f}" y="{TOP + plot_h - height:.1f}" '
            f'width="{step * 0.7:.1f}" height="{height:.1f}">'
            f"<title>{escape(label)}: {value:.1f}{escape(unit)}</title></rect>"
        )
    return _frame(title, description, "".join(bars) + _x_labels(labels, step), y_max, unit)


def line_chart(
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    unit: str,
    floor_max: float,
) -> SafeString:
    """One polyline per series (gaps where a week has no value), with point markers."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    y_max = _scale([v for s in series for v in s.values], floor_max)
    step = plot_w / max(len(labels), 1)
    parts = []
    for item in series:
        segment: list[str] = []
        segments: list[list[str]] = []
        for index, value in enumerate(item.values):
            if value is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            x = LEFT + step * index + step / 2
            y = TOP + plot_h - (plot_h * value / y_max if y_max else 0)
            segment.append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle class="point {item.css_class}" cx="{x:.1f}" cy="{y:.1f}" r="3">'
                f"<title>{escape(item.name)}, {escape(labels[index])}: {value:.1f}{escape(unit)}"
                "</title></circle>"
            )
        if segment:
            segments.append(segment)
        dash = ' stroke-dasharray="6 4"' if item.dashed else ""
        for points in segments:
            parts.insert(
                0,
                f'<polyline class="line {item.css_class}" fill="none"{dash} '
                f'points="{" ".join(points)}"/>',
            )
    return _frame(title, description, "".join(parts) + _x_labels(labels, step), y_max, unit)
