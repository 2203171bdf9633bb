"""Terminal plots drawn with plotext 5.x and returned as strings.

`draw` takes a `Figure` (data, built by the reports) and returns the finished
picture (nothing is printed). With `color=False` the result contains no ANSI
escape sequences at all, so piped output stays plain text. If nothing finite is
left to draw, the result is NOTHING_FINITE instead of a plot.

plotext keeps a single global figure, so these functions are not thread-safe.
plotext itself is imported lazily, inside the functions, to keep start-up fast.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from gdcli.reports.figures import (
    Figure,
    Series,
    Values,
    curve_figure,
    loss_figure,
    path_figure_1d,
    path_figure_2d,
    round_range,
    split_finite,
)

NOTHING_FINITE = "(nothing finite to plot)"
TOO_WIDE = "(no picture: the values span more than plotext can scale)"
SCALE_ROOM = 1e4  # the span of an axis times this must stay a float for plotext

# Series colours when color=True (plotext colour names); segments of one series share one.
_PALETTE = ("blue+", "red+", "green+", "magenta+", "cyan+", "yellow", "gray")
# Line markers when color=False, so that several lines stay distinguishable.
_PLAIN_LINE_MARKERS = ("hd", "dot", "+", "-")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_MIN_WIDTH, _MIN_HEIGHT = 20, 6


def _new_figure(
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    logx: bool,
    logy: bool,
    width: int,
    height: int,
    color: bool,
) -> Any:
    """Reset plotext's global figure and configure it; returns the plotext module."""
    import plotext as plt

    plt.clear_figure()
    plt.limit_size(False, False)  # otherwise plotext shrinks the plot to the terminal size
    plt.plot_size(max(int(width), _MIN_WIDTH), max(int(height), _MIN_HEIGHT))
    # "pro": no canvas/axes colours, coloured data; "clear": nothing coloured at all
    # (plotext 5 still appends "\x1b[0m" to every line, which _finish strips).
    plt.theme("pro" if color else "clear")
    if title:
        plt.title(title)
    if xlabel:
        plt.xlabel(xlabel)
    if ylabel:
        plt.ylabel(ylabel)
    if logx:
        plt.xscale("log")
    if logy:
        plt.yscale("log")
    return plt


def _finish(plt: Any, color: bool) -> str:
    text = str(plt.build())
    plt.clear_figure()
    if not color:
        text = "\n".join(line.rstrip() for line in _ANSI.sub("", text).splitlines())
    return text.rstrip("\n")


def _log_ticks(values: list[float], max_ticks: int) -> tuple[list[float], list[str]]:
    """Tick positions and labels for a log axis spanning ``values`` (all > 0).

    plotext 5 labels log axes with long fixed-point numbers ("0.0000000032");
    decades labelled like "1e-8" read far better.
    """
    lo, hi = min(values), max(values)
    k_lo, k_hi = math.ceil(math.log10(lo)), math.floor(math.log10(hi))
    decades = [k for k in range(k_lo, k_hi + 1) if lo <= 10.0**k <= hi]
    if len(decades) < 2:  # less than two decades: label the ends of the range instead
        ticks = sorted({lo, math.sqrt(lo * hi), hi})
        return ticks, [f"{t:.3g}" for t in ticks]
    step = math.ceil(len(decades) / max(max_ticks, 2))
    decades = decades[::step]
    return [10.0**k for k in decades], [
        f"{10.0**k:g}" if -3 <= k <= 3 else f"1e{k}" for k in decades
    ]


def _labels(ticks: Sequence[float]) -> list[str]:
    """Tick labels, with as few digits as tell the ticks apart (1e+08 + 1 is not 1e+08)."""
    for digits in range(6, 18):
        labels = [f"{t:.{digits}g}" for t in ticks]
        if len(set(labels)) == len(labels):
            return labels
    return labels


def line_plot(
    series: Sequence[Series],
    *,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    logx: bool = False,
    logy: bool = False,
    xticks: Sequence[float] | None = None,
    width: int,
    height: int,
    color: bool,
) -> str:
    """Draw several series on one set of axes; the generic function behind all others.

    With ``logx``/``logy`` non-positive values are dropped as well.  Returns
    :data:`NOTHING_FINITE` if no series has a single plottable point.
    """
    prepared = [(s, split_finite(s.xs, s.ys, logx=logx, logy=logy)) for s in series]
    if not any(segments for _, segments in prepared):
        return NOTHING_FINITE
    for axis, log in ((0, logx), (1, logy)):
        values = [v for _, segs in prepared for seg in segs for v in seg[axis]]
        values += list(xticks or ()) if axis == 0 else []
        if values and not log and not math.isfinite((max(values) - min(values)) * SCALE_ROOM):
            return TOO_WIDE  # plotext's scaling would overflow (slope --h 1e308)
    plt = _new_figure(
        title=title,
        xlabel=xlabel,
        ylabel=ylabel,
        logx=logx,
        logy=logy,
        width=width,
        height=height,
        color=color,
    )
    if logx:
        plt.xticks(
            *_log_ticks([x for _, segs in prepared for xs, _ in segs for x in xs], width // 10)
        )
    elif xticks and min(xticks) < max(xticks):  # round values, labelled, on both axes
        plt.xticks(list(xticks), _labels(xticks))
        plt.xlim(min(xticks), max(xticks))
        if not logy:
            ys = [y for _, segs in prepared for _, seg_y in segs for y in seg_y]
            if min(ys) < max(ys):
                low, high, yticks = round_range(min(ys), max(ys), max(2, height // 5))
                plt.yticks(list(yticks), _labels(yticks))
                plt.ylim(low, high)
    if logy:
        plt.yticks(
            *_log_ticks([y for _, segs in prepared for _, ys in segs for y in ys], height // 3)
        )
    n_lines = 0
    for i, (s, segments) in enumerate(prepared):
        if s.kind not in ("line", "points"):
            raise ValueError(f"unknown series kind {s.kind!r} (use 'line' or 'points')")
        draw = plt.plot if s.kind == "line" else plt.scatter
        marker = s.marker
        if s.kind == "line":
            if marker is None and not color:
                marker = _PLAIN_LINE_MARKERS[n_lines % len(_PLAIN_LINE_MARKERS)]
            n_lines += 1
        options: dict[str, Any] = {"marker": marker}
        if color:
            options["color"] = _PALETTE[i % len(_PALETTE)]
        for j, (xs, ys) in enumerate(segments):
            # label only the first segment, or the legend repeats it per segment
            draw(xs, ys, label=s.label if j == 0 and s.label else None, **options)
    return _finish(plt, color)


def draw(figure: Figure, width: int, height: int, color: bool) -> str:
    """A figure as text of the given size."""
    return line_plot(
        figure.series,
        title=figure.title,
        xlabel=figure.xlabel,
        ylabel=figure.ylabel,
        logx=figure.logx,
        logy=figure.logy,
        xticks=figure.xticks,
        width=width,
        height=height,
        color=color,
    )


def loss_plot(xs: Values, ys: Values, *, width: int, height: int, color: bool, **kw: Any) -> str:
    """`draw` of `figures.loss_figure`."""
    return draw(loss_figure(xs, ys, **kw), width, height, color)


def path_plot_1d(
    xs: Values,
    ys: Values,
    path_w: Values,
    path_l: Values,
    *,
    width: int,
    height: int,
    color: bool,
    **kw: Any,
) -> str:
    """`draw` of `figures.path_figure_1d`."""
    return draw(path_figure_1d(xs, ys, path_w, path_l, **kw), width, height, color)


def path_plot_2d(
    path_x: Values, path_y: Values, *, width: int, height: int, color: bool, **kw: Any
) -> str:
    """`draw` of `figures.path_figure_2d`."""
    return draw(path_figure_2d(path_x, path_y, **kw), width, height, color)


def curve_plot(
    steps: Values, values: Values, *, width: int, height: int, color: bool, **kw: Any
) -> str:
    """`draw` of `figures.curve_figure`."""
    return draw(curve_figure(steps, values, **kw), width, height, color)


__all__ = [
    "NOTHING_FINITE",
    "Series",
    "curve_plot",
    "draw",
    "line_plot",
    "loss_plot",
    "path_plot_1d",
    "path_plot_2d",
    "split_finite",
]
