"""Sentences more than one report says, written once."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gdcli.parse.options import show_value

if TYPE_CHECKING:
    from gdcli.calculus import SlopeAt
    from gdcli.data import Data, Training
    from gdcli.problem import Problem

SUBGRADIENT = (
    "at a kink SymPy's derivative takes Heaviside(0) = 1/2 and sign(0) = 0, "
    "so d/dw max(0, w) at w = 0 is 1/2 and d/dw abs(w) at 0 is 0; "
    "descend and grad use that value as the subgradient"
)


def subgradient_note() -> str:
    return SUBGRADIENT + "."


def kink_note(name: str, at: Any, s: SlopeAt) -> str:
    """Why there is no slope at `at`, from the one-sided slopes (or the jump)."""
    if s.jump is not None:
        before, after = s.jump
        return (
            f"not differentiable at {name} = {show_value(at)}: l jumps there (from "
            f"{before:.10g} just left to {after:.10g} just right, {s.loss:.10g} at the point), "
            "so on the side of the jump the quotients grow like 1/h: no slope there."
        )
    left = "undefined or infinite" if s.left is None else f"{s.left:.10g}"
    right = "undefined or infinite" if s.right is None else f"{s.right:.10g}"
    text = (
        f"not differentiable at {name} = {show_value(at)}: the slope from the left is {left}, "
        f"from the right {right}."
    )
    if s.convention is not None:
        text += (
            f" SymPy's derivative gives {s.convention:.10g} there (Heaviside(0) = 1/2, "
            "sign(0) = 0); descend and grad use that value as the subgradient."
        )
    return text


def roles_note(weights: Sequence[str], inputs: Sequence[str], chosen: str | None) -> str | None:
    """Which names move (weights) and which are fixed (inputs), when it is worth saying."""
    if not inputs and chosen is None:
        return None
    text = "weights (they move): " + ", ".join(weights)
    if inputs:
        text += "; inputs (fixed): " + ", ".join(inputs)
    if chosen is not None:
        text += f". {chosen} is the weight because it is the loss's only name without a value"
    return text + "."


def underflow(expr: Any, point: dict[Any, Any]) -> str:
    """The exact value of expr at the point, to 3 digits, where it is not 0 but its
    float is (1/w**2 at 1e300: 1e-600); "" otherwise."""
    import sympy as sp

    from gdcli.budget import time_limit

    try:
        with time_limit(1.0):
            value = sp.N(expr.xreplace(point), 3)
    except Exception:  # noqa: BLE001 - no exact value (or not in time): nothing to add
        return ""
    if not (value.is_real and value.is_finite) or value == 0:
        return ""
    mantissa, _, exponent = str(value).partition("e")
    return f"{float(mantissa):.3g}e{int(exponent)}" if exponent else ""


def problem_roles(problem: Problem) -> list[str]:
    """`roles_note` of a problem (its data columns are inputs too), as a list of notes."""
    note = roles_note(list(problem.weights), [*problem.inputs, *problem.columns], problem.chosen)
    return [note] if note else []


def sample(f: Any, lo: float, hi: float, n: int) -> tuple[list[float], list[float]]:
    """n points of f from lo to hi, both included."""
    xs = [lo + (hi - lo) * k / (n - 1) for k in range(n)]
    return xs, [f(x) for x in xs]


def finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def data_summary(data: Data) -> dict[str, Any]:
    """Training data as JSON: the file, its examples and the columns the loss reads."""
    first, last = data.first_last()
    return {
        "file": data.name,
        "examples": data.size,
        "rows": [first, last],
        "columns": {n: list(cs) for n, cs in data.groups.items()},
        "loss": "the mean over the examples of the loss written per example",
        "row_numbers": "as a spreadsheet shows them: the header is row 1, the first example row 2",
    }


def training_summary(training: Training) -> dict[str, Any]:
    """Training data and its mini-batches as JSON (descend, compare, sweep)."""
    batches = training.batches
    return {
        **data_summary(training.data),
        "batch_size": batches.size,
        "batches_per_epoch": batches.per_epoch,
        "shuffle": batches.shuffle,
        "seed": batches.seed,
        "epochs": training.epochs,
    }


def data_sentence(data: Data) -> str:
    """The course's words for what the data do to the loss."""
    first, last = data.first_last()
    columns = ", ".join(
        n if cs == (n,) else f"{n} = ({', '.join(cs)})" for n, cs in data.groups.items()
    )
    return (
        f"training data: {data.size} examples of {data.name} (rows {first}-{last}; columns "
        f"{columns}). The loss is written for one example, and gdcli takes its mean over "
        "the examples: the loss that shows us how wrong the model is."
    )
