"""The one stopping rule of every descent: the step loop, the sweep and the
generated loops all ask this object.

- converged: the gradient's Euclidean norm is <= tol (with tol = 0 only an exactly
  zero gradient stops early);
- diverged: a weight, the loss or the gradient becomes inf, nan or complex, or
  |loss| exceeds DIVERGENCE_FACTOR x max(1, |loss at the start|);
- max_steps: neither, after `steps` updates.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

from gdcli.errors import BadValue, TooLarge
from gdcli.limits import DIVERGENCE_FACTOR, MAX_UPDATES

CONVERGED, DIVERGED, MAX_STEPS = "converged", "diverged", "max_steps"
INTERRUPTED = "interrupted"  # Ctrl-C: not a rule, but how a run may end too


def finite(values: Sequence[Any]) -> bool:
    """Are all values (floats, or arrays of them) finite real numbers?"""
    for v in values:
        if isinstance(v, (float, int)):
            if not math.isfinite(v):
                return False
        elif not sys.modules["numpy"].isfinite(v).all():  # an array: numpy is loaded
            return False
    return True


def norm(values: Sequence[Any]) -> float:
    """The Euclidean norm of all the entries (floats, or arrays of them)."""
    if all(isinstance(v, (float, int)) for v in values):
        return math.sqrt(math.fsum(v * v for v in values)) if values else 0.0
    squares = [
        float(sys.modules["numpy"].vdot(v, v)) if hasattr(v, "shape") else v * v for v in values
    ]
    return math.sqrt(math.fsum(squares))


class StopRule:
    """When a run stops, and why. Validated once, here."""

    __slots__ = ("steps", "tol", "factor")

    def __init__(self, steps: int, tol: float = 1e-8, factor: float = DIVERGENCE_FACTOR) -> None:
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise BadValue("steps", f"must be at least 1 (got {steps})")
        if steps > MAX_UPDATES:
            shown = str(steps) if steps < 10**15 else f"{steps:.3g}"
            raise TooLarge("steps", f"is too many: at most {MAX_UPDATES} updates (got {shown})")
        if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol >= 0):
            raise BadValue("tol", f"must be a finite number >= 0 (got {tol})")
        self.steps = steps
        self.tol = float(tol)
        self.factor = factor

    def limit(self, start_loss: float) -> float:
        """The largest |loss| that does not count as diverged."""
        return self.factor * max(1.0, abs(start_loss))

    def converged(self, gradient_norm: float) -> bool:
        return gradient_norm <= self.tol

    def divergence(
        self, flat: Sequence[Any], loss: float, grad: Sequence[Any], limit: float
    ) -> str:
        """Why a point counts as diverged, or '' if it does not."""
        if not finite(flat):
            return "a weight became inf or nan"
        if math.isnan(loss):
            return "the loss became nan or complex (undefined)"
        if math.isinf(loss):
            return "the loss overflowed to inf"
        if abs(loss) > limit:
            return (
                f"|loss| = {abs(loss):.3g} exceeded {self.factor:g} x max(1, |loss at the start|)"
            )
        if not finite(grad):
            return "the gradient became inf, nan or complex"
        return ""
