"""plot: the loss l(w), the current point and its tangent (its slope)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gdcli import calculus
from gdcli.limits import CURVE_SAMPLES
from gdcli.parse.options import show_value
from gdcli.problem import Problem
from gdcli.reports.base import Report, Table, constant
from gdcli.reports.figures import Figure, loss_figure, loss_view, lowest_point_2d, round_range
from gdcli.reports.words import data_sentence, data_summary, kink_note, problem_roles, sample

if TYPE_CHECKING:
    from gdcli.data import Data


def _direction(name: str, slope: float) -> str:
    if slope > 0:
        return f"the loss grows here, so gradient descent makes {name} smaller."
    if slope < 0:
        return f"the loss falls here, so gradient descent makes {name} larger."
    return "a flat spot: gradient descent stays put."


def plot(problem: Problem, name: str, plot_range: tuple[float, float] | None) -> Report:
    loss = problem.only(name).loss
    at = problem.at(name)
    s = calculus.slope_at(loss, name, at)
    w = loss.entries[name][0]
    return _report(
        {"expression": loss.text, "variable": name},
        name,
        at,
        float(at),
        calculus.compile_scalar(loss.expr, [w]),
        (s.loss, s.slope, s.differentiable),
        plot_range,
        "",
        lambda: kink_note(name, at, s),
        f"l({name}) = {loss.text}",
        problem_roles(problem),
    )


def _report(
    head: dict[str, Any],
    name: str,
    at: Any,
    atf: float,
    f: Any,
    found: tuple[float | None, float | None, bool],
    plot_range: tuple[float, float] | None,
    mean: str,
    no_slope: Any,
    title: str,
    first_notes: Sequence[str] = (),
    tail: dict[str, Any] | None = None,
) -> Report:
    """The picture of the loss `f` of one weight (the data), the point `at` and its
    tangent; `found` is (loss, slope, differentiable) there, `no_slope` says why there
    is no slope, `mean` qualifies the loss (" (the mean over the examples)")."""
    loss, slope, differentiable = found
    ticks: tuple[float, ...] | None = None
    if plot_range is not None:
        lo, hi = plot_range
    else:  # the lowest point of the loss near the point, and the point, in view
        lo, hi, ticks, _ = loss_view(f, atf)
    xs, ys = sample(f, lo, hi, CURVE_SAMPLES)
    data: dict[str, Any] = {
        **head,
        "at": atf,
        "loss": loss,
        "slope": slope,
        "differentiable": differentiable,
        "range": [lo, hi],
        **(tail or {}),
        "points": [
            {name: x, "loss": y if math.isfinite(y) else None} for x, y in zip(xs, ys, strict=True)
        ],
    }
    notes = [
        *first_notes,
        f"at {name} = {show_value(at)}: l = {loss:.10g}{mean}, "
        + (f"slope {slope:.10g}: " + _direction(name, slope) if slope is not None else no_slope()),
    ]
    lines = [] if slope is None or loss is None else [("tangent", atf, loss, slope)]
    figure = loss_figure(
        xs,
        ys,
        point=(atf, loss) if loss is not None else None,
        lines=lines,
        title=title,
        xlabel=name,
        ylabel=f"l({name})",
    )._replace(xticks=ticks)
    return Report(
        data,
        [
            Table(
                [name, "loss"],
                [[x, y] for x, y in zip(xs, ys, strict=True)],
                title=f"l(w) sampled{mean}",
                head_tail=10,
            )
        ],
        constant([loss, slope]),
        undefined=no_slope,
        notes=constant(notes),
        figures=constant([figure]),
        figure_is_data=True,
    )


def plane_view(f: Any, at: tuple[float, float]) -> tuple[tuple[float, float], tuple[float, float]]:
    """The box a picture of a loss of two weights shows by default: a square centred
    on the lowest point near `at` with `at` in it (3 either side of `at` where there
    is none in reach), with round ends."""
    low = lowest_point_2d(f, at)
    if low is None:
        centre, half = at, 3.0
    else:
        centre = low
        half = 1.25 * max(abs(at[0] - low[0]), abs(at[1] - low[1])) or 1.0
    boxes = []
    for c in centre:
        lo, hi, _ = round_range(c - half, c + half)
        boxes.append((lo, hi) if lo < hi else (c - half, c + half))
    return boxes[0], boxes[1]


def plot_on_data(
    problem: Problem, data: Data, name: str, plot_range: tuple[float, float] | None
) -> Report:
    """The mean loss over training data against one weight, the point and its tangent."""
    from gdcli.reports.mean import MeanLoss, kink_sentence

    f = MeanLoss(problem, data, name)
    s = f.at_point()
    at = problem.point[name]
    return _report(
        {"expression": problem.text, "variable": name},
        name,
        at,
        f.at,
        f,
        (s.loss, s.slope, s.differentiable),
        plot_range,
        " (the mean over the examples)",
        lambda: kink_sentence(name, at, s),
        f"l({name}) = mean over the examples of {problem.text}",
        [data_sentence(data), *problem_roles(problem)],
        {"data": data_summary(data)},
    )


def plot_2d(problem: Problem, names: list[str], plot_range: tuple[float, float] | None) -> Report:
    """A loss of two weights: its level lines, the point, and the way the negative
    gradient points there (where gradient descent goes)."""
    from gdcli.reports.figures import Series, contour_series, legend_room

    loss = problem.loss
    x, y = (loss.entries[n][0] for n in names)
    point = {x: problem.at(names[0]), y: problem.at(names[1])}
    value = calculus.value_at(loss.expr, point)
    slopes = [calculus.value_at(calculus.partial(loss.expr, s), point) for s in (x, y)]
    at = [float(problem.at(n)) for n in names]
    if not (math.isfinite(value) and all(math.isfinite(g) for g in slopes)):
        from gdcli.errors import NumericalError

        raise NumericalError(
            "the loss or its gradient is not a real number at this point",
            hint="choose another point (is the loss defined there?)",
        )
    f = calculus.compile_scalar(loss.expr, [x, y])
    if plot_range is not None:
        half = (plot_range[1] - plot_range[0]) / 2
        x_range, y_range = plot_range, (at[1] - half, at[1] + half)
    else:  # the lowest point near the point, and the point, in view
        x_range, y_range = plane_view(f, (at[0], at[1]))
        half = (x_range[1] - x_range[0]) / 2
    norm = math.hypot(*slopes)
    arrow: list[Series] = []
    if norm > 0:
        length = 0.4 * half
        tip = (at[0] - length * slopes[0] / norm, at[1] - length * slopes[1] / norm)
        arrow = [Series("-gradient", [at[0], tip[0]], [at[1], tip[1]]),
                 Series("", [tip[0]], [tip[1]], "points", ">")]  # fmt: skip
    series = [
        *contour_series(f, x_range, y_range),
        *arrow,
        Series(f"({names[0]}, {names[1]})", [at[0]], [at[1]], "points", "o"),
    ]
    figure = Figure(
        series,
        title=f"l({names[0]}, {names[1]}) = {loss.text}: level lines, the point, and -gradient",
        xlabel=names[0],
        ylabel=names[1],
    )
    lo, hi = legend_room(y_range)
    figure = figure._replace(series=[*figure.series, Series("", [x_range[0]], [hi], "points", " ")])
    data: dict[str, Any] = {
        "expression": loss.text,
        "variables": names,
        "at": dict(zip(names, at, strict=True)),
        "loss": value,
        "gradient": dict(zip(names, slopes, strict=True)),
        "range": {names[0]: list(x_range), names[1]: list(y_range)},
    }
    direction = ", ".join(f"{-g:.6g}" for g in slopes)
    notes = [
        *problem_roles(problem),
        f"at ({names[0]}, {names[1]}) = ({at[0]:g}, {at[1]:g}): l = {value:.10g}; the gradient is "
        f"({', '.join(f'{g:.6g}' for g in slopes)}), so gradient descent moves along "
        f"({direction}), across the level lines, downhill."
        if norm > 0
        else f"at ({at[0]:g}, {at[1]:g}) the gradient is 0: a flat spot, gradient descent stays.",
    ]
    table = Table(
        ["variable", "value", "slope"],
        [[n, a, g] for n, a, g in zip(names, at, slopes, strict=True)],
    )
    return Report(
        data,
        [table],
        constant([value, *slopes]),
        notes=constant(notes),
        figures=constant([figure]),
        figure_is_data=True,
    )
