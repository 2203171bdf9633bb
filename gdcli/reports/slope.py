"""slope: the two-point slope (l(w+h) - l(w)) / h beside the derivative at w."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from gdcli import calculus
from gdcli.errors import BadValue, NumericalError
from gdcli.limits import CURVE_SAMPLES
from gdcli.problem import Problem
from gdcli.reports.base import Report, Table, constant
from gdcli.reports.figures import loss_figure
from gdcli.reports.words import data_sentence, data_summary, kink_note, sample

if TYPE_CHECKING:
    from gdcli.data import Data


def curve_range(
    at: float, given: tuple[float, float] | None, extra: float = 0.0
) -> tuple[float, float]:
    """The plot's range: the one given, else 3 either side of the point (or 1.5 h)."""
    if given is not None:
        return given
    half = max(3.0, 1.5 * abs(extra))
    return at - half, at + half


def slope(
    problem: Problem, name: str, h_value: Any, plot_range: tuple[float, float] | None
) -> Report:
    loss = problem.only(name).loss
    if hasattr(h_value, "shape"):
        raise BadValue("h", "must be a number", hint="e.g. 1e-3")
    if h_value == 0:
        raise BadValue("h", "must not be 0: the two points would be the same", hint="e.g. 1e-3")
    w1 = problem.at(name)
    w = loss.entries[name][0]
    l1, l2, secant = calculus.secant_slope(loss, name, w1, h_value)
    s = calculus.slope_at(loss, name, w1)
    d = s.slope
    gap = abs(secant - d) if d is not None else None
    w1f, hf = float(w1), float(h_value)
    w2f = calculus.to_float(w1 + h_value)
    data = {
        "expression": loss.text,
        "variable": name,
        "w1": w1f,
        "w2": w2f,
        "h": hf,
        "loss1": l1,
        "loss2": l2,
        "slope": secant,
        "derivative": d,
        "abs_error": gap,
    }
    columns = list(data)[2:]
    row = [data[c] for c in columns]
    notes = [
        f"secant slope (l({name}+h) - l({name}))/h = {secant:.10g}; "
        + (
            f"the derivative at {name} = {w1} is {d:.10g}, gap {gap:.3g}. "
            "Shrink h and the secant turns into the tangent."
            if d is not None and gap is not None
            else kink_note(name, w1, s)
        )
    ]

    def figures() -> list[Any]:
        lo, hi = curve_range(w1f, plot_range, hf)
        xs, ys = sample(calculus.compile_scalar(loss.expr, [w]), lo, hi, CURVE_SAMPLES)
        lines = [("secant", w1f, l1, secant)]
        if d is not None:
            lines.append(("tangent", w1f, l1, d))
        title = f"l({name}) = {loss.text}: secant over h = {hf:g} and tangent at {name} = {w1}"
        return [
            loss_figure(
                xs, ys, point=(w1f, l1), lines=lines, title=title, xlabel=name, ylabel=f"l({name})"
            )
        ]

    return Report(
        data,
        [Table(columns, [row], title="two-point slope")],
        constant([secant]),
        notes=constant(notes),
        figures=figures,
    )


def slope_on_data(
    problem: Problem,
    data: Data,
    name: str,
    h_value: Any,
    plot_range: tuple[float, float] | None,
) -> Report:
    """The two-point slope of the mean loss over training data (floating point)
    beside its derivative at w (the reverse pass)."""
    from gdcli.reports.mean import MeanLoss, kink_sentence

    if hasattr(h_value, "shape"):
        raise BadValue("h", "must be a number", hint="e.g. 1e-3")
    if h_value == 0:
        raise BadValue("h", "must not be 0: the two points would be the same", hint="e.g. 1e-3")
    f = MeanLoss(problem, data, name)
    s = f.at_point()
    w1 = problem.point[name]
    w1f, hf = f.at, float(h_value)
    w2f = w1f + hf
    l1, l2 = s.loss, f(w2f)
    if not math.isfinite(l2):
        raise NumericalError(
            f"the mean loss over the examples is not a real number at {name} = {w2f:.10g}"
        )
    secant = (l2 - l1) / hf
    d = s.slope
    gap = abs(secant - d) if d is not None else None
    out = {
        "expression": problem.text,
        "variable": name,
        "w1": w1f,
        "w2": w2f,
        "h": hf,
        "loss1": l1,
        "loss2": l2,
        "slope": secant,
        "derivative": d,
        "abs_error": gap,
    }
    columns = list(out)[2:]
    row = [out[c] for c in columns]
    out["data"] = data_summary(data)
    notes = [
        data_sentence(data),
        f"secant slope (l({name}+h) - l({name}))/h = {secant:.10g} of the mean loss; "
        + (
            f"the derivative at {name} = {w1} is {d:.10g}, gap {gap:.3g}. "
            "Shrink h and the secant turns into the tangent."
            if d is not None and gap is not None
            else kink_sentence(name, w1, s)
        ),
    ]

    def figures() -> list[Any]:
        lo, hi = curve_range(w1f, plot_range, hf)
        xs, ys = sample(f, lo, hi, CURVE_SAMPLES)
        lines = [("secant", w1f, l1, secant)]
        if d is not None:
            lines.append(("tangent", w1f, l1, d))
        title = (
            f"l({name}) = mean over the examples of {problem.text}: secant over h = {hf:g} "
            f"and tangent at {name} = {w1}"
        )
        return [
            loss_figure(
                xs, ys, point=(w1f, l1), lines=lines, title=title, xlabel=name, ylabel=f"l({name})"
            )
        ]

    return Report(
        out,
        [Table(columns, [row], title="two-point slope of the mean loss")],
        constant([secant]),
        notes=constant(notes),
        figures=figures,
    )
