"""descend: the update rule w = w - lr * dl/dw (and its cousins), step by step."""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from gdcli.compile.chunks import FLOAT, INT, TEXT, Chunk, Chunked
from gdcli.compile.load import Loaded as Compiled
from gdcli.compile.trace import Trace, fused
from gdcli.descent import Descent, Outcome, Step
from gdcli.errors import Diverged
from gdcli.limits import PLOT_POINTS
from gdcli.optimizers import Optimizer
from gdcli.params import entry_labels, flatten, json_value, unflatten
from gdcli.reports.base import Report, Table
from gdcli.reports.curvature import curvature, sentence
from gdcli.reports.explain import explain
from gdcli.reports.figures import (
    Figure,
    contour_series,
    curve_figure,
    legend_room,
    padded,
    path_figure_1d,
    path_figure_2d,
)
from gdcli.reports.words import subgradient_note

if TYPE_CHECKING:
    from gdcli.schedules import Schedule
from gdcli.stopping import CONVERGED, DIVERGED, INTERRUPTED, MAX_STEPS, StopRule, finite, norm

GROWING = 100.0  # a loss this many times its start (and more) is called growing
HEAD_TAIL = 10  # a terminal table longer than 3x this shows the first and last rows
PROGRESS_EVERY = 4096  # steps between two updates of a progress bar


class History:
    """Every step's loss and parameters for the plots, thinned to at most
    PLOT_POINTS (every other point is dropped when full), so memory stays flat."""

    def __init__(self) -> None:
        self.stride = 1
        self.points: list[tuple[int, float, list[float]]] = []

    def add(self, step: int, loss: float, flat: list[float]) -> None:
        if step % self.stride:
            return
        self.points.append((step, loss, flat))
        if len(self.points) > PLOT_POINTS:
            self.stride *= 2
            self.points = [p for p in self.points if p[0] % self.stride == 0]


class Run:
    """One pass over a descent, sampled every `every` steps (the start and the last
    step always). Its outcome, first and last step exist once the pass has ended:
    asking earlier is an error, never a stale answer."""

    def __init__(
        self,
        descent: Descent,
        every: int,
        keep_history: bool,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.descent = descent
        self.every = every
        self.history = History() if keep_history else None
        self.progress = progress
        self.first: Step | None = None
        self._last: Step | None = None
        self._shown: Step | None = None  # the last step handed out
        self._outcome: Outcome | None = None
        self._started = False

    @property
    def outcome(self) -> Outcome:
        if self._outcome is None:
            raise RuntimeError("the run has not ended yet")
        return self._outcome

    @property
    def shown(self) -> Step | None:
        """The step handed out last (the one a table row is being made of)."""
        return self._shown

    @property
    def last(self) -> Step:
        if self._outcome is None or self._last is None:
            raise RuntimeError("the run has not ended yet")
        return self._last

    def end(self, outcome: Outcome, last: Step) -> None:
        """End the run without iterating (the fused loop computed it)."""
        self._outcome, self._last = outcome, last

    def interrupt(self) -> None:
        """Ctrl-C: the run ends at the last step it handed out."""
        if self._outcome is None and self._shown is not None:
            self._last = self._shown
            self._outcome = Outcome(INTERRUPTED, self._shown.step, "interrupted (Ctrl-C)")

    def chunks(self, trace: Trace) -> Iterator[Chunk | Step]:
        """The pass through a trace loop: its chunks of rows, then the last step. Where
        the loop gives up, the step loop's steps from the first row not handed out."""
        if self._started:
            raise RuntimeError("a run is one pass: it cannot be read twice")
        self._started = True
        self.first = trace.first
        for chunk in trace.chunks():
            self._shown = trace.shown
            yield chunk
        if trace.failed:
            resume, self._started, self.first = trace.resume, False, None
            yield from (s for s in self if s.step >= resume)
            return
        self._last = self._shown = trace.last
        self._outcome = trace.outcome
        if trace.last is not None:
            yield trace.last

    def __iter__(self) -> Iterator[Step]:
        if self._started:
            raise RuntimeError("a run is one pass: it cannot be read twice")
        self._started = True
        steps: Generator[Step, None, Outcome] = self.descent.run()
        held: Step | None = None  # a step to show, waiting for the point after it
        while True:
            try:
                s = next(steps)
            except StopIteration as stop:
                outcome: Outcome = stop.value
                break
            if held is not None:
                held.after = s.params
                self._shown = held
                yield held
                held = None
            self._last = s
            if self.first is None:
                self.first = s
            if self.progress is not None and s.step % PROGRESS_EVERY == 0:
                self.progress(s.step)
            if self.history is not None:
                self.history.add(s.step, s.loss, flatten(s.params))
            if s.step % self.every == 0:
                held = s
        if self.progress is not None:
            self.progress(self.descent.rule.steps)  # the end: let the bar go
        last = self._last
        if held is None and last is not None and last is not self._shown:
            held = last  # the last step is always shown
        if held is not None:
            self._shown = held
            yield held
        self._outcome = outcome


def descend(
    compiled: Compiled,
    start: list[Any],
    optimizer: Callable[[], Optimizer],
    rule: StopRule,
    every: int,
    show_state: bool,
    logy: bool,
    wide: bool,
    progress: Callable[[int], None] | None = None,
    schedule: Callable[[], Schedule] | None = None,
    explain_steps: int = 0,
) -> Report:
    names = list(compiled.variables)
    shapes = [compiled.shapes[n] for n in names]
    scalar = all(not s for s in shapes)
    labels = [label for n in names for label in entry_labels(n, compiled.shapes[n])]
    descent = Descent(
        compiled.evaluate_params, start, optimizer, rule, show_state, schedule, explain_steps
    )
    run = Run(descent, every, keep_history=wide, progress=progress)
    sample = optimizer()
    lr = sample.lr
    scheduled = schedule() if schedule is not None else None

    def record(s: Step) -> dict[str, Any]:
        out: dict[str, Any] = {
            "step": s.step,
            "params": {n: json_value(p) for n, p in zip(names, s.params, strict=True)},
            "loss": s.loss,
            "grad": {n: json_value(g) for n, g in zip(names, s.grad, strict=True)},
        }
        if s.lr is not None:
            out["lr"] = s.lr
        if s.explain is not None:
            out["explain"] = {
                n: {k: json_value(x) for k, x in values.items() if x is not None}
                for n, values in zip(names, s.explain, strict=True)
            }
        if s.state is not None:
            out["state"] = {
                k: {n: json_value(v) for n, v in zip(names, vs, strict=True)}
                for k, vs in s.state.items()
            }
        return out

    head: dict[str, Any] = {
        "expression": compiled.text,
        "variables": names,
        "optimizer": sample.name,
        "lr": lr,
        "hyper": sample.hyperparameters(),
        **(
            {"scheduler": {"name": scheduled.name, **scheduled.options()}}
            if scheduled is not None
            else {}
        ),
        "tol": rule.tol,
        "start": {n: json_value(p) for n, p in zip(names, start, strict=True)},
    }

    def tail() -> dict[str, Any]:
        outcome, last = run.outcome, run.last
        out: dict[str, Any] = {
            "status": outcome.status,
            "final": {
                "step": last.step,
                "params": {n: json_value(p) for n, p in zip(names, last.params, strict=True)},
                "loss": last.loss,
            },
            "diverged_at": outcome.step if outcome.status == DIVERGED else None,
            "reason": outcome.reason or None,
        }
        if len(names) == 1 and scalar:
            out["stability"] = _stability(compiled, run, sample)
        elif len(labels) >= 2:
            out["stability"] = several()
        out["growing"] = outcome.status == MAX_STEPS and _growth(run.first, last) is not None
        return out

    state_keys = _state_keys(sample, start) if show_state else []

    one = len(labels) == 1 and scalar
    cause = _cause(sample)

    def csv_row(s: Step) -> list[Any]:
        state = s.state or {}
        extra = [
            x
            for k in state_keys
            for x in (flatten(state[k]) if k in state else [None] * len(labels))
        ]
        flat = flatten(s.params)
        updates = _updates(flat, s.after)
        words = [_direction(labels[0], s.grad[0], updates[0], cause)] if one else []
        shown = ["" if u is None else u for u in updates]
        rate = [s.lr] if scheduled is not None else []
        return [s.step, *rate, *flat, s.loss, *flatten(s.grad), *extra, *shown, *words]

    def csv_rows() -> Iterator[list[Any]]:
        return (csv_row(s) for s in run)

    # long runs of scalar weights come from a generated loop, in chunks (the step loop's
    # rows, to the last bit); the step loop is the reference and the fallback
    traceable = scalar and scheduled is None and not explain_steps and not show_state

    def traced(updates: bool, encode: Callable[[str], str] | None) -> Trace:
        words = None
        if one and encode is not None:  # the direction's text depends on two signs only
            signs = (1, -1, 0)
            words = {
                (a, b): encode(_direction(labels[0], float(a), float(b), cause))
                for a in signs
                for b in signs
            }
        return Trace(
            compiled, start, descent.first, optimizer(), rule,
            every=every, updates=updates, directions=words,
        )  # fmt: skip

    def chunked_rows(encode: Callable[[str], str]) -> Iterator[Chunk | list[Any]]:
        for item in run.chunks(traced(True, encode)):
            yield item if isinstance(item, Chunk) else csv_row(item)

    def chunked_records(encode: Callable[[str], str] | None) -> Iterator[Chunk | dict[str, Any]]:
        for item in run.chunks(traced(False, None)):
            yield item if isinstance(item, Chunk) else record(item)

    columns = ["step", *(["lr"] if scheduled is not None else [])]
    columns += [*labels, "loss", *(f"grad_{label}" for label in labels)]
    columns += [f"{k}_{label}" for k in state_keys for label in labels]
    columns += [f"update_{label}" for label in labels] + (["direction"] if one else [])
    rows: Iterable[list[Any]] = csv_rows()
    records: Iterable[dict[str, Any]] = (record(s) for s in run)
    if traceable and not wide:
        size = len(labels)
        kinds = [INT, *[FLOAT] * (3 * size + 1), *([TEXT] if one else [])]
        rows = Chunked(rows, chunked_rows, kinds=kinds)
        leaves = dict.fromkeys(names, FLOAT)
        skeleton = {"step": INT, "params": leaves, "loss": FLOAT, "grad": leaves}
        records = Chunked(records, chunked_records, skeleton=skeleton)
    tables = [Table(columns, rows, title="")]
    if wide:
        tables = [
            _terminal_table(
                run, names, labels, scalar, state_keys, rule.steps, cause, scheduled is not None
            )
        ]
        if not scalar:
            tables += [
                Table(
                    [name, *[f"col {j + 1}" for j in range(_cols(compiled.shapes[name]))]],
                    _matrix_rows(run, names.index(name), which),
                    title=f"{name} at the {which} step",
                    records=False,
                )
                for which in ("first", "last")
                for name in names
                if compiled.shapes[name]
            ]

    explanations: list[list[Any]] = []  # (step, weight, line) rows, filled as the run goes
    hyper = sample.hyperparameters()

    def explained(rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
        """The rows of the main table, keeping each step's explanation for the next table."""
        for row in rows:
            s = run.shown
            if s is not None and s.explain is not None:
                for n, values in zip(names, s.explain, strict=True):
                    if not compiled.shapes[n]:
                        explanations.extend(
                            [s.step, line] for line in explain(sample.name, hyper, n, values)
                        )
            yield row

    if explain_steps:
        main = tables[0]
        tables[0] = main._replace(rows=explained(main.rows))
        tables.insert(
            1,
            Table(
                ["step", "the next update, written out"],
                explanations,
                title="how each update is computed (the update rule's formula, with its numbers)",
                records=False,
                text_columns=frozenset({"the next update, written out"}),
            ),
        )

    curvatures: dict[str, Any] = {}

    def several() -> dict[str, Any] | None:
        """The Hessian's story at the start and the end (several weights)."""
        if "done" not in curvatures:
            points = {"start": run.first, "end": run.last}
            for key, step in points.items():
                if step is None or not finite(step.params):
                    continue
                hessian = compiled.hessian(step.params)
                if hessian is not None:
                    at = {n: json_value(p) for n, p in zip(names, step.params, strict=True)}
                    curvatures[key] = {"at": at, **curvature(hessian, compiled.kind != "arrays")}
            curvatures["done"] = True
        found = {k: v for k, v in curvatures.items() if k != "done"}
        if not found:
            return None
        main = found.get("start" if run.outcome.status == DIVERGED else "end") or next(
            iter(found.values())
        )
        return {**main, "where": "start" if main is found.get("start") else "end", **found}

    def quiet() -> list[Any]:
        whole = (
            None
            if schedule is not None
            else fused(compiled, start, descent.first, optimizer(), rule)
        )
        if whole is not None:
            run.end(
                whole.outcome,
                Step(whole.outcome.step, unflatten(whole.params, shapes), whole.loss, []),
            )
            return [*whole.params, whole.loss]
        for _ in run:
            pass
        return [*flatten(run.last.params), run.last.loss]

    def notes() -> list[str]:
        out = [_status_line(run.outcome, run.last, names)]
        if len(names) == 1 and scalar:
            out.append(_stability_line(_stability(compiled, run, sample), sample, names[0]))
        elif len(labels) >= 2:
            info = several()
            if info is not None:
                exact = compiled.kind != "arrays"
                for key, where in (("start", "the start"), ("end", "the end point")):
                    if info.get(key) is not None:
                        out.append(sentence(info[key], where, exact))
        grown = _growth(run.first, run.last) if run.outcome.status == MAX_STEPS else None
        if grown is not None:
            out.append(
                f"the loss grew {grown:.3g} times over the run (from {run.first.loss:.6g} "  # type: ignore[union-attr]
                f"to {run.last.loss:.6g}): it is growing, not converging, and would diverge "
                "with more steps."
            )
        if compiled.has_kink:
            out.append(subgradient_note())
        return out

    def finish() -> None:
        outcome = run.outcome
        if outcome.status == DIVERGED:
            raise Diverged(outcome.step, outcome.reason)

    def figures() -> list[Figure]:
        out = [_loss_figure(run, logy)]
        if len(labels) == 1:
            out.append(_path_figure_1d(compiled, run))
        elif len(labels) == 2:
            out.append(_path_figure_2d(compiled, run, labels))
        return out

    return Report(
        head,
        tables,
        quiet,
        rows_key="steps",
        records=records,
        tail=tail,
        notes=notes,
        figures=figures,
        finish=finish,
        interrupt=run.interrupt,
    )


def _cols(shape: tuple[int, ...]) -> int:
    return shape[1] if len(shape) == 2 else 1


def _matrix_rows(run: Run, index: int, which: str) -> Iterator[list[Any]]:
    step = run.first if which == "first" else run.last
    if step is None:
        return
    value = step.params[index]
    matrix = value.reshape(-1, 1) if value.ndim == 1 else value
    for i, row in enumerate(matrix):
        yield [f"row {i + 1}", *(float(v) for v in row)]


def _updates(flat: list[float], after: list[Any] | None) -> list[float | None]:
    """The next update of every entry (None for the last step)."""
    if after is None:
        return [None] * len(flat)
    return [b - a for a, b in zip(flat, flatten(after), strict=True)]


def _cause(optimizer: Optimizer) -> str:
    """What can move a weight against its slope under this update rule."""
    hyper = optimizer.hyperparameters()
    if optimizer.name in ("adam", "adamw"):
        return "Adam's running average of past slopes (m)"
    if hyper.get("momentum"):
        return "momentum"
    if hyper.get("weight_decay"):
        return "weight decay (which pulls toward 0)"
    return "the update rule"


def _direction(name: str, slope: float, update: float | None, cause: str) -> str:
    """The course's reason for the next update, true to what the update does: the
    slope's sign says which way plain gradient descent goes; where the update went
    the other way, say what carried it."""
    if update is None or not (math.isfinite(slope) and math.isfinite(update)):
        return ""
    said = "slope > 0" if slope > 0 else "slope < 0" if slope < 0 else "slope = 0"
    plain = "decreases" if slope > 0 else "increases" if slope < 0 else "stays"
    moved = "decreases" if update < 0 else "increases" if update > 0 else "stays"
    if moved == plain:
        return f"{said}, so {name} {moved}"
    if moved == "stays":
        return f"{said}, but {name} stays (the update is 0)"
    way = "up" if update > 0 else "down"
    return f"{said}, but {cause} carries {name} {way}"


def _terminal_table(
    run: Run,
    names: list[str],
    labels: list[str],
    scalar: bool,
    state_keys: list[str],
    steps: int,
    cause: str,
    scheduled: bool = False,
) -> Table:
    """The table a student reads: for one weight its next update and the reason."""
    one = len(labels) == 1 and scalar
    rate = ["lr"] if scheduled else []
    if scalar:
        columns = ["step", *rate, *labels, "loss", *(f"dl/d{label}" for label in labels)]
        if one:
            columns += [f"next update Δ{labels[0]}", "direction"]
    else:
        columns = ["step", *rate, "loss", "|grad|"]
    state_keys = state_keys if scalar else []
    columns += [f"{k}[{n}]" for k in state_keys for n in names]

    def rows() -> Iterator[list[Any]]:
        for s in run:
            flat, grad = flatten(s.params), flatten(s.grad)
            rates = [s.lr] if scheduled else []
            if scalar:
                row: list[Any] = [s.step, *rates, *flat, s.loss, *grad]
                if one:
                    (update,) = _updates(flat, s.after)
                    row += [update, _direction(labels[0], grad[0], update, cause)]
            else:
                row = [s.step, *rates, s.loss, norm(grad)]
            if state_keys and s.state is not None:
                row += [
                    None if v is None else float(v)
                    for k in state_keys
                    for v in s.state.get(k, [None] * len(names))
                ]
            yield row

    long = steps // max(run.every, 1) > 3 * HEAD_TAIL
    return Table(columns, rows(), head_tail=HEAD_TAIL if long else None)


def _state_keys(optimizer: Optimizer, start: list[Any]) -> list[str]:
    """The optimizer's state keys (they exist only after a first update: try one on a
    fresh optimizer of the same kind)."""
    optimizer.step(start, [0.0 * p for p in start])
    return list(optimizer.state())


def _status_line(outcome: Outcome, last: Step, names: list[str]) -> str:
    where = ", ".join(
        f"{n} = {p:.10g}" if isinstance(p, float) else f"{n} (see table)"
        for n, p in zip(names, last.params, strict=True)
    )
    if outcome.status == CONVERGED:
        return (
            f"converged after {outcome.step} steps: the gradient's norm is <= tol; "
            f"{where}, loss {last.loss:.10g}."
        )
    if outcome.status == DIVERGED:
        return f"diverged at step {outcome.step}: {outcome.reason}."
    if outcome.status == INTERRUPTED:
        return f"interrupted after {outcome.step} steps: {where}, loss {last.loss:.10g}."
    return f"stopped after {outcome.step} steps (max_steps): {where}, loss {last.loss:.10g}."


def _bound(optimizer: Optimizer, curvature: float) -> tuple[float | None, str]:
    """The largest stable lr of this update rule on the quadratic model with curvature
    l'' (None where no simple bound exists), and the rule as text."""
    hyper = optimizer.hyperparameters()
    if optimizer.name != "sgd":
        return None, ""
    beta = float(hyper.get("momentum", 0.0))
    damp = float(hyper.get("dampening", 0.0)) if beta else 0.0
    decay = float(hyper.get("weight_decay", 0.0))
    h = curvature + decay  # weight decay adds to the curvature: g + wd * w
    text = "l''" if not decay else "(l'' + weight_decay)"
    if h <= 0:
        return None, ""
    if not beta:
        return 2 / h, f"lr < 2 / {text}"
    if hyper.get("nesterov"):  # Nesterov's momentum m on a quadratic
        bound = 2 * (1 + beta) / ((1 + 2 * beta) * h)
        return bound, f"lr < 2(1 + {beta:g}) / ((1 + 2·{beta:g}) {text})"
    scale = 1 - damp  # heavy-ball momentum m; the buffer gathers (1 - dampening) of each g
    if scale <= 0:
        return None, ""
    damping = f"(1 - {damp:g}) " if damp else ""
    return 2 * (1 + beta) / (scale * h), f"lr < 2(1 + {beta:g}) / {damping}{text}"


def _stability(compiled: Compiled, run: Run, optimizer: Optimizer) -> dict[str, Any] | None:
    """The local stability bound of the update rule on the quadratic model: at the
    start for a run that diverged (where it went wrong), else at the end point."""
    diverged = run.outcome.status == DIVERGED
    step = run.first if diverged else run.last
    if step is None or not math.isfinite(step.params[0]):
        return None
    curvature = compiled.curvature(step.params[0])
    if curvature is None:
        return None
    bound, rule = _bound(optimizer, curvature)
    lr = step.lr if step.lr is not None else optimizer.lr  # a schedule's lr at that point
    return {
        "at": step.params[0],
        "where": "start" if diverged else "end",
        "second_derivative": curvature,
        "bound": bound,
        "rule": rule or None,
        "lr": float(lr) if step.lr is not None else None,
        "inside": None if bound is None else bool(lr < bound),
    }


def _stability_line(info: dict[str, Any] | None, optimizer: Optimizer, name: str) -> str:
    if info is None:
        return "stability: l'' is not defined where the bound would be taken."
    where = "the start" if info["where"] == "start" else "the end point"
    curve = info["second_derivative"]
    if optimizer.name != "sgd":
        return (
            f"stability: l''({name}) = {curve:.6g} at {where}, {name} = {info['at']:.6g}; "
            f"{optimizer.name} rescales each step by running averages of the slopes, so no "
            "simple bound on lr follows from l''."
        )
    if info["bound"] is None:
        shape = "is straight" if curve == 0 else "curves down"
        return (
            f"stability: l''({name}) = {curve:.6g} at {where}, {name} = {info['at']:.6g}: the "
            f"loss {shape} there, so its curvature sets no upper bound on lr."
        )
    verdict = "inside" if info["inside"] else "OUTSIDE"
    which = (
        "the chosen lr" if info.get("lr") is None else f"the schedule's lr there, {info['lr']:.6g},"
    )
    return (
        f"stability: at {where}, {name} = {info['at']:.6g}, l'' = {curve:.6g}; on this "
        f"quadratic model the update rule is stable for {info['rule']} = {info['bound']:.6g}; "
        f"{which} is {verdict} it."
    )


def _growth(first: Step | None, last: Step) -> float | None:
    """How many times the loss grew from the start to the end (None if it did not)."""
    if first is None or not math.isfinite(last.loss):
        return None
    scale = max(1.0, abs(first.loss))
    return abs(last.loss) / scale if abs(last.loss) > GROWING * scale else None


def _loss_figure(run: Run, logy: bool) -> Figure:
    points = run.history.points if run.history else []
    return curve_figure(
        [p[0] for p in points],
        [p[1] for p in points],
        label="loss",
        logy=logy,
        title="loss against step" + (" (log scale)" if logy else ""),
        xlabel="step",
        ylabel="loss",
    )


def _path_figure_1d(compiled: Compiled, run: Run) -> Figure:
    points = run.history.points if run.history else []
    ws = [p[2][0] for p in points if math.isfinite(p[2][0])] or [run.last.params[0]]
    lo, hi = min(ws), max(ws)
    pad = max(0.5, 0.15 * (hi - lo))
    lo, hi = lo - pad, hi + pad
    xs = [lo + (hi - lo) * k / 200 for k in range(201)]
    name = compiled.variables[0]
    return path_figure_1d(
        xs,
        [compiled.evaluate_params([x])[0] for x in xs],
        [p[2][0] for p in points],
        [p[1] for p in points],
        title=f"the path on l({name}) = {compiled.text}",
        xlabel=name,
        ylabel=f"l({name})",
    )


def _path_figure_2d(compiled: Compiled, run: Run, labels: list[str]) -> Figure:
    """The path of two weights on the level lines of the loss, start and end marked."""
    points = run.history.points if run.history else []
    xs, ys = [p[2][0] for p in points], [p[2][1] for p in points]
    path = path_figure_2d(
        xs,
        ys,
        title=f"the path on the level lines of the loss, in the ({labels[0]}, {labels[1]}) plane",
        xlabel=labels[0],
        ylabel=labels[1],
    )
    x_range, y_range = padded(xs), legend_room(padded(ys))

    def loss(x: float, y: float) -> float:
        return compiled.evaluate_params(
            unflatten([x, y], [compiled.shapes[n] for n in compiled.variables])
        )[0]

    return path._replace(series=[*contour_series(loss, x_range, y_range), *path.series])
