"""Charts as inline SVG strings, drawn in Python so a report needs no script library.

Every chart carries its units on the axis, a legend, and a ``<title>`` on each mark (the
browser shows it on hover). Colours are the Okabe-Ito palette, which stays distinct under the
common colour-vision deficiencies.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from typing import Literal

__all__ = [
    "PALETTE",
    "Series",
    "Unit",
    "diverging_bars",
    "fmt",
    "hbars",
    "legend",
    "lines",
    "stacked_bars",
]

Unit = Literal["usd", "tokens", "pct", "count", "usd_per_mtok"]

# Okabe & Ito (2008), "Color Universal Design": safe for protan, deutan and tritan vision.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    colour: str = ""
    dashed: bool = False


def fmt(value: float, unit: Unit, *, short: bool = True) -> str:
    """A number with its unit: ``$1.23``, ``4.5M tokens`` (short: ``4.5M``), ``12.0%``."""
    if unit == "usd":
        sign, size = ("-" if value < 0 else ""), abs(value)
        if size and size < 0.01:
            return f"{sign}${size:.4f}"
        if size >= 10_000 and short:
            return f"{sign}${size / 1000:,.1f}k"
        return f"{sign}${size:,.2f}"
    if unit == "usd_per_mtok":
        return f"${value:,.2f}/Mtok"
    if unit == "pct":
        return f"{value:.1f}%"
    if not short:
        return f"{value:,.0f}"
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= div:
            return f"{value / div:.3g}{suffix}"
    return f"{value:,.0f}" if value == int(value) else f"{value:.3g}"


def _tick(value: float, unit: Unit) -> str:
    """An axis tick: whole dollars without cents (``$10``), else as ``fmt``."""
    if unit == "usd" and value == int(value):
        return f"{'-' if value < 0 else ''}${abs(value):,.0f}"
    return fmt(value, unit)


def _nice_max(top: float) -> tuple[float, float]:
    """An axis maximum at or above ``top`` and its tick step (1, 2 or 5 times a power of 10)."""
    if top <= 0:
        return 1.0, 0.25
    raw = top / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return step * math.ceil(top / step - 1e-9), step


def _colour(series: Series, i: int) -> str:
    return series.colour or PALETTE[i % len(PALETTE)]


def legend(series: Sequence[Series]) -> str:
    """An HTML legend (it wraps at narrow widths, which SVG text does not)."""
    items = "".join(
        f'<span class="key"><i style="background:{_colour(s, i)}"></i>{escape(s.name)}</span>'
        for i, s in enumerate(series)
    )
    return f'<div class="legend">{items}</div>'


_W, _H = 960, 300
_LEFT, _RIGHT, _TOP, _BOTTOM = 72, 40, 12, 56


def _frame(body: str, label: str, height: int = _H) -> str:
    return (
        f'<div class="chart-wrap"><svg class="chart" viewBox="0 0 {_W} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">{body}</svg></div>'
    )


def _x_tick(x: float, label: str) -> str:
    """A label under the plot's x axis, centred on ``x``."""
    plot_h = _H - _TOP - _BOTTOM
    return (
        f'<text class="tick" x="{x:.1f}" y="{_TOP + plot_h + 16}" '
        f'text-anchor="middle">{escape(label)}</text>'
    )


def _x_title(text: str) -> str:
    """The x axis's title, under its labels."""
    plot_w = _W - _LEFT - _RIGHT
    return (
        f'<text class="axis" x="{_LEFT + plot_w / 2:.0f}" y="{_H - 10}" '
        f'text-anchor="middle">{escape(text)}</text>'
    )


def _y_axis(top: float, step: float, unit: Unit, height: int, axis_label: str) -> str:
    plot_h = height - _TOP - _BOTTOM
    out = []
    ticks = round(top / step)
    for k in range(ticks + 1):
        v = k * step
        y = _TOP + plot_h - plot_h * v / top
        out.append(
            f'<line class="grid" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(_tick(v, unit))}</text>"
        )
    mid = _TOP + plot_h / 2
    out.append(
        f'<text class="axis" transform="translate(14 {mid:.0f}) rotate(-90)" '
        f'text-anchor="middle">{escape(axis_label)}</text>'
    )
    return "".join(out)


def stacked_bars(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    unit: Unit,
    y_label: str,
    x_label: str,
    title: str,
) -> str:
    """Vertical bars, one per label, stacked by series (e.g. cost per day by token kind).

    When every label is an ISO date the x axis is true time: a bar sits at its date, so a
    quiet month shows as a gap rather than vanishing between two neighbouring bars.
    """
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    top, step = _nice_max(max(totals, default=0))
    plot_w = _W - _LEFT - _RIGHT
    plot_h = _H - _TOP - _BOTTOM
    days = _as_dates(labels)
    if days:
        grain = min((b - a).days for a, b in itertools.pairwise(days)) if len(days) > 1 else 1
        first, span = days[0], (days[-1] - days[0]).days + grain  # grain: a day or a week
        slot = plot_w * grain / span
        offsets = [plot_w * (d - first).days / span for d in days]
    else:
        slot = plot_w / max(len(labels), 1)
        offsets = [slot * i for i in range(len(labels))]
    bar = max(min(slot * 0.7, 60), 2.0)
    parts = [_y_axis(top, step, unit, _H, y_label)]
    every = max(1, math.ceil(len(labels) / 16))  # thin the labels so they never overlap
    last_label_x = -math.inf
    for i, label in enumerate(labels):
        x = _LEFT + offsets[i] + (min(slot, plot_w) - bar) / 2
        base = float(_TOP + plot_h)
        for j, s in enumerate(series):
            v = s.values[i]
            if v <= 0:
                continue
            h = plot_h * v / top
            base -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{_colour(s, j)}"><title>{escape(label)} · {escape(s.name)}: '
                f"{escape(fmt(v, unit, short=False))}</title></rect>"
            )
        # Labels at least 58 units apart (a date's width), wherever the bars fall.
        if (days and x - last_label_x >= 58) or (not days and i % every == 0):
            last_label_x = x
            parts.append(_x_tick(x + bar / 2, label))
    parts.append(_x_title(x_label))
    return _frame("".join(parts), title)


def diverging_bars(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    unit: Unit,
    y_label: str,
    x_label: str,
    title: str,
    net: Series | None = None,
) -> str:
    """Vertical bars, one per label, stacked up from zero for positive values and down for
    negative ones (e.g. a bill's change split into a volume and a price effect); ``net``: a
    marker per label at the sum (the change itself)."""
    ups = [sum(max(s.values[i], 0) for s in series) for i in range(len(labels))]
    downs = [sum(min(s.values[i], 0) for s in series) for i in range(len(labels))]
    hi, lo = max(ups, default=0), -min(downs, default=0)
    _, step = _nice_max(max(hi, lo) or 1)
    top = step * math.ceil(hi / step - 1e-9) if hi > 0 else 0.0
    bottom = step * math.ceil(lo / step - 1e-9) if lo > 0 else 0.0
    if top == bottom == 0:
        top = step
    plot_w = _W - _LEFT - _RIGHT
    plot_h = _H - _TOP - _BOTTOM

    def y_at(v: float) -> float:
        return _TOP + plot_h * (top - v) / (top + bottom)

    parts = []
    for k in range(-round(bottom / step), round(top / step) + 1):
        v = k * step
        y = y_at(v)
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(_tick(v, unit))}</text>"
        )
    zero = y_at(0)
    parts.append(
        f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{zero:.1f}" y2="{zero:.1f}" '
        'stroke="#1b1f24" stroke-width="1"/>'
        f'<text class="axis" transform="translate(14 {_TOP + plot_h / 2:.0f}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    slot = plot_w / max(len(labels), 1)
    bar = max(min(slot * 0.6, 80), 2.0)
    every = max(1, math.ceil(len(labels) / 8))  # labels such as "2026-01 → 2026-02" are wide
    for i, label in enumerate(labels):
        x = _LEFT + slot * i + (slot - bar) / 2
        up, down = 0.0, 0.0
        for j, s in enumerate(series):
            v = s.values[i]
            if v == 0:
                continue
            if v > 0:
                y, h = y_at(up + v), y_at(up) - y_at(up + v)
                up += v
            else:
                y, h = y_at(down), y_at(down + v) - y_at(down)
                down += v
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{max(h, 0.5):.1f}" '
                f'fill="{_colour(s, j)}"><title>{escape(label)} · {escape(s.name)}: '
                f"{escape(fmt(v, unit, short=False))}</title></rect>"
            )
        if net is not None:
            y = y_at(net.values[i])
            parts.append(
                f'<line x1="{x - 6:.1f}" x2="{x + bar + 6:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                f'stroke="{net.colour or PALETTE[7]}" stroke-width="3">'
                f"<title>{escape(label)} · {escape(net.name)}: "
                f"{escape(fmt(net.values[i], unit, short=False))}</title></line>"
            )
        if i % every == 0:
            parts.append(_x_tick(x + bar / 2, label))
    parts.append(_x_title(x_label))
    return _frame("".join(parts), title)


def _as_dates(labels: Sequence[str]) -> list[date]:
    """The labels as dates, in order, or ``[]`` when any is not an ISO date."""
    try:
        days = [date.fromisoformat(label) for label in labels]
    except ValueError:
        return []
    return days if days == sorted(days) else []


def hbars(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    unit: Unit,
    x_label: str,
    title: str,
) -> str:
    """Horizontal bars stacked by series, one row per label (long names stay readable)."""
    row_h = 22
    left = 250
    height = _TOP + row_h * max(len(labels), 1) + 44
    totals = [sum(max(s.values[i], 0) for s in series) for i in range(len(labels))]
    top, step = _nice_max(max(totals, default=0))
    plot_w = _W - left - _RIGHT
    parts = []
    ticks = round(top / step)
    plot_bottom = _TOP + row_h * len(labels)
    for k in range(ticks + 1):
        x = left + plot_w * k * step / top
        parts.append(
            f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{_TOP}" y2="{plot_bottom}"/>'
            f'<text class="tick" x="{x:.1f}" y="{plot_bottom + 16}" text-anchor="middle">'
            f"{escape(_tick(k * step, unit))}</text>"
        )
    for i, label in enumerate(labels):
        y = _TOP + row_h * i + 3
        short = label if len(label) <= 32 else label[:31] + "…"
        parts.append(
            f'<text class="tick" x="{left - 6}" y="{y + 13}" text-anchor="end">'
            f"<title>{escape(label)}</title>{escape(short)}</text>"
        )
        x = float(left)
        for j, s in enumerate(series):
            v = s.values[i]
            if v <= 0:
                continue
            w = plot_w * v / top
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 6}" '
                f'fill="{_colour(s, j)}"><title>{escape(label)} · {escape(s.name)}: '
                f"{escape(fmt(v, unit, short=False))}</title></rect>"
            )
            x += w
    parts.append(
        f'<text class="axis" x="{left + plot_w / 2:.0f}" y="{height - 6}" '
        f'text-anchor="middle">{escape(x_label)}</text>'
    )
    body = "".join(parts)
    return (
        f'<div class="chart-wrap"><svg class="chart" viewBox="0 0 {_W} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">{body}</svg></div>'
    )


# Dash patterns for lines that lie on top of an earlier one, so neither hides the other.
_DASHES = ("8 5", "2 4", "12 4 2 4", "4 4")


def lines(
    xs: Sequence[float],
    series: Sequence[Series],
    *,
    x_unit: Unit,
    y_unit: Unit,
    x_label: str,
    y_label: str,
    title: str,
    log_x: bool = False,
    marker: tuple[float, str] | None = None,
    x_labels: Sequence[str] | None = None,
) -> str:
    """Lines over a numeric x axis (e.g. prompt size by call index, cost by volume).

    ``log_x``: a logarithmic x axis (ticks at powers of ten; every x must be positive).
    ``marker``: a labelled vertical line at an x value ("you are here").
    ``x_labels``: a category axis instead (periods): ``xs`` are the labels' indexes.
    """
    values = [v for s in series for v in s.values if not math.isnan(v)]
    top, step = _nice_max(max(values, default=0))
    plot_w = _W - _LEFT - _RIGHT
    plot_h = _H - _TOP - _BOTTOM
    parts = [_y_axis(top, step, y_unit, _H, y_label)]
    if log_x:
        shown = [*xs, *([marker[0]] if marker else [])]
        lo = math.floor(math.log10(min(shown, default=1)))
        hi = max(math.ceil(math.log10(max(shown, default=10))), lo + 1)

        def x_at(xv: float) -> float:
            return _LEFT + plot_w * (math.log10(max(xv, 10.0**lo)) - lo) / (hi - lo)

        ticks = [10.0**k for k in range(lo, hi + 1)]
    elif x_labels is not None:
        slot = plot_w / max(len(x_labels), 1)

        def x_at(xv: float) -> float:
            return _LEFT + slot * (xv + 0.5)

        ticks = []
        every = max(1, math.ceil(len(x_labels) / 10))
        for i, name in enumerate(x_labels):
            if i % every == 0:
                parts.append(_x_tick(x_at(i), name))
    else:
        x_top, x_step = _nice_max(max(xs, default=0))

        def x_at(xv: float) -> float:
            return _LEFT + plot_w * xv / x_top

        ticks = [k * x_step for k in range(round(x_top / x_step) + 1)]
    for tick in ticks:
        parts.append(_x_tick(x_at(tick), _tick(tick, x_unit)))

    def point(xv: float, yv: float) -> str:
        return f"{x_at(xv):.1f},{_TOP + plot_h - plot_h * yv / top:.1f}"

    drawn: list[list[str]] = []
    for j, s in enumerate(series):
        pts = [point(x, y) for x, y in zip(xs, s.values, strict=True) if not math.isnan(y)]
        overlaps = sum(pts == other for other in drawn)
        drawn.append(pts)
        dash = ""
        if overlaps:
            dash = f' stroke-dasharray="{_DASHES[(overlaps - 1) % len(_DASHES)]}"'
        elif s.dashed:
            dash = ' stroke-dasharray="6 4"'
        parts.append(
            f'<polyline fill="none" stroke="{_colour(s, j)}" stroke-width="2.5"{dash} '
            f'points="{" ".join(pts)}"><title>{escape(s.name)}</title></polyline>'
        )
        if x_labels is not None:  # a dot per period: a lone period still shows
            for x, y in zip(xs, s.values, strict=True):
                if math.isnan(y):
                    continue
                cx, cy = point(x, y).split(",")
                parts.append(
                    f'<circle cx="{cx}" cy="{cy}" r="4" fill="{_colour(s, j)}"><title>'
                    f"{escape(x_labels[round(x)])} · {escape(s.name)}: "
                    f"{escape(fmt(y, y_unit, short=False))}</title></circle>"
                )
    if marker is not None:
        at, label = marker
        x = x_at(at)
        anchor = "end" if x > _LEFT + plot_w * 0.7 else "start"
        nudge = -4 if anchor == "end" else 4
        parts.append(
            f'<line class="marker" x1="{x:.1f}" x2="{x:.1f}" y1="{_TOP}" y2="{_TOP + plot_h}" '
            'stroke="#1b1f24" stroke-width="1.5" stroke-dasharray="3 3"/>'
            f'<text class="axis" x="{x + nudge:.1f}" y="{_TOP + 14}" '
            f'text-anchor="{anchor}">{escape(label)}</text>'
        )
    parts.append(_x_title(x_label))
    return _frame("".join(parts), title)
