"""Charts as self-contained inline SVG: bar and line charts with no script, font or URL.

Every bar is a `<rect>` and every point a `<circle>` carrying `data-series`, `data-label` and
`data-value` (the value as `repr(float)`), so a test can compare what a browser draws with the
numbers behind it. The value axis is linear from 0: a mark's height (or its distance above the
`data-baseline` line) is proportional to its value. A threshold is a dashed `<line>` carrying
`data-threshold`. Every label and title is escaped with `html.escape`: they may be untrusted
(repository names, commit subjects).

    bar_chart("Tier mix", ["small", "middle"], [Series("requests %", (70.0, 30.0))], unit="%")
    line_chart("Cost per month", ["2026-10", "2026-11"], [Series("routed", (1.5, 2.0))],
               threshold=1.8, threshold_label="budget", unit="$")
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

_PALETTE = ("#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04")
_LEFT, _RIGHT, _TOP, _BOTTOM = 72, 16, 36, 64
_TICKS = 5
_MAX_BAR = 56.0  # px: one or two labels would otherwise draw slabs as wide as the chart


@dataclass(frozen=True, slots=True)
class Series:
    """One named row of values, one per label of the chart."""

    name: str
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class _Frame:
    """The plot area and the linear value scale shared by both kinds of chart."""

    width: int
    height: int
    top_value: float

    @property
    def plot_width(self) -> float:
        return self.width - _LEFT - _RIGHT

    @property
    def plot_height(self) -> float:
        return self.height - _TOP - _BOTTOM

    @property
    def baseline(self) -> float:
        return float(self.height - _BOTTOM)

    def length(self, value: float) -> float:
        """The drawn length of `value` along the value axis."""
        return value / self.top_value * self.plot_height

    def y(self, value: float) -> float:
        return self.baseline - self.length(value)


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    stacked: bool = False,
    threshold: float | None = None,
    threshold_label: str = "",
    unit: str = "",
    width: int = 640,
    height: int = 300,
) -> str:
    """Bars per label, one per series side by side (or `stacked`), as an inline `<svg>`."""
    _check(labels, series)
    if threshold is not None:
        _check_value(threshold)
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    peak = max(totals if stacked else [v for s in series for v in s.values], default=0.0)
    peak = max(peak, threshold or 0.0)
    frame = _Frame(width, height, _nice_top(peak))
    band = frame.plot_width / max(len(labels), 1)
    side_by_side = 1 if stacked else max(len(series), 1)
    bar = min(band * 0.8 / side_by_side, _MAX_BAR)
    marks: list[str] = []
    for i, label in enumerate(labels):
        x0 = _LEFT + band * i + (band - bar * side_by_side) / 2
        stack = 0.0
        for j, s in enumerate(series):
            value = s.values[i]
            x = x0 if stacked else x0 + bar * j
            y = frame.y(stack + value)
            marks.append(
                f'<rect x="{x:.3f}" y="{y:.3f}" width="{bar:.3f}" '
                f'height="{frame.length(value):.3f}" fill="{_color(j)}"'
                f"{_data(s.name, label, value)}><title>{escape(s.name)}, {escape(label)}: "
                f"{_fmt(value, unit)}</title></rect>"
            )
            if stacked:
                stack += value
    extra = _threshold(frame, threshold, threshold_label, unit)
    return _svg(title, labels, series, frame, "".join(marks), band, unit, extra)


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    threshold: float | None = None,
    threshold_label: str = "",
    unit: str = "",
    width: int = 640,
    height: int = 300,
) -> str:
    """One line of points per series over the labels, with an optional horizontal threshold."""
    _check(labels, series)
    if threshold is not None:
        _check_value(threshold)
    peak = max([v for s in series for v in s.values] + [threshold or 0.0])
    frame = _Frame(width, height, _nice_top(peak))
    band = frame.plot_width / max(len(labels), 1)
    marks: list[str] = []
    for j, s in enumerate(series):
        points = [(_LEFT + band * (i + 0.5), frame.y(v)) for i, v in enumerate(s.values)]
        path = " ".join(f"{x:.3f},{y:.3f}" for x, y in points)
        marks.append(
            f'<polyline points="{path}" fill="none" stroke="{_color(j)}" stroke-width="2"/>'
        )
        for (x, y), label, value in zip(points, labels, s.values, strict=True):
            marks.append(
                f'<circle cx="{x:.3f}" cy="{y:.3f}" r="4" fill="{_color(j)}"'
                f"{_data(s.name, label, value)}><title>{escape(s.name)}, {escape(label)}: "
                f"{_fmt(value, unit)}</title></circle>"
            )
    extra = _threshold(frame, threshold, threshold_label, unit)
    return _svg(title, labels, series, frame, "".join(marks), band, unit, extra)


def _threshold(frame: _Frame, threshold: float | None, label: str, unit: str) -> str:
    """A dashed horizontal line at `threshold`, labelled at its right end; "" for None."""
    if threshold is None:
        return ""
    y = frame.y(threshold)
    text = escape(label or "threshold")
    return (
        f'<line x1="{_LEFT}" x2="{frame.width - _RIGHT}" y1="{y:.3f}" y2="{y:.3f}" '
        f'stroke="#dc2626" stroke-dasharray="6 4" data-threshold="{threshold!r}"/>'
        f'<text x="{frame.width - _RIGHT}" y="{y - 4:.3f}" text-anchor="end" fill="#dc2626" '
        f'stroke="#ffffff" stroke-width="3" paint-order="stroke">{text} {_fmt(threshold, unit)}'
        "</text>"
    )


def _check(labels: Sequence[str], series: Sequence[Series]) -> None:
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(labels)}")
        for value in s.values:
            _check_value(value)


def _check_value(value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"chart values must be finite and >= 0, got {value!r}")


def _nice_top(peak: float) -> float:
    """The axis maximum: the peak rounded up to 1, 2, 2.5 or 5 times a power of ten."""
    if peak <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(peak))
    for step in (1, 2, 2.5, 5, 10):
        if peak <= step * power * (1 + 1e-12):
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def _svg(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    frame: _Frame,
    marks: str,
    band: float,
    unit: str,
    extra: str,
) -> str:
    """The frame around the marks: title, grid, value ticks, label axis and legend."""
    w, h = frame.width, frame.height
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" role="img" font-family="sans-serif" font-size="11" '
        f'data-chart="{escape(title)}"><title>{escape(title)}</title>',
        f'<text x="{_LEFT}" y="18" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for k in range(_TICKS + 1):
        value = frame.top_value * k / _TICKS
        y = frame.y(value)
        parts.append(
            f'<line x1="{_LEFT}" x2="{w - _RIGHT}" y1="{y:.3f}" y2="{y:.3f}" stroke="#e5e7eb"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.3f}" text-anchor="end" fill="#374151">'
            f"{_fmt(value, unit)}</text>"
        )
    rotate = len(labels) > 8
    for i, label in enumerate(labels):
        x = _LEFT + band * (i + 0.5)
        y = frame.baseline + 14
        turn = f' transform="rotate(-35 {x:.3f} {y:.3f})"' if rotate else ""
        anchor = "end" if rotate else "middle"
        parts.append(
            f'<text x="{x:.3f}" y="{y:.3f}" text-anchor="{anchor}"{turn}>{escape(label)}</text>'
        )
    parts.append(marks)
    parts.append(
        f'<line x1="{_LEFT}" x2="{w - _RIGHT}" y1="{frame.baseline}" y2="{frame.baseline}" '
        f'stroke="#111827" data-baseline="0"/>'
    )
    parts.append(extra)
    x = float(_LEFT)
    for j, s in enumerate(series):
        parts.append(
            f'<line x1="{x:.1f}" x2="{x + 14:.1f}" y1="{h - 10}" y2="{h - 10}" '
            f'stroke="{_color(j)}" stroke-width="8"/>'
            f'<text x="{x + 18:.1f}" y="{h - 6}">{escape(s.name)}</text>'
        )
        x += 30 + 7 * len(s.name)
    parts.append("</svg>")
    return "".join(parts)


def _data(series: str, label: str, value: float) -> str:
    return (
        f' data-series="{escape(series)}" data-label="{escape(label)}" '
        f'data-value="{float(value)!r}"'
    )


def _color(index: int) -> str:
    return _PALETTE[index % len(_PALETTE)]


def _fmt(value: float, unit: str) -> str:
    """A tick or tooltip number: `$` goes before, any other unit after."""
    text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return f"${text}" if unit == "$" else f"{text}{unit}"
