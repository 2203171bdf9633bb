"""derive, slope and plot: one weight, its slope and the difference quotient."""

from __future__ import annotations

import math
from typing import Any

from gdcli import calculus
from gdcli.errors import BadInput
from gdcli.points import Problem, plain_value
from gdcli.render.output import Report, Table
from gdcli.values import show_value as _show

CURVE_SAMPLES = 241


def _num(x: Any) -> float | None:
    return calculus.to_float(x)


def _sample(
    f: Any, lo: float, hi: float, n: int = CURVE_SAMPLES
) -> tuple[list[float], list[float]]:
    xs = [lo + (hi - lo) * k / (n - 1) for k in range(n)]
    return xs, [f(x) for x in xs]


def _loss_picture(
    xs: list[float],
    ys: list[float],
    name: str,
    point: tuple[float, float],
    lines: list[tuple[str, float, float, float]],
    title: str,
    width: int,
    height: int,
    color: bool,
) -> str:
    """The course's picture: l(w), the current point, and straight lines through it."""
    from gdcli.render.plots import loss_plot

    return loss_plot(
        xs,
        ys,
        point=point,
        lines=lines,
        title=title,
        xlabel=name,
        ylabel=f"l({name})",
        width=width,
        height=height,
        color=color,
    )


def _explain_kink(name: str, at: Any, s: calculus.SlopeAt) -> str:
    if s.jump is not None:
        before, after = s.jump
        return (
            f"not differentiable at {name} = {_show(at)}: l jumps there (from "
            f"{before:.10g} just left to {after:.10g} just right, {s.loss:.10g} at the point), "
            "so on the side of the jump the quotients grow like 1/h: no slope there."
        )
    left = "undefined or infinite" if s.left is None else f"{s.left:.10g}"
    right = "undefined or infinite" if s.right is None else f"{s.right:.10g}"
    text = (
        f"not differentiable at {name} = {_show(at)}: the slope from the left is {left}, "
        f"from the right {right}."
    )
    if s.convention is not None:
        text += (
            f" SymPy's derivative gives {s.convention:.10g} there (Heaviside(0) = 1/2, "
            "sign(0) = 0); descend and grad use that value as the subgradient."
        )
    return text


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
            f" Already the largest h is best: l near {name} is {exact}, for which the "
            f"{scheme} quotient is exact, so there is no truncation error to shrink."
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


def derive(
    problem: Problem,
    name: str,
    scheme: str,
    h_max: float,
    h_min: float,
    latex: bool,
) -> Report:
    if scheme not in calculus.SCHEMES:
        raise BadInput(f"unknown scheme {scheme!r}; choose forward, backward or central")
    others = {v: problem.point[v] for v in problem.loss.variables if v != name}
    loss = problem.only(name).loss
    at = problem.point[name]
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

    data: dict[str, Any] = {
        "expression": loss.text,
        "variable": name,
        "derivative": str(derivative),
        "at": float(at),
        "at_exact": str(at),
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
    if others:
        data["point"] = {v: plain_value(val) for v, val in others.items()}
    summary = [
        ["l(" + name + ")", loss.text],
        [f"dl/d{name}", str(derivative)],
    ]
    if latex:
        import sympy as sp

        data["latex"] = sp.latex(derivative)
        summary.append(["latex", data["latex"]])
    summary += [
        [name, str(at)],
        [f"l({name})", s.loss],
        ["slope", s.slope if s.differentiable else "does not exist"],
    ]
    if not s.differentiable:
        summary += [["left slope", s.left], ["right slope", s.right]]
    notes = []
    if not s.differentiable:
        notes.append(_explain_kink(name, at, s))
        if reference is not None:
            side = {"forward": "right", "backward": "left", "central": "mean of both"}[scheme]
            notes.append(
                f"{scheme} quotients are compared with the one-sided slope they approach ({side})."
            )
    if best is not None:
        notes.append(_explain_errors(rows, best, scheme, name))
    quotient_table = Table(
        ["h", "quotient", "abs_error", "rel_error"],
        [[r.h, r.quotient, r.abs_error, r.rel_error] for r in rows],
        title=f"{scheme} difference quotients",
        highlight=best_index,
        highlight_text="◀ best h",
    )
    plots = []
    if rows:

        def draw(width: int, height: int, color: bool) -> str:
            from gdcli.render.plots import curve_plot

            return curve_plot(
                [r.h for r in rows],
                [r.abs_error for r in rows],
                label="|quotient - slope|",
                logx=True,
                logy=True,
                title="error against h (log-log): the V of truncation and round-off",
                xlabel="h",
                ylabel="error",
                width=width,
                height=height,
                color=color,
            )

        plots.append(draw)
    return Report(
        data=data,
        tables=[Table(["quantity", "value"], summary, records=False), quotient_table],
        quiet=[s.slope],
        notes=notes,
        plots=plots,
    )


def _number(value: Any, option: str) -> float:
    if hasattr(value, "shape"):
        raise BadInput(f"{option} takes numbers, not a vector or matrix")
    return float(value)


def _curve_range(at: float, range_text: str | None, extra: float = 0.0) -> tuple[float, float]:
    if range_text is None:
        half = max(3.0, 1.5 * abs(extra))
        return at - half, at + half
    from gdcli.expression import parse_value

    lo_text, colon, hi_text = range_text.partition(":")
    if not colon:
        raise BadInput(f"cannot read --range {range_text!r}", hint="e.g. --range -2:5")
    lo, hi = (_number(parse_value(t), "--range") for t in (lo_text, hi_text))
    if not lo < hi:
        raise BadInput(f"--range {range_text}: the start must be below the end")
    return lo, hi


def slope(problem: Problem, name: str, h_value: Any, range_text: str | None) -> Report:
    loss = problem.only(name).loss
    if hasattr(h_value, "shape"):
        raise BadInput("h must be a number", hint="e.g. --h 1e-3")
    if h_value == 0:
        raise BadInput("h must not be 0: the two points would be the same", hint="e.g. --h 1e-3")
    w1 = problem.point[name]
    w = loss.entries[name][0]
    l1, l2, secant = calculus.secant_slope(loss, name, w1, h_value)
    s = calculus.slope_at(loss, name, w1)
    d = s.slope
    gap = abs(secant - d) if d is not None else None
    w1f, hf = float(w1), float(h_value)
    w2f = _num(w1 + h_value)
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
            else _explain_kink(name, w1, s)
        )
    ]

    def draw(width: int, height: int, color: bool) -> str:
        lo, hi = _curve_range(w1f, range_text, hf)
        xs, ys = _sample(calculus.compile_scalar(loss.expr, [w]), lo, hi)
        lines = [("secant", w1f, l1, secant)]
        if d is not None:
            lines.append(("tangent", w1f, l1, d))
        title = f"l({name}) = {loss.text}: secant over h = {hf:g} and tangent at {name} = {w1}"
        return _loss_picture(xs, ys, name, (w1f, l1), lines, title, width, height, color)

    return Report(
        data=data,
        tables=[Table(columns, [row], title="two-point slope")],
        quiet=[secant],
        notes=notes,
        plots=[draw],
    )


def plot(problem: Problem, name: str, range_text: str | None) -> Report:
    loss = problem.only(name).loss
    at = problem.point[name]
    s = calculus.slope_at(loss, name, at)
    atf = float(at)
    lo, hi = _curve_range(atf, range_text)
    w = loss.entries[name][0]
    f = calculus.compile_scalar(loss.expr, [w])
    xs, ys = _sample(f, lo, hi)
    data = {
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
            f"slope {s.slope:.10g}: "
            + (
                f"the loss grows here, so gradient descent makes {name} smaller."
                if s.slope > 0
                else f"the loss falls here, so gradient descent makes {name} larger."
                if s.slope < 0
                else "a flat spot: gradient descent stays put."
            )
            if s.slope is not None
            else _explain_kink(name, at, s)
        )
    ]

    def draw(width: int, height: int, color: bool) -> str:
        lines = [] if s.slope is None else [("tangent", atf, s.loss, s.slope)]
        title = f"l({name}) = {loss.text}"
        return _loss_picture(xs, ys, name, (atf, s.loss), lines, title, width, height, color)

    return Report(
        data=data,
        tables=[
            Table(
                [name, "loss"],
                [[x, y] for x, y in zip(xs, ys, strict=True)],
                title="l(w) sampled",
                head_tail=10,
            )
        ],
        quiet=[s.loss, s.slope],
        notes=notes,
        plots=[draw],
        plot_is_data=True,
    )
