"""sweep: many learning rates (and starts) at once, vectorised with NumPy."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from gdcli.budget import time_limit
from gdcli.compile.codegen import scalar
from gdcli.compile.sweep import ArrayEvaluator, RunByRun
from gdcli.descent import CONVERGED_CODE, DIVERGED_CODE, MAX_STEPS_CODE, STATUS, SweepResult
from gdcli.descent import sweep as run_sweep
from gdcli.errors import BadInput, ResourceLimit
from gdcli.limits import MAX_RUNS, MAX_SWEEP_VALUES, OSCILLATION_STEPS
from gdcli.optimizers import make_optimizer
from gdcli.params import entry_labels, flatten, nested
from gdcli.problem import Problem, plain
from gdcli.reports.base import Report, Table, constant
from gdcli.reports.descend import GROWING
from gdcli.reports.figures import Figure, Series, legend_room, round_range
from gdcli.reports.words import data_sentence, problem_roles, training_summary
from gdcli.stopping import StopRule

if TYPE_CHECKING:
    from gdcli.data import Training

ROWS_AT_ONCE = 16_384  # runs turned into Python values at a time, as they are written


def _evaluator(problem: Problem, names: list[str]) -> ArrayEvaluator | RunByRun:
    """descend's own loss, over many runs: a loss of vectors or matrices by the array
    engine, run by run (as descend compiles it), a loss of numbers by its scalar
    source rewritten over arrays."""
    if not problem.has_arrays:
        return ArrayEvaluator(scalar(problem.loss))
    from gdcli.compile.arrays import ArrayCompiled
    from gdcli.engine import lower

    graph = lower(problem.text, problem.weights, problem.input_shapes)
    compiled = ArrayCompiled.from_graph(graph, problem.text).bind(problem.input_floats())
    return RunByRun(compiled, names)


def sweep(
    problem: Problem,
    lrs: Sequence[float],
    starts: Sequence[float] | None,
    optimizer_name: str,
    hyper: dict[str, Any],
    rule: StopRule,
    seconds: float,
    schedule: tuple[str, dict[str, Any], float | None] | None = None,
) -> Report:
    """Every (start, lr) pair as one run; `seconds` of CPU time for the symbolic work.
    Runs are start-major: all the lrs from the first start, then from the next."""
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
    count = len(start_values) * len(lrs)
    if count > MAX_RUNS:
        raise ResourceLimit(
            f"{len(start_values)} starts x {len(lrs)} learning rates = "
            f"{count} runs: too many (at most {MAX_RUNS})"
        )
    if count * len(labels) > MAX_SWEEP_VALUES:
        raise ResourceLimit(
            f"{count} runs x {len(labels)} weight entries = {count * len(labels)} values: "
            f"too many (at most {MAX_SWEEP_VALUES})"
        )
    lr_array = np.array(lrs, dtype=float)
    if len(start_values) > 1:
        lr_array = np.tile(lr_array, len(start_values))
    if starts is not None:
        entries = [np.repeat(np.array(starts, dtype=float), len(lrs))]
    else:  # one start for every run: no memory
        entries = [np.broadcast_to(np.float64(v), (count,)) for v in base]
    optimizer = make_optimizer(optimizer_name, lr_array, **hyper)
    scheduled = None
    if schedule is not None:
        from gdcli.schedules import make_schedule

        schedule_name, options, base_lr = schedule
        scheduled = make_schedule(
            schedule_name, lr_array if base_lr is None else base_lr, **options
        )
    with time_limit(seconds):
        evaluate = _evaluator(problem, names)
    # each run's loss at its start: a run that ends far above it is growing
    at_start = (
        [np.array(start_values, dtype=float)]
        if starts is not None
        else [np.array([v], dtype=float) for v in base]
    )
    first = np.asarray(evaluate(at_start)[0], dtype=float).reshape(-1)
    start_loss = np.repeat(first, len(lrs))
    if scheduled is None:
        del lr_array  # the optimizer has its copy; the values are lrs' own
    result = run_sweep(evaluate, entries, optimizer, rule, scheduled)
    del entries
    head = {
        "expression": loss.text,
        "optimizer": optimizer.name,
        "steps": rule.steps,
        "tol": rule.tol,
        "hyper": optimizer.hyperparameters(),
    }
    if scheduled is not None:
        head["scheduler"] = {"name": scheduled.name, **scheduled.options()}
    shapes = {n: loss.shapes[n] for n in names}
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
    roles = problem_roles(problem)
    return _report(
        problem,
        shapes,
        labels,
        lrs,
        starts,
        result,
        rule,
        head,
        roles,
        bound,
        last_notes,
        start_loss,
    )


def _report(
    problem: Problem,
    shapes: dict[str, Any],
    labels: list[str],
    lrs: Sequence[float],
    starts: Sequence[float] | None,
    result: SweepResult,
    rule: StopRule,
    head: dict[str, Any],
    first_notes: list[str],
    bound: tuple[float, str] | None = None,
    last_notes: Sequence[str] = (),
    start_loss: Any = None,
) -> Report:
    """The report of a sweep, from its runs' outcomes (start-major: all the lrs from
    the first start, then from the next). Python values are made only for what is
    written, a block of runs at a time; `bound` is the stability bound (the largest
    stable lr and the rule) drawn in the picture."""
    import numpy as np

    names = list(shapes)
    count = int(result.codes.size)
    runs_per_start = len(lrs)

    def lr_of(k: int) -> float:
        return lrs[k % runs_per_start]

    def all_lrs() -> Any:
        return np.tile(np.array(lrs, dtype=float), count // runs_per_start)

    common_start = {n: plain(problem.point[n]) for n in names}
    sizes = [math.prod(shapes[n]) for n in names]

    def start_of(k: int) -> Any:
        return {names[0]: starts[k // runs_per_start]} if starts is not None else common_start

    def params_of(flat: list[float]) -> dict[str, Any]:
        out, i = {}, 0
        for n, size in zip(names, sizes, strict=True):
            out[n] = nested(flat[i : i + size], shapes[n])
            i += size
        return out

    def runs() -> Iterator[tuple[int, float, str, float, int, bool, list[float]]]:
        """Every run's values as Python objects, a block of runs at a time."""
        for lo in range(0, count, ROWS_AT_ONCE):
            hi = min(lo + ROWS_AT_ONCE, count)
            status = [STATUS[c] for c in result.codes[lo:hi].tolist()]
            columns = zip(
                (lr_of(k) for k in range(lo, hi)),
                status,
                result.final_loss[lo:hi].tolist(),
                result.steps_used[lo:hi].tolist(),
                result.oscillating[lo:hi].tolist(),
                zip(*(p[lo:hi].tolist() for p in result.final_params), strict=True),
                strict=True,
            )
            for k, (lr, s, final_loss, used, wavy, flat) in enumerate(columns, lo):
                yield k, lr, s, final_loss, used, wavy, list(flat)

    def records() -> Iterator[dict[str, Any]]:  # built as they are written
        for k, lr, status, final_loss, used, wavy, flat in runs():
            yield {
                "lr": lr,
                "start": start_of(k),
                "status": status,
                "final_loss": final_loss,
                "params": params_of(flat),
                "steps_used": used,
                "oscillating": wavy,
            }

    best = _best(lr_of, result)
    best_index = None
    if best is not None:
        best_index = best.pop("index")
        best["start"] = start_of(best_index)
    outcomes = _outcomes(result)
    shown = None
    if count > SHOWN_RUNS:
        shown = _changes(outcomes, runs_per_start, best_index)
    one = len(labels) == 1
    columns = ["lr", "start", "status", "final_loss", "steps_used", "oscillating"]
    columns += labels if len(labels) <= 4 else []

    def start_text(k: int) -> Any:
        start = start_of(k)
        return next(iter(start.values())) if one else ",".join(f"{a}={b}" for a, b in start.items())

    def rows() -> Iterator[list[Any]]:
        for k, lr, status, final_loss, used, wavy, flat in runs():
            entries = flat if len(labels) <= 4 else []
            yield [lr, start_text(k), status, final_loss, used, wavy, *entries]

    return Report(
        head,
        [
            Table(
                columns,
                rows(),
                head_tail=10 if shown is None and count > 40 else None,
                shown=shown,
            )
        ],  # fmt: skip
        constant([best["lr"] if best else None]),
        undefined=lambda: f"every one of the {count} runs diverged: there is no best lr",
        rows_key="runs",
        records=records(),
        tail=constant({"best": best}),
        notes=lambda: [
            *first_notes,
            *_notes(all_lrs(), result, rule, best, start_loss),
            *last_notes,
        ],
        figures=lambda: [_figure(all_lrs(), result.final_loss, outcomes, bound)],
    )


def _notes(
    lrs: Any,
    result: SweepResult,
    rule: StopRule,
    best: dict[str, Any] | None,
    start_loss: Any = None,
) -> list[str]:
    codes = result.codes
    counts = {name: int((codes == code).sum()) for code, name in enumerate(STATUS) if code}
    notes = [
        f"{codes.size} runs of at most {rule.steps} steps: "
        + ", ".join(f"{counts[k]} {k}" for k in ("converged", "max_steps", "diverged"))
        + "."
    ]
    stable, unstable = lrs[codes != DIVERGED_CODE], lrs[codes == DIVERGED_CODE]
    if stable.size and unstable.size:
        notes.append(
            f"the largest lr that did not diverge is {float(stable.max()):.6g}; "
            f"the smallest that did is {float(unstable.min()):.6g}."
        )
    if start_loss is not None:
        import numpy as np

        scale = np.maximum(1.0, np.abs(start_loss))
        with np.errstate(invalid="ignore"):
            grown = (codes == MAX_STEPS_CODE) & (np.abs(result.final_loss) > GROWING * scale)
        if grown.any():
            rates = ", ".join(f"{float(v):.6g}" for v in np.unique(lrs[grown])[:5])
            more = ", …" if np.unique(lrs[grown]).size > 5 else ""
            one = int(grown.sum()) == 1
            notes.append(
                f"{int(grown.sum())} of the max_steps runs (lr {rates}{more}) ended with a loss "
                f"over {GROWING:g} times the loss at {'its' if one else 'their'} start: "
                f"{'it is' if one else 'they are'} growing, not converging, and would diverge "
                "with more steps."
            )
    if best:
        notes.append(
            f"best lr: {best['lr']:.6g} ({best['why']}). A run oscillates when its "
            "update changed sign at each of the last 20 steps."
        )
    return notes


def _best(lr_of: Callable[[int], float], result: SweepResult) -> dict[str, Any] | None:
    """The converged run that needed the fewest steps (the lower final loss, then the
    first, among equals); else the lowest final loss of a run that did not diverge."""
    import numpy as np

    codes, steps_used, final_loss = result.codes, result.steps_used, result.final_loss
    converged = np.flatnonzero(codes == CONVERGED_CODE)
    why: Callable[[int], str]
    if converged.size:
        order = np.lexsort((final_loss[converged], steps_used[converged]))  # stable
        k = int(converged[order[0]])

        def why(k: int) -> str:
            return f"converged in the fewest steps, {int(steps_used[k])}"
    else:
        alive = np.flatnonzero((codes != DIVERGED_CODE) & np.isfinite(final_loss))
        if not alive.size:
            return None
        k = int(alive[np.argmin(final_loss[alive])])

        def why(k: int) -> str:
            return "the lowest final loss; none converged"

    return {"lr": lr_of(k), "index": k, "final_loss": float(final_loss[k]), "why": why(k)}


SHOWN_RUNS = 40  # more runs than this: the table shows the rows where the outcome changes
MAX_SHOWN = 80  # ... unless there are more such rows than this (then the first and last)


OSCILLATES_CODE = len(STATUS)  # a max_steps run that oscillates, in the picture's words
OUTCOMES = {
    CONVERGED_CODE: ("converged", "o"),
    OSCILLATES_CODE: ("oscillates", "~"),
    MAX_STEPS_CODE: ("max_steps", "+"),
    DIVERGED_CODE: ("diverged", "x"),
}


def _outcomes(result: SweepResult) -> Any:
    """What each run did, as codes in the words of the picture's legend: a max_steps
    run that oscillates is OSCILLATES_CODE."""
    import numpy as np

    codes = result.codes.astype(np.int8)
    codes[(codes == MAX_STEPS_CODE) & result.oscillating] = OSCILLATES_CODE
    return codes


def _changes(outcomes: Any, per_start: int, best: int | None) -> frozenset[int] | None:
    """The rows a long table keeps: the first and the last of each start's runs, both
    rows wherever the outcome changes from one lr to the next, and the best run."""
    import numpy as np

    count = int(outcomes.size)
    edges = np.flatnonzero(outcomes[1:] != outcomes[:-1]) + 1
    starts = np.arange(per_start, count, per_start)
    keep = {0, count - 1} | ({best} if best is not None else set())
    for k in np.union1d(edges, starts).tolist():
        keep |= {k - 1, k}
        if len(keep) > MAX_SHOWN:
            return None
    return frozenset(keep)


def _stability_bound(
    problem: Problem, optimizer: Any, seconds: float, starts: Sequence[float] | None
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
    lrs: Any,
    final_loss: Any,
    outcomes: Any,
    bound: tuple[float, str] | None,
) -> Figure:
    """Final loss against lr, one marker per outcome: diverged runs at the top (their
    loss is beyond the picture), a final loss of 0 at the bottom of a log axis, and
    the stability bound as a vertical line."""
    import numpy as np

    alive = final_loss[(outcomes != DIVERGED_CODE) & np.isfinite(final_loss)]
    positive = alive[alive > 0]
    logy = bool(positive.size) and bool((alive >= 0).all())
    if logy:
        top, bottom = float(positive.max()) * 10, float(positive.min()) / 10
        ceiling = 10 ** legend_room((math.log10(bottom), math.log10(top)))[1]
    else:
        low, high = (float(alive.min()), float(alive.max())) if alive.size else (0.0, 1.0)
        top, bottom = high + 0.15 * (high - low or 1.0), low
        ceiling = legend_room((bottom, top))[1]
    zero = False
    series = []
    if bound is not None:  # first, so that no run's marker is hidden behind it
        value, rule = bound
        series.append(Series(f"{rule} = {value:.4g}", [value, value], [bottom, top], "line", "|"))
    for code, (outcome, marker) in OUTCOMES.items():
        mine = outcomes == code
        if not mine.any():
            continue
        ys = final_loss[mine].copy()
        ys[(code == DIVERGED_CODE) | ~np.isfinite(ys)] = top
        if logy and (ys == 0).any():
            ys[ys == 0], zero = bottom, True
        label = "diverged (drawn at the top)" if code == DIVERGED_CODE else outcome
        series.append(Series(label, lrs[mine].tolist(), ys.tolist(), "points", marker))
    # room above the runs drawn at the top for the legend, which would hide them
    series.append(Series("", [float(lrs[0])], [ceiling], "points", " "))
    low_lr, high_lr = float(lrs.min()), float(lrs.max())
    logx = low_lr > 0 and high_lr / low_lr > 100
    title = "final loss against lr"
    if (outcomes == DIVERGED_CODE).any():
        title += "; diverged runs at the top"
    if zero:
        title += "; a final loss of 0 at the bottom"
    if bound is not None:
        low_lr, high_lr = min(low_lr, bound[0]), max(high_lr, bound[0])
    ticks = None if logx or low_lr == high_lr else round_range(low_lr, high_lr)[2]
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
    lrs: Sequence[float],
    starts: Sequence[float] | None,
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
    pairs = [(p, lr) for p in points for lr in lrs]  # start-major, as sweep's
    outcomes = [
        _data_run(compiled, p, lr, optimizer_name, hyper, rule, training, schedule)
        for p, lr in pairs
    ]
    result = SweepResult(
        np.array([STATUS.index(o[0]) for o in outcomes], dtype=np.int8),
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
    head["data"] = training_summary(training)
    mini = (
        f"mini-batches of {batches.size} ({batches.per_epoch} per epoch"
        + (f", shuffled by numpy.random.default_rng({batches.seed})" if batches.shuffle else "")
        + "), the same batches in every run"
        if batches.per_epoch > 1 or batches.shuffle
        else "every step over every example (full batch)"
    )
    notes = [
        data_sentence(data),
        *problem_roles(problem),
        f"each run is what descend does on these data with the same options: {mini}; the "
        "runs go one after another, and each final loss is over every example.",
    ]
    return _report(problem, shapes, labels, lrs, starts, result, rule, head, notes)


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
