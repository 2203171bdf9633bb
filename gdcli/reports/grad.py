"""grad: one partial derivative per weight entry, and the gradient (same shape as W)."""

from __future__ import annotations

import math
from typing import Any

from gdcli import calculus
from gdcli.errors import NumericalError
from gdcli.limits import EXACT_ENTRIES
from gdcli.params import entries, nested
from gdcli.problem import Problem
from gdcli.reports.base import Report, Table, constant
from gdcli.reports.words import SUBGRADIENT, roles_note


def grad(problem: Problem) -> Report:
    loss = problem.loss
    names = list(loss.variables)
    partials = calculus.partials(loss)
    point = problem.substitution()
    flat_partials = [d for n in names for d in partials[n]]
    if len(flat_partials) <= EXACT_ENTRIES:
        value = calculus.value_at(loss.expr, point)
        values = [calculus.value_at(d, point) for d in flat_partials]
    else:  # many entries: the compiled float evaluation, from the partials just found
        from gdcli.compile.codegen import build

        value, values = build(loss, flat_partials).evaluate(problem.floats())
    labels = [label for n in names for label in loss.entry_names(n)]
    bad = [label for label, v in zip(labels, values, strict=True) if not math.isfinite(v)]
    if not math.isfinite(value) or bad:
        where = f"∂l/∂{bad[0]}" if bad else "the loss"
        raise NumericalError(
            f"{where} is not a real number at this point",
            hint="the loss is undefined or not differentiable there",
        )

    texts = [str(d) for d in flat_partials]  # printing is slow for big W: once
    gradient: dict[str, Any] = {}
    partial_text: dict[str, Any] = {}
    k = 0
    for n in names:
        size = len(partials[n])
        shape = loss.shapes[n]
        gradient[n] = nested(values[k : k + size], shape)
        partial_text[n] = nested(texts[k : k + size], shape)
        k += size
    at = {n: nested([float(v) for v in entries(problem.point[n])], loss.shapes[n]) for n in names}
    data = {
        "expression": loss.text,
        "variables": names,
        "at": at,
        "loss": value,
        "partials": partial_text,
        "gradient": gradient,
        "indexing": "1-based: W[i,j] is row i, column j; in partials it is the symbol W_i_j",
    }
    records = Table(
        ["variable", "partial", "value"],
        [[label, text, v] for label, text, v in zip(labels, texts, values, strict=True)],
        title="partial derivatives (every other entry held constant)",
    )
    tables = [records]
    for n in names:
        shape = loss.shapes[n]
        if len(shape) == 2:
            rows = gradient[n]
            tables.append(
                Table(
                    [f"∂l/∂{n}", *[f"col {j + 1}" for j in range(shape[1])]],
                    [[f"row {i + 1}", *row] for i, row in enumerate(rows)],
                    title=f"gradient ∂l/∂{n} ({shape[0]}x{shape[1]}, like {n})",
                    records=False,
                )
            )
    gnorm = sum(v * v for v in values) ** 0.5
    notes = []
    roles = roles_note(names, list(problem.inputs), problem.chosen)
    if roles:
        notes.append(roles)
    notes += [
        f"loss {value:.10g} at this point; the gradient's norm is {gnorm:.10g}. "
        "Gradient descent moves every weight against its own partial: W = W - lr * ∂l/∂W."
    ]
    if calculus.kink_candidates(loss.expr, point):
        notes.append("this point is on a kink: " + SUBGRADIENT.removeprefix("at a kink ") + ".")
    if any(loss.shapes[n] for n in names):
        notes.append(
            "entries are numbered from 1 (W[1,1] is the top-left); in the partials "
            "W[i,j] is written W_i_j."
        )
    return Report(data, tables, constant(values), notes=constant(notes))
