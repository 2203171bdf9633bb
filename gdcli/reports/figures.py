"""Pictures as data: series of points with their axes, built from the numbers a
report has. `render.plots` draws them; nothing here imports a plotting library.

Non-finite values (nan, inf, complex, None, ...) never reach a plot: such points
are dropped and a line is split into separate segments at the gaps.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

# |values| beyond this are treated like infinities: axis scaling overflows (and
# plotext crashes) when the data span is not a finite float.
MAX_ABS = 1e300

Segment = tuple[list[float], list[float]]
Values = Iterable[Any]  # any iterable of numbers; junk entries are dropped


class Series(NamedTuple):
    """One data series: `kind` is "line" (joined points) or "points" (scatter).
    `marker` is a plotext marker name or a single character; None picks a default."""

    label: str
    xs: Values
    ys: Values
    kind: str = "line"
    marker: str | None = None


class Figure(NamedTuple):
    series: list[Series]
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    logx: bool = False
    logy: bool = False
    xticks: tuple[float, ...] | None = None  # round values to label the x axis with


def nice_step(span: float, count: int = 6) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) that cuts `span` into
    about `count` parts."""
    raw = span / max(count, 1)
    if not (math.isfinite(raw) and raw > 0):  # no span, or one too small to cut in parts
        return span if math.isfinite(span) and span > 0 else 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        step = m * power
        if math.isfinite(step) and step >= raw:
            return step
    # a power of ten below the smallest float (raw subnormal) or a round step past the
    # largest: the raw step itself
    return raw


def round_range(lo: float, hi: float, count: int = 6) -> tuple[float, float, tuple[float, ...]]:
    """[lo, hi] widened to round ends, and the round tick values in it (about
    `count` + 1 of them). Ends that are not finite, or too far apart for a float's
    span, are kept as they are, with no ticks."""
    if not math.isfinite(hi - lo):
        return lo, hi, ()
    step = nice_step(hi - lo, count)
    # ends within a millionth of a step of a tick are on it (a minimum found to 1e-8)
    first, last = math.floor(lo / step + 1e-6), math.ceil(hi / step - 1e-6)
    ticks = tuple(_tidy(k * step) for k in range(first, last + 1))
    return ticks[0], ticks[-1], ticks


# half-widths of the windows searched for the lowest point of a loss near a point
VIEW_WINDOWS = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1e3, 1e4, 1e5, 1e6)
VIEW_SAMPLES = 801


def lowest_point(f: Any, at: float) -> tuple[float, float] | None:
    """Where a loss of one weight is lowest near `at`, and the half-width of the window
    it was found in: the lowest sample of the smallest window around `at` in which
    that sample is a bottom (`_bottom`), or of the next window if it holds a lower one
    (a deeper valley just beyond). None when no window has a bottom: the loss falls on
    and on (log(w) towards 0), or levels off (tanh, exp(-w)), with no minimum in reach."""
    found: tuple[float, float, float] | None = None
    for half in VIEW_WINDOWS:
        xs = [at - half + 2 * half * k / (VIEW_SAMPLES - 1) for k in range(VIEW_SAMPLES)]
        if not xs[0] < at < xs[-1]:
            break
        bottom = _bottom(xs, [_value(f, x) for x in xs], at)
        if bottom is not None:
            bottom = _refine(f, bottom[0], xs[1] - xs[0], at)
        if found is not None:  # another valley, deeper, in the next window?
            step = xs[1] - xs[0]
            if bottom is not None and bottom[1] < found[1] and abs(bottom[0] - found[0]) > 2 * step:
                return bottom[0], half
            return found[0], found[2]
        found = None if bottom is None else (*bottom, half)
    return None if found is None else (found[0], found[2])


def _refine(f: Any, x: float, step: float, at: float) -> tuple[float, float]:
    """The bottom found at sample x, narrowed down between its neighbours (21 samples,
    five times), so that the view is centred on it and not on the sample beside it."""
    y = _value(f, x)
    for _ in range(5):
        xs = [x - step + step * k / 10 for k in range(21)]
        ys = [_value(f, u) for u in xs]
        finite = [(v, abs(u - at), u) for u, v in zip(xs, ys, strict=True) if v is not None]
        y, _, x = min(finite)
        step /= 10
    return x, y if y is not None else math.nan


def _bottom(xs: list[float], ys: list[float | None], at: float) -> tuple[float, float] | None:
    """(x, y) of the lowest sample (of equal ones, the nearest `at`) if it is a bottom:
    inside the window, between defined neighbours, with the loss rising above it on
    both sides (a level tail, tanh's or an underflow's, is no bottom)."""
    finite = [y for y in ys if y is not None]
    if not finite:
        return None
    low, high = min(finite), max(finite)
    tie = 1e-12 * max(abs(low), 1e-300)
    lowest = [k for k, y in enumerate(ys) if y is not None and y <= low + tie]
    k = min(lowest, key=lambda k: abs(xs[k] - at))
    if not (0 < k < len(xs) - 1 and ys[k - 1] is not None and ys[k + 1] is not None):
        return None
    rise = low + 1e-6 * (high - low)
    left = any(y is not None and y > rise for y in ys[:k])
    right = any(y is not None and y > rise for y in ys[k + 1 :])
    return (xs[k], low) if left and right else None


def _value(f: Any, *x: float) -> float | None:
    y = f(*x)
    return y if isinstance(y, float) and math.isfinite(y) else None


PLANE_SAMPLES = 41  # grid points along each axis of a window in the plane


def lowest_point_2d(f: Any, at: tuple[float, float]) -> tuple[float, float] | None:
    """`lowest_point` for a loss of two weights, on square windows around `at`: the
    lowest grid point that lies inside its window, its four neighbours defined, the loss
    rising above it in each of the four directions."""
    n = PLANE_SAMPLES
    for half in VIEW_WINDOWS:
        axes = [[c - half + 2 * half * k / (n - 1) for k in range(n)] for c in at]
        if any(not a[0] < c < a[-1] for a, c in zip(axes, at, strict=True)):
            return None
        zs = [[_value(f, x, y) for x in axes[0]] for y in axes[1]]
        finite = [z for row in zs for z in row if z is not None]
        if not finite:
            continue
        low, high = min(finite), max(finite)
        tie = 1e-12 * max(abs(low), 1e-300)
        lowest = [(i, j) for j, row in enumerate(zs) for i, z in enumerate(row)
                  if z is not None and z <= low + tie]  # fmt: skip
        i, j = min(lowest, key=lambda p: math.hypot(axes[0][p[0]] - at[0], axes[1][p[1]] - at[1]))
        if not (0 < i < n - 1 and 0 < j < n - 1):
            continue
        around = [zs[j][i - 1], zs[j][i + 1], zs[j - 1][i], zs[j + 1][i]]
        rise = low + 1e-6 * (high - low)
        column = [row[i] for row in zs]
        sides = [zs[j][:i], zs[j][i + 1 :], column[:j], column[j + 1 :]]
        if all(z is not None for z in around) and all(
            any(z is not None and z > rise for z in side) for side in sides
        ):
            return axes[0][i], axes[1][j]
    return None


def loss_view(
    f: Any, at: float, keep: Sequence[float] = ()
) -> tuple[float, float, tuple[float, ...] | None, float | None]:
    """The x-range a picture of a loss shows by default, with round ends and ticks:
    centred on the loss's lowest point near `at` (`lowest_point`) with `at` and the
    points `keep` in view; 3 either side of them where the loss has no lowest point
    in reach. Returns (lo, hi, ticks, the lowest point or None)."""
    points = [at, *keep]
    found = lowest_point(f, at)
    low = None if found is None else found[0]
    if found is not None:
        # at least half the window the bottom was found in: the loss rising on both
        # sides is in view even where the point is the bottom
        half = max(1.25 * max(abs(p - found[0]) for p in points), found[1] / 2)
        lo, hi = found[0] - half, found[0] + half
    else:
        lo, hi = min(points) - 3.0, max(points) + 3.0
    least = 1e-9 * max(abs(lo), abs(hi))  # a range a float can still tell apart
    if hi - lo < least:
        lo, hi = (lo + hi) / 2 - least, (lo + hi) / 2 + least
    left, right, ticks = round_range(lo, hi)
    if not (left < right and len(set(ticks)) == len(ticks) >= 2):
        return lo, hi, None, low
    return left, right, ticks, low


def _tidy(x: float) -> float:
    """k * step without the binary noise (0.30000000000000004 is 0.3)."""
    return float(f"{x:.12g}")


def finite(value: Any, positive: bool = False) -> float | None:
    """`value` as a float if it is a finite real number (and > 0 if `positive`)."""
    if value is None or isinstance(value, (str, bytes)):
        return None
    if isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real):
        return None  # complex (also numpy complex): never silently take the real part
    try:
        f = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(f) or abs(f) > MAX_ABS or (positive and f <= 0.0):
        return None
    return f


def split_finite(
    xs: Values, ys: Values, *, logx: bool = False, logy: bool = False
) -> list[Segment]:
    """Split the points (xs[i], ys[i]) into runs of consecutive plottable points.

    A point is plottable when both coordinates are finite real numbers (and
    positive on a log axis). Each unplottable point ends the current run, so a
    curve with a gap or a pole becomes several segments. Empty runs are omitted.
    """
    xs, ys = list(xs), list(ys)
    if len(xs) != len(ys):
        raise ValueError(f"xs and ys differ in length ({len(xs)} != {len(ys)})")
    segments: list[Segment] = []
    seg_x: list[float] = []
    seg_y: list[float] = []
    for x, y in zip(xs, ys, strict=True):
        fx, fy = finite(x, logx), finite(y, logy)
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


def clip_line(
    x0: float, y0: float, slope: float, x_range: tuple[float, float], y_range: tuple[float, float]
) -> Segment | None:
    """The part of the line through (x0, y0) with `slope` inside the box, or None."""
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


Line = tuple[str, float, float, float] | tuple[str, float, float, float, str | None]


def loss_figure(
    xs: Values,
    ys: Values,
    *,
    point: tuple[float, float] | None = None,
    lines: Sequence[Line] = (),
    points: Sequence[tuple[str, Values, Values, str]] = (),
    title: str = "",
    xlabel: str = "w",
    ylabel: str = "l(w)",
    curve_label: str = "l(w)",
    point_label: str = "w",
) -> Figure:
    """The loss curve ys over xs, the current `point` (w, l(w)), straight lines and
    more marked `points` (label, xs, ys, marker).

    Each entry of `lines` is (label, x0, y0, slope), optionally with a marker: the
    line through (x0, y0) with that slope (a tangent or a secant). It spans the
    curve's x-range but is clipped to the curve's y-range padded by 20% on each side,
    so a steep line does not flatten the curve. Lines with non-finite parameters, or
    that miss that box, are left out.
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
        for label, x0, y0, slope, *marker in lines:
            fx, fy, fm = finite(x0), finite(y0), finite(slope)
            if fx is None or fy is None or fm is None:
                continue
            clipped = clip_line(fx, fy, fm, (min(all_x), max(all_x)), box_y)
            if clipped is not None:
                series.append(Series(label, *clipped, marker=marker[0] if marker else None))
    if point is not None:
        series.append(Series(point_label, [point[0]], [point[1]], kind="points", marker="o"))
    for label, px, py, glyph in points:
        series.append(Series(label, px, py, kind="points", marker=glyph))
    return Figure(series, title, xlabel, ylabel)


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


def path_figure_1d(
    xs: Values,
    ys: Values,
    path_w: Values,
    path_l: Values,
    *,
    title: str = "",
    xlabel: str = "w",
    ylabel: str = "l(w)",
) -> Figure:
    """The loss curve with the descent path's points (w_k, l(w_k)) marked on it."""
    series = [Series("l(w)", xs, ys), *_path_series(path_w, path_l, "points", "o")]
    return Figure(series, title, xlabel, ylabel)


def path_figure_2d(
    path_x: Values, path_y: Values, *, title: str = "", xlabel: str = "x", ylabel: str = "y"
) -> Figure:
    """The path of two parameters in the plane: iterates joined by a line, start/end marked."""
    return Figure(_path_series(path_x, path_y, "line", None), title, xlabel, ylabel)


def curve_figure(
    steps: Values,
    values: Values,
    *,
    label: str = "",
    logx: bool = False,
    logy: bool = False,
    title: str = "",
    xlabel: str = "step",
    ylabel: str = "",
) -> Figure:
    """One curve, e.g. loss against step, or error against h with logx=logy=True
    (where zero errors are dropped)."""
    return Figure([Series(label, steps, values)], title, xlabel, ylabel, logx, logy)


# ---------------------------------------------------------------------------
# level lines of a loss of two weights (marching squares)


def grid(lo: float, hi: float, n: int) -> list[float]:
    return [lo + (hi - lo) * k / (n - 1) for k in range(n)]


def level_points(
    values: Sequence[Sequence[float]], xs: Sequence[float], ys: Sequence[float], level: float
) -> list[tuple[float, float]]:
    """Where the loss crosses `level` on the edges of each grid cell (marching squares,
    the points only: a dotted level line). `values[j][i]` is the loss at (xs[i], ys[j])."""
    points: list[tuple[float, float]] = []
    for j in range(len(ys)):
        for i in range(len(xs)):
            here = values[j][i]
            if not math.isfinite(here):
                continue
            for di, dj in ((1, 0), (0, 1)):
                ii, jj = i + di, j + dj
                if ii >= len(xs) or jj >= len(ys):
                    continue
                there = values[jj][ii]
                if (
                    not math.isfinite(there)
                    or (here - level) * (there - level) > 0
                    or here == there
                ):
                    continue
                t = (level - here) / (there - here)
                points.append((xs[i] + t * (xs[ii] - xs[i]), ys[j] + t * (ys[jj] - ys[j])))
    return points


def levels_of(values: Sequence[Sequence[float]], count: int = 7) -> list[float]:
    """Level values spread over the loss's range on the grid: evenly in log(l - min),
    so that the lines crowd neither the valley nor the walls."""
    finite = [v for row in values for v in row if math.isfinite(v)]
    if not finite:
        return []
    low, high = min(finite), max(finite)
    if high <= low:
        return []
    span = high - low
    return [low + span * (10 ** (-3 + 3 * k / (count - 1))) * 0.999 for k in range(count)]


def contour_series(
    f: Any, x_range: tuple[float, float], y_range: tuple[float, float], n: int = 61
) -> list[Series]:
    """Dotted level lines of f(x, y) over a box (one series for all levels)."""
    xs, ys = grid(*x_range, n), grid(*y_range, n)
    values = [[f(x, y) for x in xs] for y in ys]
    points = [p for level in levels_of(values) for p in level_points(values, xs, ys, level)]
    if not points:
        return []
    return [Series("level lines", [p[0] for p in points], [p[1] for p in points], "points", "·")]


def padded(values: Sequence[float], fraction: float = 0.2) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return (-1.0, 1.0)
    lo, hi = min(finite), max(finite)
    pad = max(fraction * (hi - lo), 0.5 if hi == lo else 0.0, 1e-9 * max(abs(lo), abs(hi)))
    return lo - pad, hi + pad


def legend_room(y_range: tuple[float, float], share: float = 0.3) -> tuple[float, float]:
    """A y-range with room at the top for the legend, which plotext draws at the top
    left, so that it hides no marker (the start of a path, say)."""
    lo, hi = y_range
    return lo, hi + share * (hi - lo) / (1 - share)
