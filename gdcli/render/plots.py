"""Terminal plots drawn with plotext 5.x and returned as strings.

Every public function takes ``width``, ``height`` and ``color`` and returns the
finished picture (nothing is printed).  With ``color=False`` the result contains
no ANSI escape sequences at all, so piped output stays plain text.

Non-finite values (nan, inf, complex, None, ...) never reach plotext: such points
are dropped and a line is split into separate segments at the gaps.  If nothing
finite is left, the functions return :data:`NOTHING_FINITE` instead of a plot.

plotext keeps a single global figure, so these functions are not thread-safe.
plotext itself is imported lazily, inside the functions, to keep start-up fast.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

NOTHING_FINITE = "(nothing finite to plot)"

# |values| beyond this are treated like infinities: plotext's axis scaling
# overflows (and crashes) when the data span is not a finite float.
_MAX_ABS = 1e300
# Series colours when color=True (plotext colour names); segments of one series share one.
_PALETTE = ("blue+", "red+", "green+", "magenta+", "cyan+", "yellow", "gray")
# Line markers when color=False, so that several lines stay distinguishable.
_PLAIN_LINE_MARKERS = ("hd", "dot", "+", "-")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_MIN_WIDTH, _MIN_HEIGHT = 20, 6

Segment = tuple[list[float], list[float]]
# Data: any iterable of numbers (list, tuple, range, numpy array); junk entries are dropped.
Values = Iterable[Any]


@dataclass(frozen=True)
class Series:
    """One data series: ``kind`` is ``"line"`` (joined points) or ``"points"`` (scatter).

    ``marker`` is a plotext marker name or a single character; None picks a default.
    """

    label: str
    xs: Values
    ys: Values
    kind: str = "line"
    marker: str | None = None


def _finite(value: Any, positive: bool = False) -> float | None:
    """``value`` as a float if it is a finite real number (and > 0 if ``positive``), else None."""
    if value is None or isinstance(value, (str, bytes)):
        return None
    if isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real):
        return None  # complex (also numpy complex): never silently take the real part
    try:
        f = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(f) or abs(f) > _MAX_ABS or (positive and f <= 0.0):
        return None
    return f


def split_finite(
    xs: Values, ys: Values, *, logx: bool = False, logy: bool = False
) -> list[Segment]:
    """Split the points ``(xs[i], ys[i])`` into runs of consecutive plottable points.

    A point is plottable when both coordinates are finite real numbers (and
    positive on a log axis).  Each unplottable point ends the current run, so a
    curve with a gap or a pole becomes several segments.  Empty runs are omitted.
    """
    xs, ys = list(xs), list(ys)
    if len(xs) != len(ys):
        raise ValueError(f"xs and ys differ in length ({len(xs)} != {len(ys)})")
    segments: list[Segment] = []
    seg_x: list[float] = []
    seg_y: list[float] = []
    for x, y in zip(xs, ys, strict=True):
        fx, fy = _finite(x, logx), _finite(y, logy)
        if fx is None or fy is None:
            if seg_x:
                segments.append((seg_x, seg_y))
                seg_x, seg_y = [], []
        else:
            seg_x.append(fx)
            seg_y.append(fy)
    if seg_x:
        segments.append((seg_x, seg_y))
    return segments


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


def line_plot(
    series: Sequence[Series],
    *,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    logx: bool = False,
    logy: bool = False,
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


def _clip_line(
    x0: float, y0: float, slope: float, x_range: tuple[float, float], y_range: tuple[float, float]
) -> Segment | None:
    """The part of the line through (x0, y0) with ``slope`` inside the box, or None."""
    (xlo, xhi), (ylo, yhi) = x_range, y_range
    if slope != 0.0:
        # x where the line crosses y = ylo and y = yhi
        xa, xb = x0 + (ylo - y0) / slope, x0 + (yhi - y0) / slope
        xlo, xhi = max(xlo, min(xa, xb)), min(xhi, max(xa, xb))
    elif not ylo <= y0 <= yhi:
        return None
    if not (math.isfinite(xlo) and math.isfinite(xhi)) or xlo > xhi:
        return None
    xs = [xlo, xhi]
    ys = [min(max(y0 + slope * (x - x0), ylo), yhi) for x in xs]  # clamp rounding error
    return xs, ys


def loss_plot(
    xs: Values,
    ys: Values,
    *,
    point: tuple[float, float] | None = None,
    lines: Sequence[tuple[str, float, float, float]] = (),
    title: str = "",
    xlabel: str = "w",
    ylabel: str = "l(w)",
    curve_label: str = "l(w)",
    point_label: str = "w",
    width: int,
    height: int,
    color: bool,
) -> str:
    """The loss curve ``ys`` over ``xs``, the current ``point`` (w, l(w)) and straight lines.

    Each entry of ``lines`` is ``(label, x0, y0, slope)``: the line through
    (x0, y0) with that slope (a tangent or a secant).  It is drawn across the
    curve's x-range but clipped to the curve's y-range padded by 20% on each side,
    so a steep line does not flatten the curve.  Lines with non-finite
    parameters, or that miss that box, are left out.
    """
    xs, ys = list(xs), list(ys)  # read twice: no one-shot iterators
    series = [Series(curve_label, xs, ys)]
    segments = split_finite(xs, ys)
    if segments:
        all_x = [x for seg_x, _ in segments for x in seg_x]
        all_y = [y for _, seg_y in segments for y in seg_y]
        y_lo, y_hi = min(all_y), max(all_y)
        pad = 0.2 * (y_hi - y_lo) if y_hi > y_lo else max(1.0, abs(y_hi)) * 0.2
        box_y = (y_lo - pad, y_hi + pad)
        for label, x0, y0, slope in lines:
            fx, fy, fm = _finite(x0), _finite(y0), _finite(slope)
            if fx is None or fy is None or fm is None:
                continue
            clipped = _clip_line(fx, fy, fm, (min(all_x), max(all_x)), box_y)
            if clipped is not None:
                series.append(Series(label, *clipped))
    if point is not None:
        series.append(Series(point_label, [point[0]], [point[1]], kind="points", marker="o"))
    return line_plot(
        series, title=title, xlabel=xlabel, ylabel=ylabel, width=width, height=height, color=color
    )


def _path_series(path_x: Values, path_y: Values, kind: str, marker: str | None) -> list[Series]:
    """The path as a series, plus markers on its first and last plottable points."""
    path_x, path_y = list(path_x), list(path_y)  # read twice below: no one-shot iterators
    series = [Series("path", path_x, path_y, kind=kind, marker=marker)]
    segments = split_finite(path_x, path_y)
    if segments:
        (first_x, first_y), (last_x, last_y) = segments[0], segments[-1]
        series.append(Series("start", first_x[:1], first_y[:1], kind="points", marker="S"))
        if len(segments) > 1 or len(first_x) > 1:
            series.append(Series("end", last_x[-1:], last_y[-1:], kind="points", marker="E"))
    return series


def path_plot_1d(
    xs: Values,
    ys: Values,
    path_w: Values,
    path_l: Values,
    *,
    title: str = "",
    xlabel: str = "w",
    ylabel: str = "l(w)",
    width: int,
    height: int,
    color: bool,
) -> str:
    """The loss curve with the descent path's points (w_k, l(w_k)) marked on it."""
    series = [Series("l(w)", xs, ys), *_path_series(path_w, path_l, "points", "o")]
    return line_plot(
        series, title=title, xlabel=xlabel, ylabel=ylabel, width=width, height=height, color=color
    )


def path_plot_2d(
    path_x: Values,
    path_y: Values,
    *,
    title: str = "",
    xlabel: str = "x",
    ylabel: str = "y",
    width: int,
    height: int,
    color: bool,
) -> str:
    """The path of two parameters in the plane: iterates joined by a line, start/end marked."""
    series = _path_series(path_x, path_y, "line", None)
    return line_plot(
        series, title=title, xlabel=xlabel, ylabel=ylabel, width=width, height=height, color=color
    )


def curve_plot(
    steps: Values,
    values: Values,
    *,
    label: str = "",
    logx: bool = False,
    logy: bool = False,
    title: str = "",
    xlabel: str = "step",
    ylabel: str = "",
    width: int,
    height: int,
    color: bool,
) -> str:
    """One curve, e.g. loss against step, or error against h with ``logx=logy=True``
    (where zero errors are dropped)."""
    return line_plot(
        [Series(label, steps, values)],
        title=title,
        xlabel=xlabel,
        ylabel=ylabel,
        logx=logx,
        logy=logy,
        width=width,
        height=height,
        color=color,
    )
