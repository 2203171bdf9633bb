"""grad: the gradient of many weights, matrices included (the same shape as each
weight), in matrix form from the reverse pass, and entry by entry where small."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from gdcli import calculus
from gdcli.budget import time_limit
from gdcli.errors import NumericalError, TooSlow
from gdcli.limits import EXACT_ENTRIES, PARTIALS_SECONDS
from gdcli.params import entries, entry_labels, flatten, nested
from gdcli.parse.printing import gdcli_text
from gdcli.problem import Problem
from gdcli.reports.base import Report, Table, constant
from gdcli.reports.words import SUBGRADIENT, data_sentence, data_summary, roles_note, underflow

if TYPE_CHECKING:
    from gdcli.data import Data


def _engine(problem: Problem) -> tuple[float, list[float], dict[str, str], bool]:
    """Loss, gradient entries and each array weight's gradient formula, by reverse mode,
    and whether the point sits on a kink of the loss."""
    from gdcli.engine import lower
    from gdcli.engine.kinks import on_a_kink

    graph = lower(problem.text, problem.weights, problem.input_shapes)
    values = {**dict(zip(problem.weights, problem.start(), strict=True))}
    values.update(problem.input_floats())
    loss, grads = graph.value_and_grad(values)
    formulas = {n: graph.gradient_text(n) for n, shape in problem.weights.items() if shape}
    kink = on_a_kink(graph, graph.forward(values))
    return loss, flatten([grads[n] for n in problem.weights]), formulas, kink


def _partials_text(problem: Problem) -> list[str] | None:
    """Each entry's partial derivative as text, where SymPy writes them within its
    share of the budget (a layer's partials grow long; the matrix form says the same)."""
    try:
        with time_limit(PARTIALS_SECONDS):
            partials = calculus.partials(problem.loss)
            return [gdcli_text(d) for n in problem.loss.variables for d in partials[n]]
    except TooSlow:
        return None


def _exact(problem: Problem) -> tuple[float, list[float], list[str], bool]:
    """Loss, gradient entries (exact, then rounded) and each entry's partial as text."""
    loss = problem.loss
    partials = calculus.partials(loss)
    point = problem.substitution()
    flat = [d for n in loss.variables for d in partials[n]]
    value = calculus.value_at(loss.expr, point)
    values = [calculus.value_at(calculus.off_steps(d), point) for d in flat]
    kink = calculus.kink_candidates(loss.expr, point)
    return value, values, [gdcli_text(d) for d in flat], kink


def _underflows(
    problem: Problem, labels: list[str], value: float, values: list[float]
) -> list[str]:
    """What is 0 as a float but not exactly (sigmoid(w) at -800: 3.67e-348)."""
    loss = problem.loss
    point = problem.substitution()
    partials = calculus.partials(loss)
    flat = [d for n in loss.variables for d in partials[n]]
    found = [("the loss", underflow(loss.expr, point))] if value == 0 else []
    found += [
        (f"∂l/∂{label}", underflow(calculus.off_steps(d), point))
        for label, d, v in zip(labels, flat, values, strict=True)
        if v == 0
    ]
    said = [f"{what} is {tiny}" for what, tiny in found if tiny]
    if not said:
        return []
    return [
        "exactly, " + "; ".join(said) + ": smaller in size than the smallest float (about "
        "4.9e-324), so 0 as a float."
    ]


def _number_latex(v: float) -> str:
    text = f"{v:.10g}"
    mantissa, e, exponent = text.partition("e")
    return rf"{mantissa} \cdot 10^{{{int(exponent)}}}" if e else text


def gradient_latex(problem: Problem, values: list[float]) -> str:
    """The gradient as LaTeX `bmatrix`es: each weight's partials (where SymPy writes
    them within its share of the budget), then their values at the point."""
    from gdcli.latex import bmatrix, latex

    names = problem.names
    symbolic: dict[str, list[str]] | None = None
    if sum(math.prod(problem.weights[n]) for n in names) <= EXACT_ENTRIES:
        try:
            with time_limit(PARTIALS_SECONDS):
                partials = calculus.partials(problem.loss)
                symbolic = {n: [latex(d) for d in partials[n]] for n in names}
        except TooSlow:
            symbolic = None

    def grid(cells: list[str], shape: tuple[int, ...]) -> str:
        if len(shape) == 2:
            rows = [cells[i * shape[1] : (i + 1) * shape[1]] for i in range(shape[0])]
        else:
            rows = [[c] for c in cells]
        return bmatrix(rows)

    shown = [_number_latex(v) for v in values]
    if all(not problem.weights[n] for n in names):  # numbers: one gradient vector
        parts = [rf"\nabla l({', '.join(names)})"]
        if symbolic is not None:
            parts.append(grid([symbolic[n][0] for n in names], (len(names),)))
        parts.append(grid(shown, (len(names),)))
        return " = ".join(parts)
    lines, k = [], 0
    for n in names:
        shape = problem.weights[n]
        size = math.prod(shape)
        parts = [rf"\frac{{\partial l}}{{\partial {n}}}"]
        if symbolic is not None:
            parts.append(grid(symbolic[n], shape) if shape else symbolic[n][0])
        parts.append(grid(shown[k : k + size], shape) if shape else shown[k])
        lines.append(" = ".join(parts))
        k += size
    return r",\quad ".join(lines)


def grad(problem: Problem, latex: bool = False) -> Report:
    names = problem.names
    shapes = problem.weights
    labels = [label for n in names for label in entry_labels(n, shapes[n])]
    small = len(labels) <= EXACT_ENTRIES
    formulas: dict[str, str] = {}
    texts: list[str] | None = None
    if problem.has_arrays:  # the reverse pass; the partials' text where they are few
        value, values, formulas, kink = _engine(problem)
        texts = _partials_text(problem) if small else None
    else:  # numbers only: every partial exactly (SymPy), then rounded once
        value, values, texts, kink = _exact(problem)
    bad = [label for label, v in zip(labels, values, strict=True) if not math.isfinite(v)]
    if not math.isfinite(value) or bad:
        where = f"∂l/∂{bad[0]}" if bad else "the loss"
        raise NumericalError(
            f"{where} is not a real number at this point",
            hint="the loss is undefined or not differentiable there",
        )

    gradient: dict[str, Any] = {}
    partial_text: dict[str, Any] = {}
    k = 0
    for n in names:
        size = math.prod(shapes[n])
        gradient[n] = nested(values[k : k + size], shapes[n])
        if texts is not None:
            partial_text[n] = nested(texts[k : k + size], shapes[n])
        k += size
    at = {n: nested([float(v) for v in entries(problem.point[n])], shapes[n]) for n in names}
    data: dict[str, Any] = {
        "expression": problem.text,
        "variables": names,
        "at": at,
        "loss": value,
    }
    if texts is not None:
        data["partials"] = partial_text
    if formulas:
        data["formula"] = formulas
    data["gradient"] = gradient
    data["indexing"] = "1-based: W[i,j] is row i, column j; in partials it is the symbol W_i_j"
    if latex:
        data["latex"] = gradient_latex(problem, values)

    if texts is not None:
        records = Table(
            ["variable", "partial", "value"],
            [[label, text, v] for label, text, v in zip(labels, texts, values, strict=True)],
            title="partial derivatives (every other entry held constant)",
        )
    else:
        records = Table(
            ["variable", "value"],
            [[label, v] for label, v in zip(labels, values, strict=True)],
            title="the gradient, entry by entry",
        )
    tables = [records]
    if formulas:
        tables.append(
            _formula_table(
                formulas, "the gradient in matrix form (the chain rule through the loss's layers)"
            )
        )
    tables += _matrix_tables(names, shapes, gradient)
    gnorm = math.hypot(*values)  # no square underflows (1e-200) or overflows (1e200)
    notes = []
    roles = roles_note(names, list(problem.inputs), problem.chosen)
    if roles:
        notes.append(roles)
    tiny = []
    if not problem.has_arrays and (value == 0 or 0 in values):
        tiny = _underflows(problem, labels, value, values)
    floats = " as floats" if tiny else ""  # the exact values follow
    notes.append(
        f"loss {value:.10g} at this point; the gradient's norm is {gnorm:.10g}{floats}. "
        "Gradient descent moves every weight against its own partial: W = W - lr * ∂l/∂W."
    )
    notes += tiny
    for n, text in formulas.items():
        notes.append(
            f"∂l/∂{n} = {text}: one formula for every entry at once, built by the chain rule "
            "from the loss back to the weight."
        )
    if kink:
        notes.append("this point is on a kink: " + SUBGRADIENT.removeprefix("at a kink ") + ".")
    if any(shapes[n] for n in names):
        notes.append(
            "entries are numbered from 1 (W[1,1] is the top-left)"
            + ("; in the partials W[i,j] is written W_i_j." if texts is not None else ".")
        )
    if texts is None:
        why = f"above {EXACT_ENTRIES} entries" if not small else "they are too long to write"
        notes.append(
            f"{len(labels)} entries: the partials one by one are left out ({why}); the values "
            "come from the reverse pass, in floating point."
        )
    if latex:
        tables.append(Table(["latex"], [[data["latex"]]], records=False))
    quiet: list[Any] = [data["latex"]] if latex else list(values)
    return Report(data, tables, constant(quiet), notes=constant(notes))


# ---------------------------------------------------------------------------
# on training data: the mean over the examples, and each example's own gradient

CHUNK = 4096  # examples per pass when each example's gradient is wanted


def grad_on_data(problem: Problem, data: Data, per_example: bool = False) -> Report:
    """The gradient of the mean loss over the examples, each weight's formula for one
    example (its mean is the gradient), and with `per_example` every example's own
    loss and gradient, then their mean."""
    from gdcli.data import engine_values
    from gdcli.engine import lower
    from gdcli.engine.kinks import on_a_kink

    names = problem.names
    shapes = problem.weights
    labels = [label for n in names for label in entry_labels(n, shapes[n])]
    graph = lower(problem.text, shapes, problem.example_shapes, batched=True)
    values = engine_values(problem, data)
    value, grads = graph.value_and_grad(values)
    flat = flatten([grads[n] for n in names])
    bad = [label for label, v in zip(labels, flat, strict=True) if not math.isfinite(v)]
    if not math.isfinite(value) or bad:
        where = f"∂l/∂{bad[0]}" if bad else "the loss"
        raise NumericalError(
            f"{where} is not a real number at this point (the mean over the examples)",
            hint="the loss is undefined or not differentiable there for some example",
        )
    formulas = {n: graph.gradient_text(n) for n in names}
    kink = on_a_kink(graph, graph.forward(values))
    gradient = {n: nested(flatten([grads[n]]), shapes[n]) for n in names}
    at = {n: nested([float(v) for v in entries(problem.point[n])], shapes[n]) for n in names}
    head: dict[str, Any] = {
        "expression": problem.text,
        "variables": names,
        "at": at,
        "data": data_summary(data),
        "loss": value,
        "formula": formulas,
        "gradient": gradient,
        "indexing": "1-based: W[i,j] is row i, column j",
    }

    def examples() -> Iterator[tuple[int, float, list[float]]]:
        """(row number, loss, gradient entries) of every example, CHUNK at a time."""
        for lo in range(0, data.size, CHUNK):
            part = slice(lo, min(lo + CHUNK, data.size))
            losses, each = graph.per_example(engine_values(problem, data, part))
            rows = data.row_numbers(part)
            stacked = [each[n].reshape(len(rows), -1) for n in names]
            for k, row in enumerate(rows):
                yield row, float(losses[k]), [float(v) for g in stacked for v in g[k]]

    sums = [0.0] * len(labels)
    loss_sum = [0.0]

    def adding(rows: Iterator[tuple[int, float, list[float]]]) -> Iterator[Any]:
        for row, loss, g in rows:
            loss_sum[0] += loss
            for j, v in enumerate(g):
                sums[j] += v
            yield row, loss, g

    def mean() -> list[float]:
        return [v / data.size for v in sums]

    def records() -> Iterator[dict[str, Any]]:
        for row, loss, g in adding(examples()):
            yield {"row": row, "loss": loss, "grad": _keyed(g, names, shapes)}

    def table_rows() -> Iterator[list[Any]]:
        for row, loss, g in adding(examples()):
            yield [row, loss, *g]
        yield ["mean", loss_sum[0] / data.size, *mean()]

    def tail() -> dict[str, Any]:
        if not per_example:
            return {}
        return {
            "per_example_mean": {
                "loss": loss_sum[0] / data.size,
                "grad": _keyed(mean(), names, shapes),
            }
        }

    if per_example:
        tables = [
            Table(
                ["row", "loss", *(f"grad_{label}" for label in labels)],
                table_rows(),
                title="each example's loss and gradient (the last row, mean, is the gradient)",
                head_tail=10 if data.size > 40 else None,
            )
        ]
    else:
        tables = [
            Table(
                ["variable", "value"],
                [[label, v] for label, v in zip(labels, flat, strict=True)],
                title="the gradient, entry by entry (the mean over the examples)",
            )
        ]
    tables.append(
        _formula_table(
            formulas,
            "the gradient of one example's loss (its mean over the examples is the gradient)",
        )
    )
    tables += _matrix_tables(names, shapes, gradient)
    gnorm = math.hypot(*flat)
    notes = [data_sentence(data)]
    roles = roles_note(names, [*problem.inputs, *problem.columns], problem.chosen)
    if roles:
        notes.append(roles)
    notes.append(
        f"loss {value:.10g} (the mean over the {data.size} examples) at this point; the "
        f"gradient's norm is {gnorm:.10g}. Gradient descent moves every weight against its "
        "own partial: W = W - lr * ∂l/∂W."
    )
    for n, text in formulas.items():
        notes.append(
            f"∂l/∂{n} = mean over the examples of {text}: the chain rule through one example's "
            "loss, averaged."
        )
    if per_example:
        notes.append(
            "each row is one example's gradient; their mean (the last row) is the gradient of "
            "the mean loss, the full gradient."
        )
    if kink:
        notes.append("some example sits on a kink: " + SUBGRADIENT.removeprefix("at a kink ") + ".")
    return Report(
        head,
        tables,
        constant(flat),
        rows_key="per_example" if per_example else None,
        records=records() if per_example else (),
        tail=tail,
        notes=constant(notes),
    )


def _keyed(flat: list[float], names: list[str], shapes: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    k = 0
    for n in names:
        size = math.prod(shapes[n])
        out[n] = nested(flat[k : k + size], shapes[n])
        k += size
    return out


def _formula_table(formulas: dict[str, str], title: str) -> Table:
    """Each weight's gradient as one formula (∂l/∂W = ...)."""
    rows = [[f"∂l/∂{n}", text] for n, text in formulas.items()]
    return Table(["variable", "formula"], rows, title=title, records=False)


def _matrix_tables(
    names: list[str], shapes: dict[str, Any], gradient: dict[str, Any]
) -> list[Table]:
    """Each matrix weight's gradient laid out like the weight (rows and columns from 1)."""
    return [
        Table(
            [f"∂l/∂{n}", *[f"col {j + 1}" for j in range(shapes[n][1])]],
            [[f"row {i + 1}", *row] for i, row in enumerate(gradient[n])],
            title=f"gradient ∂l/∂{n} ({shapes[n][0]}x{shapes[n][1]}, like {n})",
            records=False,
        )
        for n in names
        if len(shapes[n]) == 2
    ]
