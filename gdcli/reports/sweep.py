"""sweep: many learning rates (and starts) at once, vectorised with NumPy."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from gdcli.budget import time_limit
from gdcli.compile.codegen import array_evaluator
from gdcli.descent import SweepResult
from gdcli.descent import sweep as run_sweep
from gdcli.errors import BadInput, ResourceLimit
from gdcli.limits import MAX_RUNS, OSCILLATION_STEPS
from gdcli.optimizers import make_optimizer
from gdcli.params import entry_labels, flatten, nested
from gdcli.problem import Problem, plain
from gdcli.reports.base import Report, Table, constant
from gdcli.reports.figures import Figure, Series
from gdcli.reports.words import data_sentence, data_summary
from gdcli.stopping import StopRule

if TYPE_CHECKING:
    from gdcli.data import Training


def sweep(
    problem: Problem,
    lrs: list[float],
    starts: list[float] | None,
    optimizer_name: str,
    hyper: dict[str, Any],
    rule: StopRule,
    seconds: float,
    schedule: tuple[str, dict[str, Any], float | None] | None = None,
) -> Report:
    """Every (start, lr) pair as one run; `seconds` of CPU time for the symbolic work."""
    import numpy as np

    loss = problem.loss
    names = list(loss.variables)
    labels = [label for n in names for label in loss.entry_names(n)]
    base = problem.floats()
    if starts is not None:
        if len(base) != 1:
            raise BadInput("a list of starts needs a loss of one scalar weight")
        start_values = starts
    else:
        start_values = [base[0]] if len(base) == 1 else [math.nan]
    if len(start_values) * len(lrs) > MAX_RUNS:
        raise ResourceLimit(
            f"{len(start_values)} starts x {len(lrs)} learning rates = "
            f"{len(start_values) * len(lrs)} runs: too many (at most {MAX_RUNS})"
        )
    runs = [(s, lr) for s in start_values for lr in lrs]
    lr_array = np.array([lr for _, lr in runs])
    if starts is not None:
        entries = [np.array([s for s, _ in runs])]
    else:
        entries = [np.full(len(runs), v) for v in base]
    optimizer = make_optimizer(optimizer_name, lr_array, **hyper)
    scheduled = None
    if schedule is not None:
        from gdcli.schedules import make_schedule

        schedule_name, options, base_lr = schedule
        scheduled = make_schedule(
            schedule_name, lr_array if base_lr is None else base_lr, **options
        )
    with time_limit(seconds):
        evaluate = array_evaluator(loss)
    result = run_sweep(evaluate, entries, optimizer, rule, scheduled)
    shapes = {n: loss.shapes[n] for n in names}
    head = {
        "expression": loss.text,
        "optimizer": optimizer.name,
        "steps": rule.steps,
        "tol": rule.tol,
        "hyper": optimizer.hyperparameters(),
    }
    if scheduled is not None:
        head["scheduler"] = {"name": scheduled.name, **scheduled.options()}
    return _report(problem, shapes, labels, runs, starts, result, rule, head, [])


def _report(
    problem: Problem,
    shapes: dict[str, Any],
    labels: list[str],
    runs: list[tuple[float, float]],
    starts: list[float] | None,
    result: SweepResult,
    rule: StopRule,
    head: dict[str, Any],
    first_notes: list[str],
) -> Report:
    """The report of a sweep, from its runs' outcomes."""
    names = list(shapes)
    common_start = {n: plain(problem.point[n]) for n in names}
    lr_list = [lr for _, lr in runs]
    status = result.status
    final_loss = result.final_loss.tolist()
    steps_used = result.steps_used.tolist()
    oscillating = result.oscillating.tolist()
    final = [p.tolist() for p in result.final_params]  # one list per entry

    def start_of(k: int) -> Any:
        return {names[0]: runs[k][0]} if starts is not None else common_start

    def params_of(k: int) -> dict[str, Any]:
        flat = [entry[k] for entry in final]
        out, i = {}, 0
        for n in names:
            size = math.prod(shapes[n])
            out[n] = nested(flat[i : i + size], shapes[n])
            i += size
        return out

    def records() -> Iterator[dict[str, Any]]:  # built as they are written
        for k, lr in enumerate(lr_list):
            yield {
                "lr": lr,
                "start": start_of(k),
                "status": status[k],
                "final_loss": final_loss[k],
                "params": params_of(k),
                "steps_used": steps_used[k],
                "oscillating": oscillating[k],
            }

    best = _best(lr_list, status, final_loss, steps_used)
    if best is not None:
        best["start"] = start_of(best.pop("index"))
    one = len(labels) == 1
    columns = ["lr", "start", "status", "final_loss", "steps_used", "oscillating"]
    columns += labels if len(labels) <= 4 else []

    def start_text(k: int) -> Any:
        start = start_of(k)
        return next(iter(start.values())) if one else ",".join(f"{a}={b}" for a, b in start.items())

    def rows() -> Iterator[list[Any]]:
        for k, lr in enumerate(lr_list):
            yield [
                lr,
                start_text(k),
                status[k],
                final_loss[k],
                steps_used[k],
                oscillating[k],
                *([entry[k] for entry in final] if len(labels) <= 4 else []),
            ]

    counts = {s: status.count(s) for s in ("converged", "max_steps", "diverged")}
    notes = [
        *first_notes,
        f"{len(runs)} runs of at most {rule.steps} steps: "
        + ", ".join(f"{v} {k}" for k, v in counts.items())
        + ".",
    ]
    stable = [lr for lr, s in zip(lr_list, status, strict=True) if s != "diverged"]
    unstable = [lr for lr, s in zip(lr_list, status, strict=True) if s == "diverged"]
    if stable and unstable:
        notes.append(
            f"the largest lr that did not diverge is {max(stable):.6g}; "
            f"the smallest that did is {min(unstable):.6g}."
        )
    if best:
        notes.append(
            f"best lr: {best['lr']:.6g} ({best['why']}). A run oscillates when its "
            "update changed sign at each of the last 20 steps."
        )

    kept = [k for k, s in enumerate(status) if s != "diverged"]
    figure = Figure(
        [Series("final loss", [lr_list[k] for k in kept], [final_loss[k] for k in kept], "points")],
        title="final loss against the learning rate (diverged runs are left out)",
        xlabel="lr",
        ylabel="final loss",
        logx=bool(kept)
        and min(lr_list[k] for k in kept) > 0
        and max(lr_list[k] for k in kept) / min(lr_list[k] for k in kept) > 100,
        logy=True,
    )
    return Report(
        head,
        [Table(columns, rows(), head_tail=10 if len(runs) > 40 else None)],
        constant([best["lr"] if best else None]),
        undefined=lambda: f"every one of the {len(runs)} runs diverged: there is no best lr",
        rows_key="runs",
        records=records(),
        tail=constant({"best": best}),
        notes=constant(notes),
        figures=constant([figure]),
    )


def _best(
    lrs: list[float], status: list[str], final_loss: list[float], steps_used: list[int]
) -> dict[str, Any] | None:
    """The converged run that needed the fewest steps; else the lowest final loss of
    a run that did not diverge."""
    converged = [k for k, s in enumerate(status) if s == "converged"]
    if converged:
        k = min(converged, key=lambda k: (steps_used[k], final_loss[k]))
        why = f"converged in the fewest steps, {steps_used[k]}"
    else:
        alive = [
            k for k, s in enumerate(status) if s != "diverged" and math.isfinite(final_loss[k])
        ]
        if not alive:
            return None
        k = min(alive, key=lambda k: final_loss[k])
        why = "the lowest final loss; none converged"
    return {"lr": lrs[k], "index": k, "final_loss": final_loss[k], "why": why}


def sweep_on_data(
    problem: Problem,
    training: Training,
    lrs: list[float],
    starts: list[float] | None,
    optimizer_name: str,
    hyper: dict[str, Any],
    rule: StopRule,
    schedule: tuple[str, dict[str, Any], float | None] | None = None,
) -> Report:
    """Every (start, lr) pair as one run on training data: each run is the mini-batch
    descent descend makes on these data with the same options (the same batches, in the
    same order), one run after another on the array engine. The final loss is over
    every example."""
    import numpy as np

    from gdcli.compile.load import build_on_data

    data = training.data
    compiled = build_on_data(problem, data)
    names = problem.names
    shapes = {n: problem.weights[n] for n in names}
    labels = [label for n in names for label in entry_labels(n, shapes[n])]
    base = problem.start()
    if starts is not None:
        if len(labels) != 1:
            raise BadInput("a list of starts needs a loss of one scalar weight")
        points = [[float(s)] for s in starts]
    else:
        points = [base]
    if len(points) * len(lrs) > MAX_RUNS:
        raise ResourceLimit(
            f"{len(points)} starts x {len(lrs)} learning rates = "
            f"{len(points) * len(lrs)} runs: too many (at most {MAX_RUNS})"
        )
    runs = [(p[0] if starts is not None else math.nan, lr) for p in points for lr in lrs]
    pairs = [(p, lr) for p in points for lr in lrs]
    outcomes = [
        _data_run(compiled, p, lr, optimizer_name, hyper, rule, training, schedule)
        for p, lr in pairs
    ]
    result = SweepResult(
        [o[0] for o in outcomes],
        np.array([o[1] for o in outcomes], dtype=int),
        np.array([o[2] for o in outcomes], dtype=float),
        [np.array([o[3][j] for o in outcomes], dtype=float) for j in range(len(labels))],
        np.array([o[4] for o in outcomes], dtype=bool),
    )
    sample = make_optimizer(optimizer_name, lrs[0], **hyper)
    head: dict[str, Any] = {
        "expression": problem.text,
        "optimizer": optimizer_name,
        "steps": rule.steps,
        "tol": rule.tol,
        "hyper": sample.hyperparameters(),
    }
    if schedule is not None:
        from gdcli.schedules import make_schedule

        name, options, base_lr = schedule
        scheduled = make_schedule(name, lrs[0] if base_lr is None else base_lr, **options)
        head["scheduler"] = {"name": scheduled.name, **scheduled.options()}
    batches = training.batches
    head["data"] = {
        **data_summary(data),
        "batch_size": batches.size,
        "batches_per_epoch": batches.per_epoch,
        "shuffle": batches.shuffle,
        "seed": batches.seed,
        "epochs": training.epochs,
    }
    mini = (
        f"mini-batches of {batches.size} ({batches.per_epoch} per epoch"
        + (f", shuffled by numpy.random.default_rng({batches.seed})" if batches.shuffle else "")
        + "), the same batches in every run"
        if batches.per_epoch > 1 or batches.shuffle
        else "every step over every example (full batch)"
    )
    notes = [
        data_sentence(data),
        f"each run is what descend does on these data with the same options: {mini}; the "
        "runs go one after another, and each final loss is over every example.",
    ]
    return _report(problem, shapes, labels, runs, starts, result, rule, head, notes)


def _data_run(
    compiled: Any,
    start: list[Any],
    lr: float,
    optimizer_name: str,
    hyper: dict[str, Any],
    rule: StopRule,
    training: Training,
    schedule: tuple[str, dict[str, Any], float | None] | None,
) -> tuple[str, int, float, list[float], bool]:
    """One run: (status, steps used, final loss, final entries, oscillating)."""
    from gdcli.descent import BatchDescent
    from gdcli.errors import NumericalError
    from gdcli.optimizers import optimizer_factory

    make = optimizer_factory(optimizer_name, lr, **hyper)
    schedules = None
    if schedule is not None:
        from gdcli.schedules import make_schedule

        name, options, base = schedule
        base_lr = lr if base is None else base

        def schedules() -> Any:
            return make_schedule(name, base_lr, **options)

    try:
        descent = BatchDescent(
            compiled.evaluate_rows, start, make, rule, training.batches, schedule=schedules
        )
    except NumericalError:  # undefined at the start: diverged before a step, as sweep says
        return "diverged", 0, math.nan, flatten(start), False
    steps = descent.run()
    previous: float | None = None
    delta = 0.0
    alternations = 0
    last = None
    while True:
        try:
            s = next(steps)
        except StopIteration as stop:
            outcome = stop.value
            break
        first = flatten(s.params)[0]
        if previous is not None:
            change = first - previous
            alternations = alternations + 1 if change * delta < 0 else 0
            delta = change
        previous = first
        last = s
    assert last is not None
    oscillating = outcome.status == "max_steps" and alternations >= OSCILLATION_STEPS
    return outcome.status, outcome.step, last.loss, flatten(last.params), oscillating
