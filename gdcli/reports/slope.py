"""slope: the two-point slope (l(w+h) - l(w)) / h beside the derivative at w; for a
list of h, the secants closing in on the tangent as h shrinks. On training data the
loss is the mean over the examples (in floating point)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from gdcli import calculus
from gdcli.errors import BadValue, NumericalError
from gdcli.limits import CURVE_SAMPLES
from gdcli.parse.options import show_value
from gdcli.problem import Problem
from gdcli.reports.base import Report, Table, constant
from gdcli.reports.figures import Figure, Line, loss_figure, loss_view, round_range
from gdcli.reports.words import data_sentence, data_summary, kink_note, problem_roles, sample

if TYPE_CHECKING:
    from gdcli.data import Data

# glyphs of the secants (one per h), apart from the tangent's and the curve's
SECANT_MARKERS = ("+", "x", "*", "=", "%", "#", "&", "$")
POINT_MARKER, END_MARKER = "o", "X"
SEPARATE = 50  # w and w + h are told apart when h is at least 1/SEPARATE of the picture


def _check_h(h_values: Sequence[Any]) -> None:
    for h_value in h_values:
        if hasattr(h_value, "shape"):
            raise BadValue("h", "must be a number", hint="e.g. 1e-3")
        if h_value == 0:
            raise BadValue("h", "must not be 0: the two points would be the same", hint="e.g. 1e-3")


def slope(
    problem: Problem, name: str, h_values: Sequence[Any], plot_range: tuple[float, float] | None
) -> Report:
    """The secants of the loss, exactly, then rounded."""
    loss = problem.only(name).loss
    _check_h(h_values)
    w1 = problem.at(name)
    w = loss.entries[name][0]
    s = calculus.slope_at(loss, name, w1)
    secants: list[dict[str, Any]] = []
    for h_value in h_values:
        l1, l2, secant = calculus.secant_slope(loss, name, w1, h_value)
        secants.append(
            {
                "w2": calculus.to_float(w1 + h_value),
                "h": float(h_value),
                "loss1": l1,
                "loss2": l2,
                "slope": secant,
                "abs_error": _gap(loss, w, w1, h_value, s) if s.slope is not None else None,
            }
        )
    note = _note(name, show_value(w1), s.slope, secants, lambda: kink_note(name, w1, s))
    return _report(
        {"expression": loss.text, "variable": name},
        name,
        float(w1),
        s.slope,
        secants,
        [*problem_roles(problem), note],
        lambda: calculus.compile_scalar(loss.expr, [w]),
        f"l({name}) = {loss.text}",
        plot_range,
    )


def slope_on_data(
    problem: Problem,
    data: Data,
    name: str,
    h_values: Sequence[Any],
    plot_range: tuple[float, float] | None,
) -> Report:
    """The two-point slopes of the mean loss over training data (floating point)
    beside its derivative at w (the reverse pass)."""
    from gdcli.reports.mean import MeanLoss, kink_sentence

    _check_h(h_values)
    f = MeanLoss(problem, data, name)
    s = f.at_point()
    w1 = problem.point[name]
    d = s.slope
    secants: list[dict[str, Any]] = []
    for h_value in h_values:
        hf = float(h_value)
        w2f = f.at + hf
        l1, l2 = s.loss, f(w2f)
        if not math.isfinite(l2):
            raise NumericalError(
                f"the mean loss over the examples is not a real number at {name} = {w2f:.10g}"
            )
        secant = (l2 - l1) / hf
        secants.append(
            {
                "w2": w2f,
                "h": hf,
                "loss1": l1,
                "loss2": l2,
                "slope": secant,
                "abs_error": abs(secant - d) if d is not None else None,
            }
        )
    note = _note(name, show_value(w1), d, secants, lambda: kink_sentence(name, w1, s))
    return _report(
        {"expression": problem.text, "variable": name},
        name,
        f.at,
        d,
        secants,
        [
            data_sentence(data),
            *problem_roles(problem),
            note.replace("/h", "/h of the mean loss", 1),
        ],
        lambda: f,
        f"l({name}) = mean over the examples of {problem.text}",
        plot_range,
        {"data": data_summary(data)},
        "two-point slope of the mean loss",
    )


def _report(
    head: dict[str, Any],
    name: str,
    w1f: float,
    d: float | None,
    secants: list[dict[str, Any]],
    notes: list[str],
    curve: Callable[[], Callable[[float], float]],
    about: str,
    plot_range: tuple[float, float] | None,
    tail: dict[str, Any] | None = None,
    title: str = "two-point slope",
) -> Report:
    """The report of the secants at w1 (one per h) beside the derivative d: the keys of
    the last h at the top level (and every h under `secants`), a row per h, the
    picture of the loss `curve` with both points of each secant and the tangent."""
    last = secants[-1]
    data: dict[str, Any] = {
        **head,
        "w1": w1f,
        "w2": last["w2"],
        "h": last["h"],
        "loss1": last["loss1"],
        "loss2": last["loss2"],
        "slope": last["slope"],
        "derivative": d,
        "abs_error": last["abs_error"],
    }
    if len(secants) > 1:  # every h, in the order given; the keys above are the last one's
        data["secants"] = secants
    columns = [c for c in data if c not in head and c != "secants"]
    rows = [[w1f, *(sec[c] if c in sec else data[c] for c in columns[1:])] for sec in secants]
    data.update(tail or {})

    def figures() -> list[Figure]:
        f = curve()
        ends = [sec["w2"] for sec in secants if sec["w2"] is not None]
        ticks: tuple[float, ...] | None = None
        zoomed = False
        if plot_range is not None:
            lo, hi = plot_range
        else:
            lo, hi, ticks, _ = loss_view(f, w1f, ends)
            left, right = min(w1f, *ends), max(w1f, *ends)
            # w and w + h would share a character: zoom in, where floats tell them apart;
            # several h: the view is the secants' own stretch, where they part
            close = right - left < (hi - lo) / SEPARATE
            if (close or len(secants) > 1) and left < right:
                margin = (right - left) * (2 if close else 0.5)
                zoom = round_range(left - margin, right + margin)
                if zoom[0] < zoom[1] and len(set(zoom[2])) == len(zoom[2]) >= 2:
                    (lo, hi, ticks), zoomed = zoom, close
        xs, ys = sample(f, lo, hi, CURVE_SAMPLES)
        # the tangent first, then the secants from the widest h: each drawn over the
        # one before, the nearest to the tangent last
        lines: list[Line] = []
        if d is not None:
            lines.append((f"tangent at {name} = {w1f:g}", w1f, secants[0]["loss1"], d, "dot"))
        for k, sec in sorted(enumerate(secants), key=lambda ks: -abs(ks[1]["h"])):
            marker = SECANT_MARKERS[k % len(SECANT_MARKERS)]
            lines.append((f"secant, h = {sec['h']:g}", w1f, sec["loss1"], sec["slope"], marker))
        caption = f"{about}: secant{'s' if len(secants) > 1 else ''} and tangent"
        if zoomed:
            caption += " (zoomed in to tell w and w + h apart)"
        elif all(end == w1f for end in ends):
            caption += " (w + h is w to a float's precision: one point)"
        points = [
            (name, [w1f], [secants[0]["loss1"]], POINT_MARKER),
            (f"{name} + h", ends, [sec["loss2"] for sec in secants], END_MARKER),
        ]
        figure = loss_figure(
            xs, ys, lines=lines, points=points, title=caption, xlabel=name, ylabel=f"l({name})"
        )
        return [figure._replace(xticks=ticks)]

    return Report(
        data,
        [Table(columns, rows, title=title)],
        constant([sec["slope"] for sec in secants]),
        notes=constant(notes),
        figures=figures,
    )


def _gap(loss: Any, w: Any, w1: Any, h: Any, s: calculus.SlopeAt) -> float:
    """|secant slope - derivative|, the difference taken exactly, then rounded (the
    difference of the two rounded slopes, -3.999 - -4.0, is 0.0009999999999998899
    where the gap is 0.001)."""
    from gdcli.errors import GdcliError

    secant = (loss.expr.xreplace({w: w + h}) - loss.expr) / h
    try:
        gap = abs(calculus.value_at(secant - s.derivative, {w: w1}))
    except GdcliError:
        gap = math.nan
    if math.isfinite(gap):
        return gap
    # SymPy's derivative is not defined at the point (0·∞ at a kink with equal
    # one-sided slopes): the slope there is the one-sided limit, a float
    _, _, value = calculus.secant_slope(loss, str(w), w1, h)
    return abs(value - float(s.slope or 0.0))


def _note(
    name: str,
    w1: str,
    d: float | None,
    secants: list[dict[str, Any]],
    no_slope: Callable[[], str],
) -> str:
    """The secant slopes beside the derivative, and whether they close in on it;
    `no_slope` says why there is no derivative at w1."""
    if len(secants) == 1:
        sec = secants[0]
        text = f"secant slope (l({name}+h) - l({name}))/h = {sec['slope']:.10g}; "
        if d is None:
            return text + no_slope()
        return (
            text + f"the derivative at {name} = {w1} is {d:.10g}, gap {sec['abs_error']:.3g}. "
            "Shrink h and the secant turns into the tangent."
        )
    listed = "; ".join(f"h = {sec['h']:g}: {sec['slope']:.10g}" for sec in secants)
    text = f"secant slopes (l({name}+h) - l({name}))/h: {listed}. "
    if d is None:
        return text + no_slope()
    by_size = sorted(secants, key=lambda sec: abs(sec["h"]), reverse=True)
    gaps = [sec["abs_error"] for sec in by_size]
    gap_text = ", ".join(f"{g:.3g}" for g in gaps)
    text += f"The derivative at {name} = {w1} is {d:.10g}; the gaps, from the largest h: {gap_text}"
    if all(b < a for a, b in zip(gaps, gaps[1:], strict=False)):
        return text + ": they shrink with h, and the secants close in on the tangent."
    if not any(gaps):
        return text + ": every secant has the tangent's slope here."
    return text + ": they do not shrink steadily as h shrinks here."
