"""check: is ANSWER the derivative of EXPR? (homework)

`judge` decides one question (the same for one call and for each row of a batch);
`check` makes the report of one call. A question is one of:

- the derivative everywhere: EXPR a loss, ANSWER an expression (scalar weights);
- the gradient everywhere: a weight with a shape, ANSWER an array expression;
- the derivative at a point (`at`): ANSWER a number, or an expression taken there;
- a value: EXPR without names is the exact value asked for (a step's result, a
  learning rate), and ANSWER a number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gdcli import answers
from gdcli.answers import Tolerance, Verdict
from gdcli.errors import BadInput, GdcliError, MissingValue, TooSlow
from gdcli.params import shape_text
from gdcli.parse.options import is_assignment, parse_assignments
from gdcli.parse.syntax import free_names, normalise
from gdcli.reports.base import Report, Table, constant


@dataclass
class Judged:
    """One question and its verdict (or why the answer could not be read)."""

    expression: str
    variable: str | None
    answer: str
    verdict: Verdict | None
    unreadable: GdcliError | None = None  # the answer does not parse (or cannot be used)
    loss_expr: Any = None  # SymPy, for LaTeX
    answer_expr: Any = None
    array: bool = False  # the weight is a vector or a matrix: ANSWER is its gradient


def _answer_error(exc: GdcliError) -> GdcliError:
    if not exc.message.startswith("ANSWER"):
        exc.message = "ANSWER: " + exc.message
    return exc


def judge(
    text: str,
    answer_text: str,
    *,
    wrt: str | None = None,
    at: str | None = None,
    sets: Sequence[str] = (),
    shapes: Sequence[str] = (),
    tol: Tolerance = Tolerance(),
) -> Judged:
    """Decide whether `answer_text` answers the question of `text` (see the module doc).
    Errors of the question (the loss, the point, the inputs) are raised; an answer
    that cannot be read comes back in `unreadable`."""
    from gdcli.problem import read_problem

    source = normalise(text)
    answer_source = normalise(answer_text)
    if not answer_source:
        return Judged(source, wrt, answer_source, None, _answer_error(BadInput("is empty")))
    if not free_names(source) and not shapes and wrt is None and at is None:
        return _judge_value(source, answer_source, sets, tol)
    problem = read_problem(source, at, sets=sets, shapes=shapes, wrt=wrt, every_name_a_weight=True)
    name = problem.variable(wrt)
    if at is not None:
        given = set(parse_assignments(at)) if is_assignment(at) else {name}
        for other in problem.weights:
            if other not in given:
                raise MissingValue(other)
    if problem.has_arrays:
        point = {n: problem.point[n] for n in problem.weights} if at is not None else None
        try:
            verdict = answers.check_gradient(problem, name, answer_source, tol, point)
        except TooSlow:
            raise
        except GdcliError as exc:
            if exc.message.startswith("ANSWER"):
                return Judged(problem.text, name, answer_source, None, exc, array=True)
            raise
        return Judged(problem.text, name, answer_source, verdict, array=True)
    loss = problem.loss
    try:
        answer = _parse_answer(answer_source, loss, problem.inputs)
    except TooSlow:
        raise
    except GdcliError as exc:
        return Judged(loss.text, name, answer_source, None, _answer_error(exc))
    if at is not None:
        verdict = answers.check_at(loss, name, answer.expr, problem.substitution(), tol)
    else:
        verdict = answers.check_derivative(loss, name, answer.expr, tol)
    return Judged(loss.text, name, answer.text, verdict, None, loss.expr, answer.expr)


def _parse_answer(answer_text: str, loss: Any, inputs: dict[str, Any]) -> Any:
    from gdcli.parse.expression import parse_loss
    from gdcli.problem import to_sympy

    constants = {n: to_sympy(v) for n, v in inputs.items()}
    answer = parse_loss(answer_text, loss.shapes, constants)
    unknown = sorted(set(answer.variables) - set(loss.variables))
    if unknown:
        raise BadInput(
            f"uses {', '.join(unknown)}, which {'is' if len(unknown) == 1 else 'are'} "
            f"not a variable of {loss.text}",
            hint=f"the loss's variables: {', '.join(loss.variables) or 'none'}",
        )
    return answer


def _judge_value(source: str, answer_source: str, sets: Sequence[str], tol: Tolerance) -> Judged:
    from gdcli.parse.expression import parse_value

    if sets:
        raise BadInput(f"{source} is a number: there is nothing to give a value to")
    expected = parse_value(source)
    if hasattr(expected, "shape"):
        raise BadInput(f"{source} is not a single number")
    try:
        if free_names(answer_source):
            raise BadInput(f"must be a number: {source} is a value, not a loss")
        got = parse_value(answer_source)
        if hasattr(got, "shape"):
            raise BadInput("must be a single number")
    except TooSlow:
        raise
    except GdcliError as exc:
        return Judged(source, None, answer_source, None, _answer_error(exc))
    verdict = answers.check_value(expected, got, tol)
    return Judged(source, None, answer_source, verdict, None, expected, got)


# ---------------------------------------------------------------------------
# sentences


def _tolerance_text(tol: Tolerance) -> str:
    return f"rtol {tol.rtol:g}, atol {tol.atol:g}"


def reason(j: Judged) -> str:
    """One line: why the answer is right, wrong, or unreadable."""
    if j.unreadable is not None:
        hint = j.unreadable.hint
        return j.unreadable.message + (f" ({hint})" if hint else "")
    v = j.verdict
    assert v is not None
    tol = v.tolerance
    within = "" if tol.exact else f", within {_tolerance_text(tol)}"
    if v.equal:
        if v.method == "symbolic":
            return "SymPy simplifies their difference to 0"
        if v.method == "value":
            return f"equal to {v.derivative}{within}"
        if v.method == "point":
            return f"equal to the derivative at the point{within}"
        if v.method == "float64":
            return (
                f"they agree at {v.checked} points to float64 round-off{within}; too large "
                "to confirm exactly"
            )
        return f"they agree at {v.checked} points, exactly at {v.exact} of them{within}"
    if v.shapes is not None:
        want, got = v.shapes
        text = (
            f"the answer has shape {shape_text(got)}, but the gradient has the shape of "
            f"{j.variable}, {shape_text(want)}"
        )
        if v.hint == "transposed":
            text += ": it is transposed (write it the other way round, or transpose it)"
        return text
    ce = v.counterexample
    assert ce is not None
    where = f"at {ce.point_text} " if ce.point_text else ""
    if v.method == "value":
        what = f"the value is {ce.expected_text}"
    elif ce.entry is not None:
        what = f"∂l/∂{ce.entry} is {ce.expected_text}"
    else:
        what = f"dl/d{j.variable} is {ce.expected_text}"
    if ce.got is None and ce.got_text == "undefined":
        text = f"{where}{what}, but the answer is undefined there"
    else:
        beyond = "" if tol.exact else f", beyond {_tolerance_text(tol)}"
        text = (
            f"{where}{what}, but the answer gives {ce.got_text} "
            f"(difference {ce.difference_text}{beyond})"
        )
    if v.hint == "transposed":
        text += "; the answer is the gradient transposed"
    return text


def method_text(j: Judged) -> str:
    return j.verdict.method if j.verdict is not None else ""


def latex_of(j: Judged, full: bool) -> str:
    """The answer in LaTeX (or, `full`, the line `l(w) = …,\\ \\frac{dl}{dw} = …` of the
    true derivative); empty when there is nothing to write."""
    from gdcli import latex

    if j.array and j.verdict is not None:  # matrix form: written as typed
        shown = j.verdict.derivative if full else j.answer
        head = rf"\frac{{\partial l}}{{\partial {j.variable}}} = " if full else ""
        return head + latex.verbatim(shown)
    if j.answer_expr is None:
        return ""
    if not full or j.loss_expr is None or j.variable is None or j.verdict is None:
        return latex.latex(j.answer_expr)
    if j.verdict.method == "value":
        return latex.latex(j.loss_expr)
    return latex.loss_and_derivative(j.variable, j.loss_expr, _derivative(j))


def _derivative(j: Judged) -> Any:
    from gdcli import calculus
    from gdcli.parse.expression import Loss

    assert j.variable is not None
    symbols = {s.name: s for s in j.loss_expr.free_symbols}
    w = symbols[j.variable]
    loss = Loss(j.expression, j.loss_expr, (j.variable,), {j.variable: ()}, {j.variable: (w,)})
    return calculus.derivative(loss, j.variable)


# ---------------------------------------------------------------------------
# one call


def check(j: Judged, latex: bool = False) -> tuple[Report, int]:
    """The report of one check (an unreadable answer is raised: exit 2)."""
    if j.unreadable is not None:
        raise j.unreadable
    v = j.verdict
    assert v is not None
    ce = v.counterexample
    data: dict[str, Any] = {
        "expression": j.expression,
        "variable": j.variable,
        "answer": j.answer,
        "derivative": v.derivative,
        "equal": v.equal,
        "counterexample": ce.data() if ce is not None else None,
        "method": v.method,
        "reason": reason(j),
        "checked_points": v.checked,
        "exact_points": v.exact,
        "rtol": v.tolerance.rtol,
        "atol": v.tolerance.atol,
    }
    if v.hint is not None:
        data["hint"] = v.hint
    if v.shapes is not None:
        data["shapes"] = {"gradient": list(v.shapes[0]), "answer": list(v.shapes[1])}
    line = ""
    if latex:
        line = latex_of(j, full=True)
        data["latex"] = line
    verdict = "correct" if v.equal else "wrong"
    if v.equal and v.method == "symbolic":
        note = f"correct: {j.answer} is dl/d{j.variable} of {j.expression} ({reason(j)})."
    elif v.equal and v.method == "value":
        note = f"correct: {j.answer} is {j.expression} ({reason(j)})."
    elif v.equal and j.array:
        note = (
            f"correct: {j.answer} is the gradient ∂l/∂{j.variable} of {j.expression} ({reason(j)})."
        )
    elif v.equal:
        note = f"correct: {j.answer} is dl/d{j.variable} of {j.expression} ({reason(j)})."
    else:
        note = f"wrong: {reason(j)}."
    columns = ["expression", "variable", "answer", "derivative", "equal"]
    cells = [data[c] for c in columns]
    if j.variable is None:
        cells[1] = ""  # a value: no variable (JSON null)
    table = Table(columns, [cells], title="")
    tables = [table]
    if latex:
        tables.append(Table(["latex"], [[line]], records=False, text_columns=frozenset({"latex"})))
    report = Report(
        data,
        tables,
        constant([line] if latex else [verdict]),
        notes=constant([note]),
    )
    return report, 0 if v.equal else 1
