"""check: is ANSWER the derivative of EXPR? (homework)"""

from __future__ import annotations

from gdcli import calculus
from gdcli.errors import BadInput, GdcliError
from gdcli.parse.expression import parse_loss
from gdcli.parse.printing import gdcli_text
from gdcli.problem import Problem, to_sympy
from gdcli.reports.base import Report, Table, constant


def check(problem: Problem, name: str, answer_text: str) -> tuple[Report, int]:
    loss = problem.loss
    try:
        constants = {n: to_sympy(v) for n, v in problem.inputs.items()}
        answer = parse_loss(answer_text, loss.shapes, constants)
    except GdcliError as exc:
        exc.message = "ANSWER: " + exc.message
        raise
    unknown = sorted(set(answer.variables) - set(loss.variables))
    if unknown:
        raise BadInput(
            f"ANSWER uses {', '.join(unknown)}, which {'is' if len(unknown) == 1 else 'are'} "
            f"not a variable of {loss.text}",
            hint=f"the loss's variables: {', '.join(loss.variables)}",
        )
    verdict = calculus.check_answer(loss, name, answer.expr)
    ce = verdict.counterexample
    derivative = gdcli_text(verdict.derivative)
    data = {
        "expression": loss.text,
        "variable": name,
        "answer": answer.text,
        "derivative": derivative,
        "equal": verdict.equal,
        "counterexample": ce,
        "method": verdict.method,
    }
    if verdict.equal:
        how = (
            "SymPy simplifies their difference to 0"
            if verdict.method == "symbolic"
            else f"they agree at {verdict.checked_points} random points"
        )
        note = f"correct: {answer.text} is dl/d{name} of {loss.text} ({how})."
    else:
        assert ce is not None
        where = ", ".join(f"{k} = {v:.6g}" for k, v in ce["point"].items())
        note = (
            f"wrong: at {where} the derivative {derivative} is {ce['expected']:.10g}, "
            f"but the answer gives {ce['got']:.10g}."
        )
    columns = ["expression", "variable", "answer", "derivative", "equal"]
    table = Table(columns, [[data[c] for c in columns]], title="")
    report = Report(
        data,
        [table],
        constant(["correct" if verdict.equal else "wrong"]),
        notes=constant([note]),
    )
    return report, 0 if verdict.equal else 1
