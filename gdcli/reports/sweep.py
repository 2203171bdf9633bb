"""sweep: many learning rates (and starts) at once, vectorised with NumPy."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
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
from gdcli.reports.figures import Figure, Series, legend_room, round_range
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
    bound = None  # one start and a fixed lr: the update rule's bound at the start
    last_notes = []
    if len(start_values) == 1 and scheduled is None:
        bound = _stability_bound(problem, optimizer, seconds, starts)
        if bound is not None:
            head["stability"] = {"at": "start", "rule": bound[1], "lr_max": bound[0]}
            last_notes.append(
                f"on the quadratic model at the start, {bound[1]} = {bound[0]:.6g}: the "
                "vertical line in the picture."
            )
        elif optimizer.name != "sgd":
            last_notes.append(
                f"{optimizer.name} scales each step by its own statistics of the gradient: no "
                "simple bound on lr from the curvature, so none is drawn."
            )
    return _report(problem, shapes, labels, runs, starts, result, rule, head, [], bound, last_notes)


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
    bound: tuple[float, str] | None = None,
    last_notes: Sequence[str] = (),
) -> Report:
    """The report of a sweep, from its runs' outcomes; `bound` is the stability bound
    (the largest stable lr and the rule) drawn in the picture."""
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
    best_index = None
    if best is not None:
        best_index = best.pop("index")
        best["start"] = start_of(best_index)
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

    notes += last_notes
    outcomes = [_outcome(s, o) for s, o in zip(status, oscillating, strict=True)]
    figure = _figure(lr_list, final_loss, outcomes, bound)
    shown = None
    if len(runs) > SHOWN_RUNS:
        per_start = len(runs) // (len(starts) if starts is not None else 1)
        shown = _changes(outcomes, per_start, best_index)
    return Report(
        head,
        [
            Table(
                columns,
                rows(),
                head_tail=10 if shown is None and len(runs) > 40 else None,
                shown=shown,
            )
        ],  # fmt: skip
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


SHOWN_RUNS = 40  # more runs than this: the table shows the rows where the outcome changes
MAX_SHOWN = 80  # ... unless there are more such rows than this (then the first and last)
MARKERS = {"converged": "o", "oscillates": "~", "max_steps": "+", "diverged": "x"}


def _outcome(status: str, oscillating: bool) -> str:
    """What a run did, in the words of the picture's legend."""
    if status == "max_steps" and oscillating:
        return "oscillates"
    return status


def _changes(outcomes: list[str], per_start: int, best: int | None) -> frozenset[int] | None:
    """The rows a long table keeps: the first and the last of each start's runs, both
    rows wherever the outcome changes from one lr to the next, and the best run."""
    keep = {0, len(outcomes) - 1} | ({best} if best is not None else set())
    for k in range(1, len(outcomes)):
        if k % per_start == 0:  # the first run of the next start
            keep |= {k - 1, k}
        elif outcomes[k] != outcomes[k - 1]:
            keep |= {k - 1, k}
    return frozenset(keep) if len(keep) <= MAX_SHOWN else None


def _stability_bound(
    problem: Problem, optimizer: Any, seconds: float, starts: list[float] | None
) -> tuple[float, str] | None:
    """The largest stable lr of the update rule on the quadratic model at the start
    (l'' there, or the Hessian's largest eigenvalue for several weights), and the rule
    as text; None where no simple bound exists or the curvature takes too long."""
    from gdcli import calculus
    from gdcli.errors import GdcliError
    from gdcli.reports.curvature import curvature
    from gdcli.reports.descend import _bound

    loss = problem.loss
    symbols = loss.symbols()
    if len(symbols) > 8:
        return None
    point = problem.substitution()
    if starts is not None:  # a start given as a list of one
        import sympy as sp

        point = {symbols[0]: sp.Rational(starts[0])}
    try:
        with time_limit(seconds):
            first = [calculus.partial(loss.expr, a) for a in symbols]
            hessian = [[calculus.value_at(calculus.partial(g, b), point) for b in symbols]
                       for g in first]  # fmt: skip
    except GdcliError:
        return None
    if not all(math.isfinite(v) for row in hessian for v in row):
        return None
    if len(symbols) == 1:
        top = hessian[0][0]
    else:
        top = max(curvature(hessian)["eigenvalues"])
    bound, rule = _bound(optimizer, top)
    if bound is None:
        return None
    return bound, rule if len(symbols) == 1 else rule.replace("l''", "λmax")


def _figure(
    lrs: list[float],
    final_loss: list[float],
    outcomes: list[str],
    bound: tuple[float, str] | None,
) -> Figure:
    """Final loss against lr, one marker per outcome: diverged runs at the top (their
    loss is beyond the picture), a final loss of 0 at the bottom of a log axis, and
    the stability bound as a vertical line."""
    alive = [y for y, o in zip(final_loss, outcomes, strict=True)
             if o != "diverged" and math.isfinite(y)]  # fmt: skip
    positive = [y for y in alive if y > 0]
    logy = bool(positive) and all(y >= 0 for y in alive)
    if logy:
        top, bottom = max(positive) * 10, min(positive) / 10
        ceiling = 10 ** legend_room((math.log10(bottom), math.log10(top)))[1]
    else:
        low, high = (min(alive), max(alive)) if alive else (0.0, 1.0)
        top, bottom = high + 0.15 * (high - low or 1.0), low
        ceiling = legend_room((bottom, top))[1]
    zero = False
    series = []
    if bound is not None:  # first, so that no run's marker is hidden behind it
        value, rule = bound
        series.append(Series(f"{rule} = {value:.4g}", [value, value], [bottom, top], "line", "|"))
    for outcome, marker in MARKERS.items():
        xs, ys = [], []
        for lr, y, o in zip(lrs, final_loss, outcomes, strict=True):
            if o != outcome:
                continue
            if o == "diverged" or not math.isfinite(y):
                y = top
            elif logy and y == 0:
                y, zero = bottom, True
            xs.append(lr)
            ys.append(y)
        if xs:
            label = "diverged (drawn at the top)" if outcome == "diverged" else outcome
            series.append(Series(label, xs, ys, "points", marker))
    # room above the runs drawn at the top for the legend, which would hide them
    series.append(Series("", [lrs[0]], [ceiling], "points", " "))
    positive_lrs = [lr for lr in lrs if lr > 0]
    logx = len(positive_lrs) == len(lrs) and max(lrs) / min(lrs) > 100
    title = "final loss against lr"
    if "diverged" in outcomes:
        title += "; diverged runs at the top"
    if zero:
        title += "; a final loss of 0 at the bottom"
    xs = [*lrs, *([bound[0]] if bound is not None else [])]
    ticks = None if logx or min(xs) == max(xs) else round_range(min(xs), max(xs))[2]
    return Figure(
        series,
        xticks=ticks,
        title=title,
        xlabel="lr",
        ylabel="final loss",
        logx=logx,
        logy=logy,
    )


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
