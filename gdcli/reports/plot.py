"""plot: the loss l(w), the current point and its tangent (its slope)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from gdcli import calculus
from gdcli.limits import CURVE_SAMPLES
from gdcli.problem import Problem
from gdcli.reports.base import Report, Table, constant
from gdcli.reports.figures import loss_figure
from gdcli.reports.slope import curve_range
from gdcli.reports.words import data_sentence, data_summary, kink_note, sample

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
    atf = float(at)
    lo, hi = curve_range(atf, plot_range)
    w = loss.entries[name][0]
    f = calculus.compile_scalar(loss.expr, [w])
    xs, ys = sample(f, lo, hi, CURVE_SAMPLES)
    data: dict[str, Any] = {
        "expression": loss.text,
        "variable": name,
        "at": atf,
        "loss": s.loss,
        "slope": s.slope,
        "differentiable": s.differentiable,
        "range": [lo, hi],
        "points": [
            {name: x, "loss": y if math.isfinite(y) else None} for x, y in zip(xs, ys, strict=True)
        ],
    }
    notes = [
        f"at {name} = {at}: l = {s.loss:.10g}, "
        + (
            f"slope {s.slope:.10g}: " + _direction(name, s.slope)
            if s.slope is not None
            else kink_note(name, at, s)
        )
    ]
    lines = [] if s.slope is None or s.loss is None else [("tangent", atf, s.loss, s.slope)]
    figure = loss_figure(
        xs,
        ys,
        point=(atf, s.loss) if s.loss is not None else None,
        lines=lines,
        title=f"l({name}) = {loss.text}",
        xlabel=name,
        ylabel=f"l({name})",
    )
    return Report(
        data,
        [
            Table(
                [name, "loss"],
                [[x, y] for x, y in zip(xs, ys, strict=True)],
                title="l(w) sampled",
                head_tail=10,
            )
        ],
        constant([s.loss, s.slope]),
        undefined=lambda: kink_note(name, at, s),
        notes=constant(notes),
        figures=constant([figure]),
        figure_is_data=True,
    )


def plot_on_data(
    problem: Problem, data: Data, name: str, plot_range: tuple[float, float] | None
) -> Report:
    """The mean loss over training data against one weight, the point and its tangent."""
    from gdcli.reports.mean import MeanLoss, kink_sentence

    f = MeanLoss(problem, data, name)
    s = f.at_point()
    at = problem.point[name]
    atf = f.at
    lo, hi = curve_range(atf, plot_range)
    xs, ys = sample(f, lo, hi, CURVE_SAMPLES)
    out: dict[str, Any] = {
        "expression": problem.text,
        "variable": name,
        "at": atf,
        "loss": s.loss,
        "slope": s.slope,
        "differentiable": s.differentiable,
        "range": [lo, hi],
        "data": data_summary(data),
        "points": [
            {name: x, "loss": y if math.isfinite(y) else None} for x, y in zip(xs, ys, strict=True)
        ],
    }
    notes = [
        data_sentence(data),
        f"at {name} = {at}: l = {s.loss:.10g} (the mean over the examples), "
        + (
            f"slope {s.slope:.10g}: " + _direction(name, s.slope)
            if s.slope is not None
            else kink_sentence(name, at, s)
        ),
    ]
    lines = [] if s.slope is None else [("tangent", atf, s.loss, s.slope)]
    figure = loss_figure(
        xs,
        ys,
        point=(atf, s.loss),
        lines=lines,
        title=f"l({name}) = mean over the examples of {problem.text}",
        xlabel=name,
        ylabel=f"l({name})",
    )
    return Report(
        out,
        [
            Table(
                [name, "loss"],
                [[x, y] for x, y in zip(xs, ys, strict=True)],
                title="l(w) sampled (the mean over the examples)",
                head_tail=10,
            )
        ],
        constant([s.loss, s.slope]),
        undefined=lambda: kink_sentence(name, at, s),
        notes=constant(notes),
        figures=constant([figure]),
        figure_is_data=True,
    )
