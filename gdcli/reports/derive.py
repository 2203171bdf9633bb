"""derive: the derivative dl/dw, symbolic, and difference quotients at shrinking h."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gdcli import calculus
from gdcli.parse.printing import gdcli_text, value_text
from gdcli.problem import Problem, plain
from gdcli.reports.base import Report, Table, constant
from gdcli.reports.figures import Figure, curve_figure
from gdcli.reports.words import data_sentence, data_summary, kink_note, roles_note, underflow

if TYPE_CHECKING:
    from gdcli.data import Data


def _explain_errors(
    rows: list[calculus.QuotientRow], best: calculus.QuotientRow, scheme: str, name: str
) -> str:
    """The story of the error column, told from the numbers in it."""
    errors = [r.abs_error for r in rows if r.abs_error is not None]
    text = f"best h = {best.h:.0e} (error {best.abs_error:.2e})."
    roundoff = (
        "round-off: l(w+h) and l(w) agree in more and more digits, and their difference, "
        "wrong by about 1e-16·|l|, is divided by h"
    )
    rises = errors[-1] > 10 * (best.abs_error or 0) and errors[-1] > 1e-13
    if best is rows[0]:
        exact = "a straight line" + (" or a parabola" if scheme == "central" else "")
        text += (
            " Already the largest h is best: the error does not fall as h shrinks (for "
            f"{exact} the {scheme} quotient is exact at every h, with no truncation error "
            "to shrink)."
        )
        return text + (f" The error only grows as h shrinks ({roundoff})." if rises else "")
    truncation = "h²·|l'''|/6" if scheme == "central" else "h·|l''|/2"
    text += (
        " As h shrinks the error first falls (truncation: the secant bends away from the "
        f"tangent by about {truncation})"
    )
    if rises:
        return text + f" and then rises again ({roundoff})."
    return text + "; here round-off stays small down to the smallest h."


def _quotients(
    rows: list[calculus.QuotientRow], best_index: int | None, title: str
) -> tuple[Table, list[Figure]]:
    """The table of difference quotients (the best h marked) and the picture of their
    error against h."""
    table = Table(
        ["h", "quotient", "abs_error", "rel_error"],
        [[r.h, r.quotient, r.abs_error, r.rel_error] for r in rows],
        title=title,
        highlight=best_index,
        highlight_text="◀ best h",
    )
    if not rows:
        return table, []
    figure = curve_figure(
        [r.h for r in rows],
        [r.abs_error for r in rows],
        label="|quotient - slope|",
        logx=True,
        logy=True,
        title="error against h (log-log): the V of truncation and round-off",
        xlabel="h",
        ylabel="error",
    )
    return table, [figure]


def _slope_rows(name: str, at: Any, s: Any) -> list[list[Any]]:
    """The summary's rows of the point, the loss and the slope (or its two sides)."""
    rows = [
        [name, value_text(at)],
        [f"l({name})", s.loss],
        ["slope", s.slope if s.differentiable else "does not exist"],
    ]
    if not s.differentiable:
        rows += [["left slope", s.left], ["right slope", s.right]]
    return rows


def _slopes_json(
    s: Any, scheme: str, reference: float | None, rows: list[Any], best: Any
) -> dict[str, Any]:
    """The JSON contract's slope keys: loss, slope and its sides, the scheme and what
    its quotients tend to, the quotient rows and the best h."""
    return {
        "loss": s.loss,
        "slope": s.slope,
        "differentiable": s.differentiable,
        "left_slope": s.left,
        "right_slope": s.right,
        "scheme": scheme,
        "reference": reference,
        "rows": [
            {"h": r.h, "quotient": r.quotient, "abs_error": r.abs_error, "rel_error": r.rel_error}
            for r in rows
        ],
        "best_h": best.h if best else None,
    }


def derive(
    problem: Problem,
    name: str,
    scheme: str,
    h_max: float,
    h_min: float,
    latex: bool,
    steps: bool = False,
    limit: float | None = None,
) -> Report:
    """`steps`: the derivative rule by rule; `limit`: the quotient as algebra and its
    limit, within that many CPU seconds."""
    others = {v: problem.point[v] for v in problem.weights if v != name}
    loss = problem.only(name).loss
    at = problem.at(name)
    s = calculus.slope_at(loss, name, at)
    # the partial derivative itself (every other weight a symbol), evaluated at the point
    derivative = calculus.derivative(problem.loss, name) if others else s.derivative
    hs = calculus.h_values(h_max, h_min)
    w = loss.entries[name][0]
    f = calculus.compile_scalar(loss.expr, [w])
    reference = calculus.scheme_reference(s, scheme)
    rows = calculus.difference_quotients(f, float(at), reference, hs, scheme)
    best = calculus.best_row(rows)
    best_index = rows.index(best) if best is not None else None

    derivative_text = gdcli_text(derivative)
    data: dict[str, Any] = {
        "expression": loss.text,
        "variable": name,
        "derivative": derivative_text,
        "at": float(at),
        "at_exact": value_text(at),
        **_slopes_json(s, scheme, reference, rows, best),
    }
    if others:
        data["point"] = {v: plain(val) for v, val in others.items()}
    if problem.inputs:
        data["inputs"] = {v: plain(val) for v, val in problem.inputs.items()}
    summary: list[list[Any]] = [
        ["l(" + name + ")", loss.text],
        [f"dl/d{name}", derivative_text],
    ]
    if latex:  # the line a write-up takes: the loss and its derivative
        from gdcli.latex import loss_and_derivative

        whole = problem.loss.expr if others else loss.expr
        data["latex"] = loss_and_derivative(name, whole, derivative, list(problem.weights))
        summary.append(["latex", data["latex"]])
    summary += _slope_rows(name, at, s)
    notes = []
    roles = roles_note(list(problem.weights), list(problem.inputs), problem.chosen)
    if roles:
        notes.append(roles)
    if not s.differentiable:
        notes.append(kink_note(name, at, s))
        if reference is not None:
            side = {"forward": "right", "backward": "left", "central": "mean of both"}[scheme]
            notes.append(
                f"{scheme} quotients are compared with the one-sided slope they approach ({side})."
            )
    if s.loss == 0:
        tiny = underflow(loss.expr, {w: at})
        if tiny:
            notes.append(
                f"l({name}) is {tiny}, smaller in size than the smallest float (about 4.9e-324): "
                "as a float it is 0."
            )
    if s.differentiable and s.slope == 0:
        tiny = underflow(s.derivative, {w: at})
        if tiny:
            notes.append(
                f"the slope is {tiny}, smaller in size than the smallest float (about "
                "4.9e-324): as a float it is 0, and so are the quotients below."
            )
    if best is not None:
        notes.append(_explain_errors(rows, best, scheme, name))
    quotient_table, figures = _quotients(rows, best_index, f"{scheme} difference quotients")
    tables = [Table(["quantity", "value"], summary, records=False)]
    if steps or limit is not None:
        from gdcli.reports.derivation import limit_part, steps_part

        constants = {**problem.inputs, **others}
        parts = []
        if steps:
            parts.append(steps_part(problem.text, name, constants, latex))
        if limit is not None:
            one = problem.only(name).loss.text if not others else problem.text
            parts.append(limit_part(one, name, at, limit))
        for part_data, part_table, part_notes in parts:
            data.update(part_data)
            tables.append(part_table)
            notes[:0] = part_notes
    return Report(
        data,
        [*tables, quotient_table],
        constant([data["latex"]] if latex else [s.slope]),
        undefined=lambda: kink_note(name, at, s),
        notes=constant(notes),
        figures=constant(figures),
    )


def derive_on_data(
    problem: Problem,
    data: Data,
    name: str,
    scheme: str,
    h_max: float,
    h_min: float,
    latex: bool,
) -> Report:
    """The derivative of the mean loss over training data: dl/dw for one example (its
    mean over the examples is the slope), the slope from the reverse pass, and the
    difference quotients of the mean loss (floating point)."""
    from gdcli.reports.mean import MeanLoss, kink_sentence

    f = MeanLoss(problem, data, name)
    s = f.at_point()
    at = problem.point[name]
    hs = calculus.h_values(h_max, h_min)
    ref = calculus.scheme_reference(s, scheme)
    rows = calculus.difference_quotients(f, f.at, ref, hs, scheme)
    best = calculus.best_row(rows)
    best_index = rows.index(best) if best is not None else None
    derivative = f.derivative
    data_json: dict[str, Any] = {
        "expression": problem.text,
        "variable": name,
        "derivative": derivative,
        "derivative_of": "one example's loss: its mean over the examples is the slope",
        "at": f.at,
        "at_exact": value_text(at),
        **_slopes_json(s, scheme, ref, rows, best),
        "data": data_summary(data),
    }
    others = {v: problem.point[v] for v in problem.weights if v != name}
    if others:
        data_json["point"] = {v: plain(val) for v, val in others.items()}
    if problem.inputs:
        data_json["inputs"] = {v: plain(val) for v, val in problem.inputs.items()}
    summary: list[list[Any]] = [
        [f"l({name})", f"mean over the examples of {problem.text}"],
        [f"dl/d{name}", f"mean over the examples of {derivative}"],
    ]
    if latex:
        data_json["latex"] = f.latex()
        summary.append(["latex", data_json["latex"] or "—"])
    summary += _slope_rows(name, at, s)
    notes = [data_sentence(data)]
    roles = roles_note(list(problem.weights), [*problem.inputs, *problem.columns], problem.chosen)
    if roles:
        notes.append(roles)
    notes.append(
        f"the derivative of a mean is the mean of the derivatives: dl/d{name} is the mean over "
        f"the examples of {derivative}; its value comes from the reverse pass, the quotients "
        "from the mean loss in floating point."
    )
    if not s.differentiable:
        notes.append(kink_sentence(name, at, s))
    if best is not None:
        notes.append(_explain_errors(rows, best, scheme, name))
    quotient_table, figures = _quotients(
        rows, best_index, f"{scheme} difference quotients of the mean loss"
    )
    return Report(
        data_json,
        [Table(["quantity", "value"], summary, records=False), quotient_table],
        constant([s.slope]),
        undefined=lambda: kink_sentence(name, at, s),
        notes=constant(notes),
        figures=constant(figures),
    )
