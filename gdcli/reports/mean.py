"""The loss over training data as a function of one weight: the mean over the
examples of the loss written per example, every other weight held at its value.

derive, slope and plot tell their story on it with the array engine's numbers
(float64): the loss, the slope from the reverse pass, the curve. Where some example
sits exactly on a kink the slopes either side are read a hair away, at two
distances, as the symbolic path does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gdcli.errors import NameRole, NumericalError
from gdcli.parse.options import show_value

if TYPE_CHECKING:
    from gdcli.data import Data
    from gdcli.problem import Problem

BESIDE = (1e-9, 1e-7)  # relative distances beside a kink where one-sided slopes are read


@dataclass(frozen=True)
class SlopeOnData:
    loss: float
    slope: float | None  # None where some example's kink makes the mean not differentiable
    differentiable: bool
    left: float | None
    right: float | None
    convention: float  # the engine's value at the point (Heaviside(0) = 1/2, sign(0) = 0)


class MeanLoss:
    """l(w) = mean over the examples, as a function of the weight `name`."""

    def __init__(self, problem: Problem, data: Data, name: str) -> None:
        from gdcli.data import engine_values
        from gdcli.engine import lower

        if problem.weights[name]:
            raise NameRole(name, "array")
        self.name = name
        self.data = data
        self.problem = problem
        self.graph = lower(problem.text, problem.weights, problem.example_shapes, batched=True)
        self.values = engine_values(problem, data)
        self.at = float(problem.start()[problem.names.index(name)])

    def _with(self, w: float) -> dict[str, Any]:
        values = dict(self.values)
        values[self.name] = float(w)
        return values

    def __call__(self, w: float) -> float:
        import numpy as np

        with np.errstate(all="ignore"):
            return float(np.mean(self.graph.evaluate(self._with(w))))

    def slope(self, w: float) -> float:
        return float(self.graph.value_and_grad(self._with(w))[1][self.name])

    @property
    def derivative(self) -> str:
        """dl/dw for one example (gdcli's language; its mean is the slope)."""
        return self.graph.gradient_text(self.name)

    def latex(self) -> str | None:
        """The per-example derivative in LaTeX (None where SymPy cannot read it)."""
        try:
            import sympy as sp

            from gdcli.parse.expression import parse_loss
            from gdcli.problem import to_sympy

            shapes = {**self.problem.weights, **self.problem.columns}
            constants = {n: to_sympy(v) for n, v in self.problem.inputs.items()}
            return str(sp.latex(parse_loss(self.derivative, shapes, constants).expr))
        except Exception:  # LaTeX is a courtesy: the text says it all
            return None

    def at_point(self) -> SlopeOnData:
        """The loss and the slope at the point, honest where some example has a kink."""
        from gdcli.engine.kinks import on_a_kink

        values = self._with(self.at)
        loss, grads = self.graph.value_and_grad(values)
        where = f"{self.name} = {show_value(self.problem.point[self.name])}"
        if not math.isfinite(loss):
            raise NumericalError(
                f"the mean loss over the examples is not a real number at {where}",
                hint="the loss is undefined there for some example",
            )
        convention = float(grads[self.name])
        if not math.isfinite(convention):
            raise NumericalError(f"the slope dl/d{self.name} is not a real number at {where}")
        if not on_a_kink(self.graph, self.graph.forward(values)):
            return SlopeOnData(loss, convention, True, convention, convention, convention)
        left, right = self._beside(-1), self._beside(+1)
        same = (
            left is not None
            and right is not None
            and abs(left - right) <= 1e-9 * max(1.0, abs(left), abs(right))
        )
        if same:
            return SlopeOnData(loss, convention, True, left, right, convention)
        return SlopeOnData(loss, None, False, left, right, convention)

    def _beside(self, side: int) -> float | None:
        scale = max(1.0, abs(self.at))
        near, far = (self.slope(self.at + side * d * scale) for d in BESIDE)
        if not (math.isfinite(near) and math.isfinite(far)):
            return None
        return near if abs(near - far) <= 1e-6 * max(1.0, abs(near)) else None


def kink_sentence(name: str, at: Any, s: SlopeOnData) -> str:
    left = "undefined" if s.left is None else f"{s.left:.10g}"
    right = "undefined" if s.right is None else f"{s.right:.10g}"
    return (
        f"not differentiable at {name} = {show_value(at)}: some example sits on a kink, so "
        f"the mean's slope from the left is {left}, from the right {right}. The engine's "
        f"value there is {s.convention:.10g} (Heaviside(0) = 1/2, sign(0) = 0), the "
        "subgradient descend uses."
    )
