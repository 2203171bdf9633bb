"""descend: the update rule w = w - lr * dl/dw (and its cousins), step by step."""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from gdcli.compile.chunks import FLOAT, INT, TEXT, Chunk, Chunked
from gdcli.compile.load import Loaded as Compiled
from gdcli.compile.trace import Trace, fused
from gdcli.descent import BatchDescent, Descent, Outcome, Step
from gdcli.errors import Diverged
from gdcli.limits import PLOT_POINTS
from gdcli.optimizers import Optimizer
from gdcli.params import entry_labels, flatten, json_value, unflatten
from gdcli.reports.base import Report, Table
from gdcli.reports.curvature import curvature, sentence
from gdcli.reports.explain import explain
from gdcli.reports.figures import (
    Figure,
    Series,
    contour_series,
    curve_figure,
    legend_room,
    padded,
    path_figure_1d,
    path_figure_2d,
)
from gdcli.reports.words import (
    data_sentence,
    roles_note,
    subgradient_note,
    training_summary,
)

if TYPE_CHECKING:
    from gdcli.data import Training
    from gdcli.schedules import Schedule
from gdcli.stopping import CONVERGED, DIVERGED, INTERRUPTED, MAX_STEPS, StopRule, finite, norm

GROWING = 100.0  # a loss this many times its start (and more) is called growing
HEAD_TAIL = 10  # a terminal table longer than 3x this shows the first and last rows
PROGRESS_EVERY = 4096  # steps between two updates of a progress bar


class History:
    """Every step's loss and first two entries for the plots, thinned to at most
    PLOT_POINTS (every other point is dropped when full), so memory stays flat.
    On training data with the full data's loss, that loss too (else None)."""

    def __init__(self) -> None:
        self.stride = 1
        self.points: list[tuple[int, float, list[float], float | None]] = []

    def add(self, step: int, loss: float, flat: list[float], full: float | None = None) -> None:
        if step % self.stride:
            return
        self.points.append((step, loss, flat, full))
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
                # the pictures draw at most the first two entries: only those are kept
                # (a 100x100 W over 4,000 kept steps would be 40 million floats)
                self.history.add(
                    s.step, s.loss, flatten(s.params)[:2], s.full[0] if s.full is not None else None
                )
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
    training: Training | None = None,
    inputs: Sequence[str] = (),
) -> Report:
    """The report of a descent; on `training` data a mini-batch descent (each step's
    loss and gradient over the batch of the next update, the last over every example).
    `inputs`: the names of the loss that are fixed (inputs with a value, data columns)."""
    names = list(compiled.variables)
    shapes = [compiled.shapes[n] for n in names]
    scalar = all(not s for s in shapes)
    labels = [label for n in names for label in entry_labels(n, compiled.shapes[n])]
    descent: Descent
    if training is None:
        descent = Descent(
            compiled.evaluate_params, start, optimizer, rule, show_state, schedule, explain_steps
        )
    else:
        descent = BatchDescent(
            compiled.evaluate_rows,  # type: ignore[union-attr]
            start,
            optimizer,
            rule,
            training.batches,
            show_state,
            schedule,
            training.full,
            explain_steps,
        )
    full = training is not None and training.full
    run = Run(descent, every, keep_history=wide, progress=progress)

    def rows_of(s: Step) -> list[int] | None:
        """The batch's row numbers (None for the last step: every example)."""
        if training is None or s.batch is None:
            return None
        return training.data.row_numbers(s.batch.index)

    sample = optimizer()
    lr = sample.lr
    scheduled = schedule() if schedule is not None else None

    def record(s: Step) -> dict[str, Any]:
        out = step_record(s, names, training)
        if s.full is not None:
            full_loss, full_grad = s.full
            out["full_loss"] = full_loss
            out["full_grad"] = {n: json_value(g) for n, g in zip(names, full_grad, strict=True)}
            out["cosine"] = cosine(s.grad, full_grad)
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
    if training is not None:
        head["data"] = data_head(training, rule.steps)

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
        if len(names) == 1 and scalar and training is None:
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
            x for k in state_keys for x in (flatten(state[k]) if k in state else [""] * len(labels))
        ]
        flat = flatten(s.params)
        updates = _updates(flat, s.after)
        words = [_direction(labels[0], s.grad[0], updates[0], cause)] if one else []
        shown = ["" if u is None else u for u in updates]
        rate = [s.lr] if scheduled is not None else []
        where = _where(s, rows_of(s)) if training is not None else []
        fulls = _full_cells(s) if full else []
        return [
            s.step, *rate, *where, *flat, s.loss, *flatten(s.grad), *fulls,
            *extra, *shown, *words,
        ]  # fmt: skip

    def csv_rows() -> Iterator[list[Any]]:
        return (csv_row(s) for s in run)

    # long runs of scalar weights come from a generated loop, in chunks (the step loop's
    # rows, to the last bit); the step loop is the reference and the fallback
    traceable = scalar and scheduled is None and not explain_steps and not show_state
    traceable = traceable and training is None and not wide

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
    columns += ["epoch", "batch"] if training is not None else []
    columns += [*labels, "loss", *(f"grad_{label}" for label in labels)]
    columns += ["full_loss", *(f"full_grad_{label}" for label in labels), "cosine"] if full else []
    columns += [f"{k}_{label}" for k in state_keys for label in labels]
    columns += [f"update_{label}" for label in labels] + (["direction"] if one else [])
    rows: Iterable[list[Any]] = csv_rows()
    records: Iterable[dict[str, Any]] = (record(s) for s in run)
    if traceable:
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
                run,
                names,
                labels,
                scalar,
                state_keys,
                rule.steps,
                cause,
                scheduled is not None,
                rows_of if training is not None else None,
                full,
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
        whole = None
        if schedule is None and training is None:  # the whole run in one generated loop
            whole = fused(compiled, start, descent.first, optimizer(), rule)
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
        out = [] if training is None else data_notes(training, rule.steps)
        roles = roles_note(names, inputs, None)
        if roles:
            out.append(roles)
        out.append(_status_line(run.outcome, run.last, names, training))
        if len(names) == 1 and scalar and training is None:
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
        out = [_loss_figure(run, logy, training is not None)]
        if len(labels) == 1:
            out.append(_path_figure_1d(compiled, run, training is not None))
        elif len(labels) == 2:
            examples = training.data.size if training is not None else None
            out.append(_path_figure_2d(compiled, run, labels, examples))
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


# ---------------------------------------------------------------------------
# training data


def cosine(a: list[Any], b: list[Any]) -> float | None:
    """The cosine of the angle between two gradients (all their entries as one
    vector); None when either is zero or not finite."""
    x, y = flatten(a), flatten(b)
    na, nb = math.sqrt(math.fsum(v * v for v in x)), math.sqrt(math.fsum(v * v for v in y))
    if not (na > 0 and nb > 0 and math.isfinite(na) and math.isfinite(nb)):
        return None
    return max(-1.0, min(1.0, math.fsum(u * v for u, v in zip(x, y, strict=True)) / (na * nb)))


def rows_text(rows: list[int] | None, most: int | None = None) -> str:
    """Row numbers as text: `2-65` for a run of consecutive rows, else `17 5 103`;
    `all` for every example (None). With `most`, at most that many pieces, then `…`
    (a terminal's narrow column; csv, plain and JSON have every row)."""
    if rows is None:
        return "all"
    pieces: list[str] = []
    k = 0
    while k < len(rows):
        j = k
        while j + 1 < len(rows) and rows[j + 1] == rows[j] + 1:
            j += 1
        if j - k >= 2:
            pieces.append(f"{rows[k]}-{rows[j]}")
        else:
            pieces.extend(str(r) for r in rows[k : j + 1])
        k = j + 1
        if most is not None and len(pieces) > most:
            return " ".join(pieces[:most]) + " …"
    return " ".join(pieces)


def data_head(training: Training, steps: int) -> dict[str, Any]:
    return {
        **training_summary(training),
        "steps": steps,
        "step_loss": "over the batch of the next update; the last step's over every example",
    }


def data_notes(training: Training, steps: int) -> list[str]:
    """What the data are and how the batches feed them, in the course's words."""
    batches = training.batches
    out = [data_sentence(training.data)]
    if batches.size >= batches.n and not batches.shuffle:
        out.append("every step uses every example (full batch).")
    else:
        order = (
            f"shuffled by numpy.random.default_rng({batches.seed}), a new permutation each epoch"
            if batches.shuffle
            else "in the file's order"
        )
        short = batches.n % batches.size
        tail = f", the last one of {short}" if short else ""
        epochs = steps / batches.per_epoch
        out.append(
            f"mini-batches of {batches.size} examples ({order}): {batches.per_epoch} batches "
            f"per epoch{tail}; {steps} steps = {epochs:.4g} epochs, each visiting every example "
            "once. A step's loss and gradient are over the batch of rows its next update "
            "uses; the last step's over every example."
        )
    return out


def _where(s: Step, rows: list[int] | None) -> list[Any]:
    """The epoch and batch cells of a csv/plain row."""
    return ["" if s.epoch is None else s.epoch, rows_text(rows)]


def _full_cells(s: Step) -> list[Any]:
    if s.full is None:
        return []
    loss, grad = s.full
    return [loss, *flatten(grad), cosine(s.grad, grad)]


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
    rows_of: Callable[[Step], list[int] | None] | None = None,
    full: bool = False,
) -> Table:
    """The table a student reads: for one weight its next update and the reason.
    On training data: the epoch and the batch's rows; with `full` the loss over every
    example and the cosine between the batch's gradient and the full one."""
    one = len(labels) == 1 and scalar
    rate = ["lr"] if scheduled else []
    rate += ["epoch", "rows"] if rows_of is not None else []
    fulls = ["full loss", "cosine"] if full else []
    if scalar:
        columns = ["step", *rate, *labels, "loss", *(f"dl/d{label}" for label in labels)]
        columns += fulls
        if one:
            columns += [f"next update Δ{labels[0]}", "direction"]
    else:
        columns = ["step", *rate, "loss", "|grad|", *fulls]
    state_keys = state_keys if scalar else []
    columns += [f"{k}[{n}]" for k in state_keys for n in names]

    def rows() -> Iterator[list[Any]]:
        for s in run:
            flat, grad = flatten(s.params), flatten(s.grad)
            rates: list[Any] = [s.lr] if scheduled else []
            if rows_of is not None:
                rates += [s.epoch, rows_text(rows_of(s), most=2)]
            extra = [s.full[0], cosine(s.grad, s.full[1])] if s.full is not None else []
            if scalar:
                row: list[Any] = [s.step, *rates, *flat, s.loss, *grad, *extra]
                if one:
                    (update,) = _updates(flat, s.after)
                    row += [update, _direction(labels[0], grad[0], update, cause)]
            else:
                row = [s.step, *rates, s.loss, norm(grad), *extra]
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


def _status_line(
    outcome: Outcome, last: Step, names: list[str], training: Training | None = None
) -> str:
    where = ", ".join(
        f"{n} = {p:.10g}" if isinstance(p, float) else f"{n} (see table)"
        for n, p in zip(names, last.params, strict=True)
    )
    # on training data the last step's loss is over every example
    loss = "loss" if training is None else "loss over every example"
    if outcome.status == CONVERGED:
        mini = training is not None and training.batches.per_epoch > 1
        which = "the next batch's gradient's norm" if mini else "the gradient's norm"
        return (
            f"converged after {outcome.step} steps: {which} is <= tol; "
            f"{where}, {loss} {last.loss:.10g}."
        )
    if outcome.status == DIVERGED:
        return f"diverged at step {outcome.step}: {outcome.reason}."
    if outcome.status == INTERRUPTED:
        return f"interrupted after {outcome.step} steps: {where}, loss {last.loss:.10g}."
    return f"stopped after {outcome.step} steps (max_steps): {where}, {loss} {last.loss:.10g}."


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
    below = f"((1 - {damp:g}) {text})" if damp else text
    return 2 * (1 + beta) / (scale * h), f"lr < 2(1 + {beta:g}) / {below}"


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
    if compiled.has_kink and _on_a_kink(compiled, step.params[0], curvature):
        return {
            "at": step.params[0],
            "where": "start" if diverged else "end",
            "second_derivative": None,
            "bound": None,
            "rule": None,
            "lr": None,
            "inside": None,
            "kink": True,
        }
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


def _on_a_kink(compiled: Compiled, w: float, curvature: float) -> bool:
    """Is w on a kink of the loss: its slope jumps there, or its curvature does (where
    SymPy's l'' takes Heaviside(0) = 1/2 and sign(0) = 0, the loss is not twice
    differentiable)? Read from both sides, 1e-9 (relative) away: a point nearer a kink
    than that is taken to be on it."""
    delta = 1e-9 * max(1.0, abs(w))
    (_, (left,)), (_, (right,)) = (
        compiled.evaluate_params([w - delta]),
        compiled.evaluate_params([w + delta]),
    )
    below, above = compiled.curvature(w - delta), compiled.curvature(w + delta)
    if not all(math.isfinite(v) for v in (left, right)) or below is None or above is None:
        return False
    jump = abs(right - left - 2 * delta * curvature)
    bend = abs(above - below)
    return jump > 1e-3 * (abs(left) + abs(right)) + 1e-8 or bend > 1e-3 * max(
        1.0, abs(below), abs(above)
    )


def step_record(s: Step, names: list[str], training: Training | None) -> dict[str, Any]:
    """A step as JSON: step, params, loss, grad, and lr under a schedule; on training
    data its epoch and batch (its row numbers; None for every example)."""
    out: dict[str, Any] = {
        "step": s.step,
        "params": {n: json_value(p) for n, p in zip(names, s.params, strict=True)},
        "loss": s.loss,
        "grad": {n: json_value(g) for n, g in zip(names, s.grad, strict=True)},
    }
    if s.lr is not None:
        out["lr"] = s.lr
    if training is not None:
        out["epoch"] = s.epoch
        out["batch"] = None if s.batch is None else training.data.row_numbers(s.batch.index)
    return out


def _stability_line(info: dict[str, Any] | None, optimizer: Optimizer, name: str) -> str:
    if info is None:
        return "stability: l'' is not defined where the bound would be taken."
    where = "the start" if info["where"] == "start" else "the end point"
    if info.get("kink"):
        return (
            f"stability: {where}, {name} = {info['at']:.6g}, is on a kink of the loss, where l'' "
            "is not defined: its curvature gives no bound on lr there."
        )
    curve = info["second_derivative"]
    if optimizer.name != "sgd":
        return (
            f"stability: l''({name}) = {curve:.6g} at {where}, {name} = {info['at']:.6g}; "
            f"{optimizer.name} rescales each step by running averages of the slopes, so no "
            "simple bound on lr follows from l''."
        )
    if info["bound"] is None:
        if curve == 0:
            return (
                f"stability: l''({name}) is 0 in floating point at {where}, {name} = "
                f"{info['at']:.6g}: the loss is straight there, or bends by less than the "
                "smallest float (4.9e-324), so its curvature sets no upper bound on lr."
            )
        return (
            f"stability: l''({name}) = {curve:.6g} at {where}, {name} = {info['at']:.6g}: the "
            "loss curves down there, so its curvature sets no upper bound on lr."
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


def _loss_figure(run: Run, logy: bool, data: bool = False) -> Figure:
    points = run.history.points if run.history else []
    title = "loss against step" + (" (log scale)" if logy else "")
    if not data:
        return curve_figure(
            [p[0] for p in points],
            [p[1] for p in points],
            label="loss",
            logy=logy,
            title=title,
            xlabel="step",
            ylabel="loss",
        )
    series = [Series("batch loss", [p[0] for p in points], [p[1] for p in points])]
    fulls = [p for p in points if p[3] is not None]
    if fulls:
        series.append(Series("full loss", [p[0] for p in fulls], [p[3] for p in fulls]))
    title += ": the batch of each step (the last point: every example)"
    return Figure(series, title, "step", "loss", logy=logy)


def _path_figure_1d(compiled: Compiled, run: Run, data: bool = False) -> Figure:
    points = run.history.points if run.history else []
    ws = [p[2][0] for p in points if math.isfinite(p[2][0])] or [run.last.params[0]]
    lo, hi = min(ws), max(ws)
    pad = max(0.5, 0.15 * (hi - lo))
    lo, hi = lo - pad, hi + pad
    xs = [lo + (hi - lo) * k / 200 for k in range(201)]
    name = compiled.variables[0]
    curve = [compiled.evaluate_params([x])[0] for x in xs]
    path_l = [p[1] for p in points]
    title = f"the path on l({name}) = {compiled.text}"
    if data:  # the curve is the mean over every example: the path's points sit on it
        path_l = [_on_curve(xs, curve, p[2][0]) for p in points]
        title = f"the path on l({name}) = the mean over the examples of {compiled.text}"
    return path_figure_1d(
        xs,
        curve,
        [p[2][0] for p in points],
        path_l,
        title=title,
        xlabel=name,
        ylabel=f"l({name})",
    )


def _on_curve(xs: list[float], ys: list[float], x: float) -> float:
    """The sampled curve's value at x (linear between samples; nan outside)."""
    if not math.isfinite(x) or x < xs[0] or x > xs[-1]:
        return math.nan
    k = min(int((x - xs[0]) / (xs[1] - xs[0])), len(xs) - 2)
    t = (x - xs[k]) / (xs[k + 1] - xs[k])
    return ys[k] + t * (ys[k + 1] - ys[k])


LEVEL_EXAMPLES = 10_000  # on more examples than this the level lines are left out (slow)


def _path_figure_2d(
    compiled: Compiled, run: Run, labels: list[str], examples: int | None = None
) -> Figure:
    """The path of two weights on the level lines of the loss, start and end marked
    (on training data, of the mean loss; left out on more than LEVEL_EXAMPLES examples)."""
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

    if examples is not None and examples > LEVEL_EXAMPLES:
        return path
    return path._replace(series=[*contour_series(loss, x_range, y_range), *path.series])
