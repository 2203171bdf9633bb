"""The descent loop: a one-shot generator of `Step` records under the stop rule,
and many runs at once (a sweep), one entry of NumPy arrays per run.

Parameters travel as a list with one entry per weight: a float for a scalar
weight, a float64 ndarray for a vector or matrix. The loss and its gradient come
from an evaluator of the flat entries, compiled once by the layer above.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, NamedTuple

from gdcli.errors import BadValue, NumericalError
from gdcli.limits import OSCILLATION_STEPS
from gdcli.optimizers import Optimizer

if TYPE_CHECKING:
    from gdcli.data import Batch, Batches
    from gdcli.schedules import Schedule
from gdcli.params import Params, flatten
from gdcli.stopping import CONVERGED, DIVERGED, MAX_STEPS, StopRule, finite, norm

Evaluator = Callable[[Params], tuple[float, Params]]  # the loss and its gradient at a point
OptimizerFactory = Callable[[], Optimizer]
ScheduleFactory = Callable[[], "Schedule"]


class Step:
    """The point after `step` updates (step 0 is the start). `after` is the point the
    next update leads to, once known (None for the last step), and `explain` that
    update's intermediate values per weight, when they were asked for.

    On training data (`BatchDescent`), `batch` is the batch of the next update and
    `loss`, `grad` are over its examples; the last step of a run that did not
    diverge has `batch` None, its loss and gradient over every example. `full` is
    (loss, gradient) over every example, where asked for."""

    __slots__ = (
        "step", "params", "loss", "grad", "state", "lr", "after", "explain", "batch", "full"
    )  # fmt: skip

    def __init__(
        self,
        step: int,
        params: Params,
        loss: float,
        grad: Params,
        state: dict[str, Params] | None = None,
        lr: float | None = None,
    ) -> None:
        self.step = step
        self.params = params
        self.loss = loss
        self.grad = grad
        self.state = state
        self.lr = lr
        self.after: Params | None = None
        self.explain: list[dict[str, Any]] | None = None
        self.batch: Batch | None = None
        self.full: tuple[float, Params] | None = None

    @property
    def epoch(self) -> int | None:
        """The epoch (from 1) of the batch of the next update, on training data."""
        return self.batch.epoch if self.batch is not None else None


class Outcome(NamedTuple):
    """How a run ended: converged | max_steps | diverged, at which step, and why."""

    status: str
    step: int  # the last step taken
    reason: str = ""


def check_start(evaluate: Evaluator, start: Params) -> tuple[float, Params]:
    """The loss and gradient at the start; an error when they are not real numbers
    (so that nothing is written for a run that cannot begin)."""
    loss, grad = evaluate(start)
    if not (math.isfinite(loss) and finite(grad)):
        values = [loss, *flatten(grad)]
        if not any(math.isnan(v) for v in values):  # exp(w) at 720: a float's range ends
            raise NumericalError(
                "the loss or its gradient at the start is beyond a float's range (±1.8e308)",
                hint="choose a start where the loss is smaller",
            )
        raise NumericalError(
            "the loss or its gradient is not a real number at the start",
            hint="choose another start (is the loss defined there?)",
        )
    return loss, grad


class Descent:
    """A run ready to go: the start checked. Each call of `run` is a fresh run with
    a fresh optimizer (its state starts empty), so it gives the same steps again."""

    def __init__(
        self,
        evaluate: Evaluator,
        start: Params,
        optimizer: OptimizerFactory,
        rule: StopRule,
        show_state: bool = False,
        schedule: ScheduleFactory | None = None,
        explain_steps: int = 0,
    ) -> None:
        self.evaluate = evaluate
        self.start = start
        self.optimizer = optimizer
        self.rule = rule
        self.show_state = show_state
        self.schedule = schedule
        self.explain_steps = explain_steps
        if schedule is not None:
            check_schedule(schedule(), optimizer(), rule.steps)
        self.first = check_start(evaluate, start)

    def run(self) -> Generator[Step, None, Outcome]:
        """The steps; the generator's return value is the outcome."""
        optimizer = self.optimizer()
        schedule = self.schedule() if self.schedule is not None else None
        if schedule is not None:
            from gdcli.schedules import apply
        rule, evaluate = self.rule, self.evaluate
        state = optimizer.state if self.show_state else None

        def lr() -> float | None:  # the lr of the next update, where a schedule sets it
            return float(schedule.lr) if schedule is not None else None

        params = self.start
        loss, grad = self.first
        limit = rule.limit(loss)
        optimizer.record = self.explain_steps > 0
        current = Step(0, params, loss, grad, state() if state else None, lr())
        yield current
        for k in range(1, rule.steps + 1):
            if rule.converged(norm(grad)):
                return Outcome(CONVERGED, k - 1)
            if schedule is not None:
                apply(schedule, optimizer)
            params = optimizer.step(params, grad)
            if optimizer.record:  # how the point before came to this one
                current.explain = optimizer.explained
                optimizer.record = k < self.explain_steps
            if schedule is not None:
                schedule.step(loss)  # the loss whose gradient this update used (plateau)
            moved = finite(params)
            loss, grad = evaluate(params) if moved else (math.nan, [p * math.nan for p in params])
            current = Step(k, params, loss, grad, state() if state else None, lr())
            yield current
            healthy = moved and math.isfinite(loss) and abs(loss) <= limit
            reason = "" if healthy and finite(grad) else rule.divergence(params, loss, grad, limit)
            if reason:
                return Outcome(DIVERGED, k, reason)
        return Outcome(CONVERGED if rule.converged(norm(grad)) else MAX_STEPS, rule.steps)


RowsEvaluator = Callable[[Params, Any], tuple[float, Params]]  # (point, examples or None)
# schedules torch's examples step after every batch; the others once per epoch
PER_BATCH = frozenset({"onecycle", "cyclic"})


class BatchDescent(Descent):
    """Mini-batch descent on training data. `evaluate(params, index)` gives the loss
    (the mean over the examples `index` picks; None: every example) and its
    gradient; `batches` says which examples each update uses.

    Step k is the point after k updates; its loss and gradient are over the batch of
    update k + 1 (`Step.batch`), which that update uses. The last step has no next
    update: its loss and gradient are over every example (batch None). The stop
    rule reads the batch gradient (converged: the next batch's gradient is small
    enough) and, at the end, the gradient over every example; the divergence limit
    is taken from the loss over every example at the start. A schedule is stepped
    as torch's examples step it: onecycle and cyclic after every update, the others
    once per epoch, after the epoch's last update; plateau then watches the epoch's
    mean loss (over its examples, as each batch saw them)."""

    def __init__(
        self,
        evaluate: RowsEvaluator,
        start: Params,
        optimizer: OptimizerFactory,
        rule: StopRule,
        batches: Batches,
        show_state: bool = False,
        schedule: ScheduleFactory | None = None,
        full: bool = False,
        explain_steps: int = 0,
    ) -> None:
        self.evaluate_rows = evaluate
        self.explain_steps = explain_steps
        self.batches = batches
        self.full = full
        self.start = start
        self.optimizer = optimizer
        self.rule = rule
        self.show_state = show_state
        self.schedule = schedule
        self.evaluate = lambda params: evaluate(params, None)
        self.per_batch = False
        if schedule is not None:
            sample = schedule()
            self.per_batch = sample.name in PER_BATCH
            if self.per_batch:
                check_schedule(sample, optimizer(), rule.steps)
            else:  # the schedule's steps are whole epochs
                check_schedule(sample, optimizer(), rule.steps // batches.per_epoch, "epochs")
        self.first = check_start(self.evaluate, start)

    def run(self) -> Generator[Step, None, Outcome]:
        optimizer = self.optimizer()
        schedule = self.schedule() if self.schedule is not None else None
        if schedule is not None:
            from gdcli.schedules import apply
        rule, evaluate, full = self.rule, self.evaluate_rows, self.full
        state = optimizer.state if self.show_state else None
        n = self.batches.n

        def record(k: int, params: Params, loss: float, grad: Params, batch: Batch | None) -> Step:
            s = Step(k, params, loss, grad, state() if state else None, lr())
            s.batch = batch
            if full:
                s.full = (loss, grad) if batch is None or batch.whole else evaluate(params, None)
            return s

        def lr() -> float | None:
            return float(schedule.lr) if schedule is not None else None

        stream = self.batches.stream()
        params = self.start
        limit = rule.limit(self.first[0])
        batch: Batch | None = next(stream)
        assert batch is not None
        loss, grad = self.first if batch.whole else evaluate(params, batch.index)
        epoch_loss = 0.0
        k = 0
        optimizer.record = self.explain_steps > 0
        while True:
            if batch is None or rule.converged(norm(grad)):
                # the last step: its loss and gradient over every example
                if batch is not None and not batch.whole:
                    loss, grad = evaluate(params, None)
                yield record(k, params, loss, grad, None)
                converged = batch is not None or rule.converged(norm(grad))
                return Outcome(CONVERGED if converged else MAX_STEPS, k)
            current = record(k, params, loss, grad, batch)
            yield current
            if schedule is not None:
                apply(schedule, optimizer)
            params = optimizer.step(params, grad)
            k += 1
            if optimizer.record:  # how the point before came to this one
                current.explain = optimizer.explained
                optimizer.record = k < self.explain_steps
            epoch_loss += loss * batch.size
            if schedule is not None and self.per_batch:
                schedule.step(loss)
            if batch.last:
                if schedule is not None and not self.per_batch:
                    schedule.step(epoch_loss / n)  # the epoch's mean loss (plateau)
                epoch_loss = 0.0
            batch = next(stream) if k < rule.steps else None
            moved = finite(params)
            if moved:
                loss, grad = evaluate(params, None if batch is None else batch.index)
            else:
                loss, grad = math.nan, [p * math.nan for p in params]
            healthy = moved and math.isfinite(loss) and abs(loss) <= limit
            reason = "" if healthy and finite(grad) else rule.divergence(params, loss, grad, limit)
            if reason:
                yield record(k, params, loss, grad, batch)
                return Outcome(DIVERGED, k, reason)


def check_schedule(
    schedule: Schedule, optimizer: Optimizer, steps: int, unit: str = "updates"
) -> None:
    """A schedule that cannot drive this run is refused before any step: onecycle's
    total_steps below the schedule's steps asked for (`unit`: updates, or epochs on
    training data), a cycled momentum the rule does not have."""
    from gdcli.schedules import momentum_key

    momentum_key(schedule, optimizer)
    limit = schedule.step_limit
    if limit is not None and steps > limit:
        raise BadValue(
            "total_steps",
            f"is {limit}, fewer than the {steps} {unit} asked for (onecycle cannot go past it)",
        )


# ---------------------------------------------------------------------------
# many runs at once (sweep): every run is one entry of NumPy arrays

# the loss and gradient over arrays with one entry per run; `care` (a bool array or None)
# names the entries whose values must be exact (the others may be anything)
ArrayEvaluator = Callable[..., tuple[Any, list[Any]]]

RUNNING, CONVERGED_CODE, DIVERGED_CODE, MAX_STEPS_CODE = 0, 1, 2, 3
STATUS = ("running", CONVERGED, DIVERGED, MAX_STEPS)  # a sweep's status codes, by number


class SweepResult(NamedTuple):
    codes: Any  # int8 array: STATUS[code] is the run's status
    steps_used: Any  # int array
    final_loss: Any  # float array
    final_params: list[Any]  # one float array per entry
    oscillating: Any  # bool array

    @property
    def status(self) -> list[str]:
        return [STATUS[c] for c in self.codes.tolist()]


def norm_threshold(tol: float) -> float:
    """The largest float y >= 0 with sqrt(y) <= tol: math.sqrt is correctly rounded (so
    monotone), and `sqrt(sum of squares) <= tol` is `sum of squares <= y`."""
    top = sys.float_info.max
    if tol >= math.sqrt(top):
        return top
    y = tol * tol
    while y > 0 and math.sqrt(y) > tol:
        y = math.nextafter(y, 0.0)
    while math.sqrt(math.nextafter(y, math.inf)) <= tol:
        y = math.nextafter(y, math.inf)
    return y


def sweep(
    evaluate: ArrayEvaluator,
    starts: list[Any],
    optimizer: Optimizer,
    rule: StopRule,
    schedule: Schedule | None = None,
) -> SweepResult:
    """Run all runs at once: `starts` holds one float array per entry (one value
    per run) and `optimizer.lr` one learning rate per run. Each run is `Descent`'s:
    the same stop rule, the same numbers to the last bit (given an `evaluate` that
    gives the scalar loss's numbers), its loss and point where it stopped.

    The runs still going are kept in compact arrays (a stopped run's entries are
    taken out, with the optimizer's buffers); with a schedule, which keeps one lr per
    run, a stopped run stays in place, its point frozen. The stop rule is checked
    with one reduction per array while no run stops (an exact test only then)."""
    import numpy as np

    if schedule is not None:
        from gdcli.schedules import apply

        check_schedule(schedule, optimizer, rule.steps)
    params: list[Any] = [np.asarray(p, dtype=float) for p in starts]
    total = params[0].shape[0]
    loss: Any = None
    grad: list[Any] = []
    limit: Any = None
    codes = np.zeros(total, dtype=np.int8)
    steps_used = np.zeros(total, dtype=np.int32 if rule.steps < 2**31 else np.int64)
    final_loss = np.empty(total)
    final = [np.empty(total) for _ in params]
    oscillating = np.zeros(total, dtype=bool)
    compact = schedule is None
    index = np.arange(total, dtype=np.int32 if total < 2**31 else np.int64)  # run of each entry
    active = np.ones(total, dtype=bool)  # without compaction: the entries still going
    threshold = norm_threshold(rule.tol)
    margin = 1 + 4 * len(params) * sys.float_info.epsilon if len(params) > 2 else 1.0
    # oscillation only matters for runs still going at the end: watch the last updates
    # (OSCILLATION_STEPS + 1 of them make OSCILLATION_STEPS comparisons of sign)
    watch_from = rule.steps - OSCILLATION_STEPS - 1
    alternations: Any = None
    previous: Any = None
    squares: Any = None  # a buffer, used again while the runs' count stays

    def record(mask: Any, code: int, step: int) -> None:
        runs = index[mask]
        codes[runs], steps_used[runs], final_loss[runs] = code, step, loss[mask]
        for out, p in zip(final, params, strict=True):
            out[runs] = p[mask]

    def drop(mask: Any) -> None:
        """The runs `mask` picks out have ended: out of the arrays (or frozen)."""
        nonlocal index, params, grad, loss, limit, alternations, previous
        if not compact:
            active[mask] = False
            return
        keep = ~mask
        index = index[keep]
        loss = loss[keep]
        if np.ndim(limit):
            limit = limit[keep]
        for i in range(len(params)):  # one array at a time: memory stays flat
            params[i] = params[i][keep]
            grad[i] = grad[i][keep]
        if alternations is not None:
            alternations, previous = alternations[keep], previous[keep]
        _select(optimizer, keep)

    def going() -> bool:
        return bool(index.size) and (compact or bool(active.any()))

    with np.errstate(all="ignore"):
        loss, grad = evaluate(params)
        limit = rule.factor * np.maximum(1.0, np.abs(loss))  # inf past 1.8e296, no warning
        if limit.size and bool((limit == limit[0]).all()):
            limit = float(limit[0])  # one start: one limit
        bad = ~_finite_arrays([loss, *grad])  # a run that cannot begin
        if bad.any():
            record(bad, DIVERGED_CODE, 0)
            drop(bad)
        for k in range(1, rule.steps + 1):
            if not going():
                break
            if squares is None or squares.shape != grad[0].shape:
                squares = np.empty_like(grad[0])
            _squares(grad, squares)
            # every running entry's partials are finite: its min is a true min (with a
            # margin for a float sum of more than two squares, see `_converged`)
            if not compact or squares.min() <= threshold * margin:
                done = _converged(squares, grad, threshold)
                if not compact:
                    done &= active
                if done.any():
                    record(done, CONVERGED_CODE, k - 1)
                    drop(done)
                    if not going():
                        break
            if schedule is not None:
                apply(schedule, optimizer)
            new = optimizer.step(params, grad)
            if schedule is not None:
                schedule.step(None)
            if k > watch_from:
                delta = new[0] - params[0]
                if alternations is None:
                    alternations, previous = np.zeros(delta.shape, dtype=np.int64), delta
                else:
                    alternations = np.where(delta * previous < 0, alternations + 1, 0)
                    previous = delta
            if compact:
                params = new
            else:
                params = [np.where(active, q, p) for q, p in zip(new, params, strict=True)]
            del new
            moved = _all_finite(params)
            loss, grad = evaluate(params, None if compact else active)
            if not moved:  # descend evaluates nothing at a point that is not finite
                still = _finite_arrays(params)
                loss = np.where(still, loss, math.nan)
                grad = [np.where(still, g, math.nan) for g in grad]
            if not (compact and moved and _within(loss, limit) and _all_finite(grad)):
                ended = ~(_finite_arrays([*params, loss, *grad]) & (np.abs(loss) <= limit))
                if not compact:
                    ended &= active
                if ended.any():
                    record(ended, DIVERGED_CODE, k)
                    drop(ended)
        if going():
            rest = np.ones(index.size, dtype=bool) if compact else active.copy()
            done = rest & _converged(_squares(grad, np.empty_like(grad[0])), grad, threshold)
            rest &= ~done
            record(done, CONVERGED_CODE, rule.steps)
            record(rest, MAX_STEPS_CODE, rule.steps)
            if alternations is not None:
                oscillating[index[rest]] = alternations[rest] >= OSCILLATION_STEPS
    return SweepResult(codes, steps_used, final_loss, final, oscillating)


def _select(optimizer: Optimizer, keep: Any) -> None:
    """Keep only the runs `keep` picks out in the optimizer's lrs and buffers."""
    import numpy as np

    rates: Any = optimizer.lr
    if np.ndim(rates):
        optimizer.lr = rates[keep]
    buffers: dict[str, list[Any]] = optimizer._buffers
    for values in buffers.values():
        values[:] = [v[keep] if np.ndim(v) else v for v in values]


def _squares(grad: list[Any], out: Any) -> Any:
    """Each run's sum of the squared partials, as a float sum gives it (see
    `_converged`), into the buffer `out`."""
    import numpy as np

    np.multiply(grad[0], grad[0], out=out)
    for g in grad[1:]:
        out += g * g
    return out


def _converged(squares: Any, grad: list[Any], threshold: float) -> Any:
    """Which runs have sqrt(fsum of the squares) <= tol, as `stopping.norm` decides: the
    float sum of two squares is the exact sum rounded once, as fsum's; of more, it may
    differ from fsum's by a few roundings, so runs that close to the threshold are
    summed again with fsum."""
    import numpy as np

    done = squares <= threshold
    if len(grad) > 2:
        margin = 4 * len(grad) * sys.float_info.epsilon
        near = np.flatnonzero(np.abs(squares - threshold) <= margin * threshold)
        for i in near.tolist():
            done[i] = math.fsum(float(g[i]) * float(g[i]) for g in grad) <= threshold
    return done


def _all_finite(arrays: list[Any]) -> bool:
    """Are all entries finite? One reduction per array (nan and inf carry through a sum;
    a sum that overflows answers no, and the caller then looks entry by entry)."""
    return all(math.isfinite(a.sum()) for a in arrays)


def _within(loss: Any, limit: Any) -> bool:
    """Is every run's loss finite and its |loss| within its limit? (nan is not; the
    limit may be inf, for a loss past 1.8e296 at the start.)"""
    bound = limit.min() if hasattr(limit, "min") else limit
    high, low = float(loss.max()), float(loss.min())
    return math.isfinite(high) and math.isfinite(low) and high <= bound and low >= -bound


def _finite_arrays(arrays: list[Any]) -> Any:
    import numpy as np

    out = np.isfinite(arrays[0])
    for a in arrays[1:]:
        out &= np.isfinite(a)
    return out
