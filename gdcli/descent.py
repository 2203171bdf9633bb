"""The descent loop: a stream of `Step` records, with the stopping rules of the
design (converged, max_steps, diverged).

Parameters travel as a list with one entry per weight: a float for a scalar
weight, a float64 ndarray for a vector or matrix. The loss and its gradient are
compiled once into one float function of the flat entries.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from gdcli.errors import BadInput, NumericalError

if TYPE_CHECKING:
    from gdcli.expression import Loss

DIVERGENCE_FACTOR = 1e12  # |loss| > 1e12 * max(1, |loss at the start|) counts as diverged

Params = list[Any]  # float | numpy.ndarray, one per weight
Evaluator = Callable[[Sequence[float]], tuple[float, list[float]]]


class Step:
    """The point after `step` updates (step 0 is the start)."""

    __slots__ = ("step", "params", "loss", "grad", "state")

    def __init__(
        self,
        step: int,
        params: Params,
        loss: float,
        grad: Params,
        state: dict[str, Params] | None = None,
    ) -> None:
        self.step = step
        self.params = params
        self.loss = loss
        self.grad = grad
        self.state = state


def fused_sgd(
    compiled: Any, start: Params, optimizer: Any, steps: int, tol: float
) -> tuple[tuple[str, int, str], list[float], float] | None:
    """Plain SGD on scalar weights in one generated loop (the same arithmetic and
    stopping rules as `Descent`, without a function call per step). Returns
    ((status, step, reason), final params, final loss), or None where it does not
    apply (another update rule, array weights, a value that raised on the way)."""
    loop = compiled.fused_sgd()
    hyper = optimizer.hyperparameters() if hasattr(optimizer, "hyperparameters") else {}
    if loop is None or optimizer.name != "sgd" or hyper.get("momentum") or steps < 1:
        return None
    if not isinstance(optimizer.lr, float):
        return None
    x = flatten(start)
    loss, grad = compiled.evaluate(x)
    if not (math.isfinite(loss) and finite(grad)):
        raise NumericalError(
            "the loss or its gradient is not a real number at the start",
            hint="choose another --start (is the loss defined there?)",
        )
    limit = DIVERGENCE_FACTOR * max(1.0, abs(loss))
    try:
        status, k, params, loss, grad = loop(
            *x, optimizer.lr, float(hyper.get("weight_decay", 0.0)), steps, tol, limit, loss, *grad
        )
    except (ValueError, OverflowError, ZeroDivisionError, TypeError):
        return None  # a value raised mid-run: the general loop finds out where and why
    params, loss, grad = [float(p) for p in params], float(loss), [float(g) for g in grad]
    if status == "error":  # a weight became inf or nan during the update
        loss, grad = math.nan, [math.nan] * len(params)
    if status in ("error", "diverged"):
        return ("diverged", k, divergence(params, loss, grad, limit)), params, loss
    return (status, k, ""), params, loss


def flatten(params: Params) -> list[float]:
    out: list[float] = []
    for p in params:
        if isinstance(p, float):
            out.append(p)
        else:
            out.extend(float(v) for v in p.ravel())
    return out


def unflatten(flat: Sequence[float], shapes: Sequence[tuple[int, ...]]) -> Params:
    out: Params = []
    k = 0
    for shape in shapes:
        if not shape:
            out.append(float(flat[k]))
            k += 1
        else:
            import numpy as np

            size = math.prod(shape)
            out.append(np.array(flat[k : k + size], dtype=float).reshape(shape))
            k += size
    return out


def norm(values: Sequence[float]) -> float:
    return math.sqrt(math.fsum(v * v for v in values)) if values else 0.0


def finite(values: Sequence[float]) -> bool:
    return all(map(math.isfinite, values))


class Outcome:
    """How a run ended: converged | max_steps | diverged, at which step, and why."""

    def __init__(self) -> None:
        self.status = "running"
        self.step = 0  # the last step taken
        self.reason = ""


class Descent:
    """Iterate to get the steps; afterwards `outcome` says how the run ended."""

    def __init__(
        self,
        evaluate: Evaluator,
        start: Params,
        shapes: Sequence[tuple[int, ...]],
        optimizer: Any,
        steps: int,
        tol: float = 1e-8,
        show_state: bool = False,
    ) -> None:
        if steps < 1:
            raise BadInput(f"--steps must be at least 1 (got {steps})")
        if not (math.isfinite(tol) and tol >= 0):
            raise BadInput(f"--tol must be a finite number >= 0 (got {tol})")
        self.evaluate = evaluate
        self.start = start
        self.shapes = list(shapes)
        self.optimizer = optimizer
        self.steps = steps
        self.tol = tol
        self.show_state = show_state
        self.outcome = Outcome()
        # checked now, so an undefined start is an error before any output is written
        self.first = self.evaluate(flatten(start))
        if not (math.isfinite(self.first[0]) and finite(self.first[1])):
            raise NumericalError(
                "the loss or its gradient is not a real number at the start",
                hint="choose another --start (is the loss defined there?)",
            )

    def _state(self) -> dict[str, Params] | None:
        return self.optimizer.state() if self.show_state else None

    def __iter__(self) -> Iterator[Step]:
        params = self.start
        loss, grad = self.first
        limit = DIVERGENCE_FACTOR * max(1.0, abs(loss))
        yield Step(0, params, loss, unflatten(grad, self.shapes), self._state())
        out = self.outcome
        for k in range(1, self.steps + 1):
            if norm(grad) <= self.tol:
                out.status, out.step = "converged", k - 1
                return
            params = self.optimizer.step(params, unflatten(grad, self.shapes))
            flat = flatten(params)
            loss, grad = self.evaluate(flat) if finite(flat) else (math.nan, [math.nan] * len(flat))
            yield Step(k, params, loss, unflatten(grad, self.shapes), self._state())
            healthy = math.isfinite(loss) and abs(loss) <= limit and finite(flat)
            reason = "" if healthy and finite(grad) else divergence(flat, loss, grad, limit)
            if reason:
                out.status, out.step, out.reason = "diverged", k, reason
                return
        out.status, out.step = ("converged" if norm(grad) <= self.tol else "max_steps"), self.steps


def divergence(flat: Sequence[float], loss: float, grad: Sequence[float], limit: float) -> str:
    """Why a step counts as diverged, or '' if it does not."""
    if not finite(flat):
        return "a weight became inf or nan"
    if math.isnan(loss):
        return "the loss became nan or complex (undefined)"
    if math.isinf(loss):
        return "the loss overflowed to inf"
    if abs(loss) > limit:
        return f"|loss| = {abs(loss):.3g} exceeded 1e12 x max(1, |loss at the start|)"
    if not finite(grad):
        return "the gradient became inf, nan or complex"
    return ""


# ---------------------------------------------------------------------------
# many runs at once (sweep): every run is one entry of NumPy arrays


def compile_vectorised(loss: Loss) -> Callable[[list[Any]], tuple[Any, list[Any]]]:
    """The loss and its gradient over arrays: one entry per run (a sweep)."""
    import numpy as np

    from gdcli.compiled import vectorised

    raw = vectorised(loss)

    def evaluate(x: list[Any]) -> tuple[Any, list[Any]]:
        shape = np.shape(x[0])
        with np.errstate(all="ignore"):
            values = raw(*x)
        out = []
        for v in values:
            a = np.asarray(v)
            if np.iscomplexobj(a):
                a = np.where(a.imag == 0, a.real, np.nan)
            if a.dtype != np.float64:
                a = a.astype(float)
            out.append(a if a.shape == shape else np.broadcast_to(a, shape))
        return out[0], out[1:]

    return evaluate


class SweepResult(NamedTuple):
    status: list[str]
    steps_used: Any  # int array
    final_loss: Any  # float array
    final_params: list[Any]  # one float array per entry
    oscillating: Any  # bool array


CONVERGED, DIVERGED, MAX_STEPS, RUNNING = "converged", "diverged", "max_steps", "running"
OSCILLATION_STEPS = 20  # updates alternating in sign this many times in a row


def sweep(
    evaluate: Callable[[list[Any]], tuple[Any, list[Any]]],
    starts: list[Any],
    optimizer: Any,
    steps: int,
    tol: float = 1e-8,
) -> SweepResult:
    """Run all runs at once: `starts` holds one float array per entry (one value
    per run) and `optimizer.lr` one learning rate per run. The stopping rules are
    those of `Descent`, run by run; a stopped run's parameters are frozen (so its
    loss, evaluated again at the frozen point, stays the one it stopped with)."""
    import numpy as np

    if steps < 1:
        raise BadInput(f"--steps must be at least 1 (got {steps})")
    if not (math.isfinite(tol) and tol >= 0):
        raise BadInput(f"--tol must be a finite number >= 0 (got {tol})")
    params = [np.asarray(p, dtype=float) for p in starts]
    n = params[0].shape[0]
    loss, grad = evaluate(params)
    codes = np.zeros(n, dtype=np.int8)  # 0 running, 1 converged, 2 diverged, 3 max_steps
    steps_used = np.zeros(n, dtype=int)
    bad = ~_finite_arrays([loss, *grad])
    codes[bad] = 2
    active = ~bad
    limit = DIVERGENCE_FACTOR * np.maximum(1.0, np.abs(np.where(bad, 0.0, loss)))
    alternations = np.zeros(n, dtype=int)
    previous_delta = np.zeros(n)
    # oscillation only matters for runs still going at the end: watch the last updates
    # (OSCILLATION_STEPS + 1 of them make OSCILLATION_STEPS comparisons of sign)
    watch_from = steps - OSCILLATION_STEPS - 1
    with np.errstate(all="ignore"):
        for k in range(1, steps + 1):
            done = active & (_norm(grad) <= tol)
            if done.any():
                codes[done], steps_used[done] = 1, k - 1
                active &= ~done
                if not active.any():
                    break
            new = optimizer.step(params, grad)
            if k > watch_from:
                delta = new[0] - params[0]
                alternations = np.where(delta * previous_delta < 0, alternations + 1, 0)
                previous_delta = delta
            params = [np.where(active, q, p) for q, p in zip(new, params, strict=True)]
            loss, grad = evaluate(params)
            diverged = active & ~(_finite_arrays([*params, *grad]) & (np.abs(loss) <= limit))
            if diverged.any():
                codes[diverged], steps_used[diverged] = 2, k
                active &= ~diverged
        ended = active & (_norm(grad) <= tol)
        codes[ended] = 1
        codes[active & ~ended] = 3
        steps_used[active] = steps
    names = (RUNNING, CONVERGED, DIVERGED, MAX_STEPS)
    status = [names[c] for c in codes.tolist()]
    oscillating = (codes == 3) & (alternations >= OSCILLATION_STEPS)
    return SweepResult(status, steps_used, loss, params, oscillating)


def _norm(grad: list[Any]) -> Any:
    import numpy as np

    return np.sqrt(grad[0] * grad[0] if len(grad) == 1 else sum(g * g for g in grad))


def _finite_arrays(arrays: list[Any]) -> Any:
    import numpy as np

    out = np.isfinite(arrays[0])
    for a in arrays[1:]:
        out &= np.isfinite(a)
    return out
