"""Small server-rendered SVG charts: horizontal bars, stacked bars and column trends.

Pure functions of already translated labels and numbers, returning markup in which every
label is escaped (markupsafe.escape on each text, then joined into one Markup). Each chart
is `<svg class="chart" role="img">` named by its `<title>`; pages put the same numbers in
a table next to it, since an image of bars is not readable by everyone. Colours come from
CSS classes (service/static/console/dashboard.css), so the markup carries no style.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Sequence

from markupsafe import Markup, escape

WIDTH = 640
LABEL_WIDTH = 210  # left column for the row labels
VALUE_WIDTH = 90  # right column for the value text
ROW_HEIGHT = 26
BAR_HEIGHT = 16
TOP = 8
LEGEND_HEIGHT = 24
MAX_LABEL_UNITS = 31  # label width in half-width characters (a CJK character counts two)


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart: its label, value, the text shown for it, and an optional
    marker (e.g. a capacity) drawn as a tick on the same scale."""

    label: str
    value: float
    text: str
    marker: float | None = None
    marker_text: str = ""


@dataclass(frozen=True)
class Point:
    """One column of a trend chart: its label (a date), value (None: no data) and text."""

    label: str
    value: float | None
    text: str


@dataclass(frozen=True)
class Series:
    """One layer of a stacked bar chart: its legend label and CSS class suffix."""

    label: str
    css: str


def _number(value: float) -> str:
    """A coordinate with at most one decimal, no trailing zeros."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _units(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _short(label: str) -> str:
    """The label cut to fit the label column, with an ellipsis when cut."""
    if sum(_units(char) for char in label) <= MAX_LABEL_UNITS:
        return label
    used, kept = 0, []
    for char in label:
        used += _units(char)
        if used > MAX_LABEL_UNITS - 1:
            break
        kept.append(char)
    return "".join(kept) + "…"


def _open(chart_id: str, title: str, height: float, css: str) -> str:
    chart_id = escape(chart_id)
    return (f'<svg class="chart {escape(css)}" role="img" aria-labelledby="{chart_id}-title" '
            f'viewBox="0 0 {WIDTH} {_number(height)}" width="{WIDTH}" '
            f'height="{_number(height)}" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="{chart_id}-title">{escape(title)}</title>')


def _row_label(y: float, label: str) -> str:
    return (f'<text class="label" x="{LABEL_WIDTH - 8}" y="{_number(y)}" text-anchor="end">'
            f'<title>{escape(label)}</title>{escape(_short(label))}</text>')


def _value_text(y: float, text: str) -> str:
    return (f'<text class="value" x="{_number(WIDTH - VALUE_WIDTH + 6)}" y="{_number(y)}">'
            f'{escape(text)}</text>')


def _scale(values: Sequence[float]) -> float:
    """The value the full bar width stands for (never zero, so empty data draws nothing)."""
    top = max((value for value in values if value is not None), default=0)
    return top if top > 0 else 1.0


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], *,
              max_value: float | None = None) -> Markup:
    """A horizontal bar chart: one labelled bar per row with its value text at the end."""
    area = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    scale = max_value or _scale([bar.value for bar in bars] +
                                [bar.marker for bar in bars if bar.marker is not None])
    height = TOP * 2 + ROW_HEIGHT * len(bars)
    parts = [_open(chart_id, title, height, "bar-chart")]
    for index, bar in enumerate(bars):
        middle = TOP + index * ROW_HEIGHT + ROW_HEIGHT / 2
        length = area * max(0.0, min(bar.value, scale)) / scale
        parts.append(_row_label(middle + 4, bar.label))
        if length > 0:
            parts.append(f'<rect class="bar" x="{LABEL_WIDTH}" '
                         f'y="{_number(middle - BAR_HEIGHT / 2)}" width="{_number(length)}" '
                         f'height="{BAR_HEIGHT}"><title>{escape(bar.label)}: '
                         f'{escape(bar.text)}</title></rect>')
        if bar.marker is not None:
            x = _number(LABEL_WIDTH + area * max(0.0, min(bar.marker, scale)) / scale)
            parts.append(f'<line class="marker" x1="{x}" x2="{x}" '
                         f'y1="{_number(middle - BAR_HEIGHT / 2 - 3)}" '
                         f'y2="{_number(middle + BAR_HEIGHT / 2 + 3)}">'
                         f'<title>{escape(bar.marker_text)}</title></line>')
        parts.append(_value_text(middle + 4, bar.text))
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_bar_chart(chart_id: str, title: str, series: Sequence[Series],
                      rows: Sequence[tuple[str, Sequence[float]]],
                      total_text: Sequence[str] | None = None) -> Markup:
    """Horizontal stacked bars: one row per label, one segment per series, a legend on top.

    `rows` are (label, values in `series` order); `total_text` the text shown after each bar
    (defaults to the row's total).
    """
    area = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    totals = [sum(values) for _, values in rows]
    scale = _scale(totals)
    height = TOP * 2 + LEGEND_HEIGHT + ROW_HEIGHT * len(rows)
    parts = [_open(chart_id, title, height, "stacked-chart")]
    # Legend: a swatch and the series label, spread across the width.
    step = (WIDTH - LABEL_WIDTH) / max(1, len(series))
    for index, layer in enumerate(series):
        x = LABEL_WIDTH + index * step
        parts.append(f'<rect class="seg seg-{escape(layer.css)}" x="{_number(x)}" y="{TOP}" '
                     f'width="12" height="12"></rect><text class="legend" '
                     f'x="{_number(x + 16)}" y="{TOP + 10}">{escape(layer.label)}</text>')
    for row_index, (label, values) in enumerate(rows):
        middle = TOP + LEGEND_HEIGHT + row_index * ROW_HEIGHT + ROW_HEIGHT / 2
        parts.append(_row_label(middle + 4, label))
        x = float(LABEL_WIDTH)
        for layer, value in zip(series, values, strict=True):
            if value <= 0:
                continue
            length = area * value / scale
            parts.append(f'<rect class="seg seg-{escape(layer.css)}" x="{_number(x)}" '
                         f'y="{_number(middle - BAR_HEIGHT / 2)}" width="{_number(length)}" '
                         f'height="{BAR_HEIGHT}"><title>{escape(label)} · '
                         f'{escape(layer.label)}: {_number(value)}</title></rect>')
            x += length
        text = total_text[row_index] if total_text is not None else _number(totals[row_index])
        parts.append(_value_text(middle + 4, text))
    parts.append("</svg>")
    return Markup("".join(parts))


TREND_HEIGHT = 150  # the plot area of a trend chart
TREND_LABEL_HEIGHT = 20  # the row of labels under it
TREND_LABELS_MAX = 8  # at most this many column labels, evenly spread


def trend_chart(chart_id: str, title: str, points: Sequence[Point], *, low: float = 0.0,
                high: float | None = None) -> Markup:
    """Vertical columns over time, drawn from the zero line (or `low` when it is above
    zero) on a fixed scale [low, high]; a column with no value is left empty.

    Each column carries its label and text as a tooltip; a few labels (at most
    TREND_LABELS_MAX, evenly spread) are written under the columns.
    """
    values = [point.value for point in points if point.value is not None]
    top = high if high is not None else max([*values, low + 1.0])
    span = (top - low) or 1.0
    base = min(max(0.0, low), top)
    height = TOP * 2 + TREND_HEIGHT + TREND_LABEL_HEIGHT
    step = (WIDTH - 2 * TOP) / max(1, len(points))

    def y_of(value: float) -> float:
        return TOP + TREND_HEIGHT * (top - max(low, min(value, top))) / span

    parts = [_open(chart_id, title, height, "trend-chart")]
    every = max(1, -(-len(points) // TREND_LABELS_MAX))  # ceil
    for index, point in enumerate(points):
        x = TOP + index * step
        if point.value is not None:
            y_value, y_base = y_of(point.value), y_of(base)
            css = "bar negative" if point.value < base else "bar"
            parts.append(f'<rect class="{css}" x="{_number(x + step * 0.15)}" '
                         f'y="{_number(min(y_value, y_base))}" width="{_number(step * 0.7)}" '
                         f'height="{_number(max(abs(y_base - y_value), 1))}"><title>'
                         f'{escape(point.label)}: {escape(point.text)}</title></rect>')
        if index % every == 0:
            parts.append(f'<text class="legend" x="{_number(x + step / 2)}" '
                         f'y="{_number(TOP + TREND_HEIGHT + TREND_LABEL_HEIGHT - 4)}" '
                         f'text-anchor="middle">{escape(point.label)}</text>')
    parts.append(f'<line class="axis" x1="{TOP}" x2="{WIDTH - TOP}" '
                 f'y1="{_number(y_of(base))}" y2="{_number(y_of(base))}"></line>')
    parts.append("</svg>")
    return Markup("".join(parts))
