"""A loss compiled to plain Python floats: what `descend` runs, with no SymPy."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from gdcli.compile.verify import load, math_namespace, numpy_namespace, verify
from gdcli.descent import Outcome, check_start
from gdcli.limits import MAX_ENTRIES, MAX_LENGTH
from gdcli.optimizers import Optimizer
from gdcli.params import Params, Shape, flatten, unflatten
from gdcli.stopping import DIVERGED, StopRule


class Fused(NamedTuple):
    outcome: Outcome
    params: list[float]  # flat
    loss: float


class Compiled:
    """What an expression compiles to: the loss and its gradient in one function of
    the flat weight entries, l'' for one scalar weight, and a fused loop of plain
    gradient descent for scalar weights."""

    kind = "scalar"

    def __init__(
        self,
        text: str,
        variables: tuple[str, ...],
        shapes: dict[str, Shape],
        source: str,
        has_kink: bool,
    ) -> None:
        self.text = text
        self.variables = variables
        self.shapes = shapes
        self.source = source
        self.has_kink = has_kink
        verify(self.source)
        self.functions = load(self.source, math_namespace())
        self.size = sum(math.prod(s) for s in self.shapes.values())

    def evaluate_params(self, params: Params) -> tuple[float, Params]:
        """(loss, gradient) at a point given per weight (the descent loop's view)."""
        loss, grad = self.evaluate(flatten(params))
        return loss, unflatten(grad, [self.shapes[n] for n in self.variables])

    def evaluate(self, x: Sequence[float]) -> tuple[float, list[float]]:
        """(loss, gradient) at the flat point x; nan where undefined or complex, and
        a signed inf where a value overflows."""
        try:
            loss, grad = self.functions["value_and_grad"](*x)
        except OverflowError:
            return self._with_numpy(x)
        except (ValueError, ZeroDivisionError, TypeError):
            return math.nan, [math.nan] * self.size
        values = [loss, *grad]
        if any(isinstance(v, complex) for v in values):
            return math.nan, [math.nan] * self.size
        return float(loss), [float(g) for g in grad]

    def _with_numpy(self, x: Sequence[float]) -> tuple[float, list[float]]:
        """math raises on overflow; the same source over NumPy float64 gives ±inf."""
        import numpy as np

        functions = load(self.source, numpy_namespace())
        with np.errstate(all="ignore"):
            try:
                loss, grad = functions["value_and_grad"](*(np.float64(v) for v in x))
            except (ValueError, ZeroDivisionError, TypeError, OverflowError):
                return math.nan, [math.nan] * self.size
        return float(loss), [float(g) for g in grad]

    def curvature(self, x: float) -> float | None:
        """l''(x) for a loss of one scalar weight (None where undefined)."""
        f = self.functions.get("curvature")
        if f is None:
            return None
        try:
            value = f(x)
        except (ValueError, ZeroDivisionError, TypeError, OverflowError):
            return None
        if isinstance(value, complex) or not math.isfinite(value):
            return None
        return float(value)

    def hessian(self, params: Params) -> list[list[float]] | None:
        """The matrix of second derivatives at a point (None where not generated or
        not defined)."""
        f = self.functions.get("hessian")
        if f is None:
            return None
        x = flatten(params)
        try:
            flat = f(*x)
        except (ValueError, ZeroDivisionError, TypeError, OverflowError):
            return None
        if any(isinstance(v, complex) or not math.isfinite(v) for v in flat):
            return None
        n = len(x)
        return [[float(flat[i * n + j]) for j in range(n)] for i in range(n)]

    def fused_sgd(self, start: Params, optimizer: Optimizer, rule: StopRule) -> Fused | None:
        """Plain SGD on scalar weights in one generated loop: the arithmetic and the
        stop rule of `Descent`, without a function call per step. None where it does
        not apply (another update rule, array weights, a value that raised on the way:
        the step loop then finds out where and why)."""
        loop: Callable[..., Any] | None = self.functions.get("sgd")
        hyper = optimizer.hyperparameters()
        if loop is None or optimizer.name != "sgd" or hyper.get("momentum"):
            return None
        if not isinstance(optimizer.lr, float):
            return None
        x = flatten(start)
        loss, grad = check_start(self.evaluate_params, start)
        grad = flatten(grad)
        limit = rule.limit(loss)
        decay = float(hyper.get("weight_decay", 0.0))
        try:
            status, k, params, loss, grad = loop(
                *x, optimizer.lr, decay, rule.steps, rule.tol, limit, loss, *grad
            )
        except (ValueError, OverflowError, ZeroDivisionError, TypeError):
            return None
        params, loss, grad = [float(p) for p in params], float(loss), [float(g) for g in grad]
        if status == "error":  # a weight became inf or nan during the update
            loss, grad = math.nan, [math.nan] * len(params)
        if status in ("error", DIVERGED):
            reason = rule.divergence(params, loss, grad, limit)
            return Fused(Outcome(DIVERGED, k, reason), params, loss)
        return Fused(Outcome(status, k), params, loss)

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "variables": list(self.variables),
            "shapes": {k: list(v) for k, v in self.shapes.items()},
            "source": self.source,
            "has_kink": self.has_kink,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Compiled:
        """An entry read from disk: data to distrust. ValueError unless every field has
        the type and the size gdcli writes (and the source passes `verify`)."""
        text, variables, shapes = data["text"], data["variables"], data["shapes"]
        source, kink = data["source"], data["has_kink"]
        if not (isinstance(text, str) and len(text) <= MAX_LENGTH and isinstance(source, str)):
            raise ValueError("text or source of the wrong type or size")
        if not (isinstance(variables, list) and 0 < len(variables) <= MAX_ENTRIES):
            raise ValueError("variables of the wrong type or size")
        if not all(isinstance(v, str) and v.isidentifier() for v in variables):
            raise ValueError("a variable that is not a name")
        if not (isinstance(shapes, dict) and sorted(shapes) == sorted(variables)):
            raise ValueError("shapes that do not match the variables")
        sizes = []
        for shape in shapes.values():
            if not (isinstance(shape, list) and len(shape) <= 2):
                raise ValueError("a shape of the wrong type")
            if not all(type(n) is int and 1 <= n <= MAX_ENTRIES for n in shape):
                raise ValueError("a shape of the wrong size")
            sizes.append(math.prod(shape))
        if sum(sizes) > MAX_ENTRIES or not isinstance(kink, bool):
            raise ValueError("too many entries")
        return cls(
            text=text,
            variables=tuple(variables),
            shapes={k: tuple(v) for k, v in shapes.items()},
            source=source,
            has_kink=kink,
        )
