"""descend: the update rule w = w - lr * dl/dw (and its cousins), step by step."""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterator
from typing import Any

from gdcli.compile.runtime import Compiled
from gdcli.descent import Descent, Outcome, Step
from gdcli.errors import Diverged
from gdcli.limits import PLOT_POINTS
from gdcli.optimizers import Optimizer
from gdcli.params import entry_labels, flatten, json_value, unflatten
from gdcli.reports.base import Report, Table
from gdcli.reports.figures import Figure, curve_figure, path_figure_1d, path_figure_2d
from gdcli.reports.words import subgradient_note
from gdcli.stopping import CONVERGED, DIVERGED, INTERRUPTED, StopRule, norm

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

    def __iter__(self) -> Iterator[Step]:
        if self._started:
            raise RuntimeError("a run is one pass: it cannot be read twice")
        self._started = True
        steps: Generator[Step, None, Outcome] = self.descent.run()
        pending: Step | None = None
        while True:
            try:
                s = next(steps)
            except StopIteration as stop:
                outcome: Outcome = stop.value
                break
            self._last = s
            if self.first is None:
                self.first = s
            if self.progress is not None and s.step % PROGRESS_EVERY == 0:
                self.progress(s.step)
            if self.history is not None:
                self.history.add(s.step, s.loss, flatten(s.params))
            if s.step % self.every == 0:
                pending = None
                self._shown = s
                yield s
            else:
                pending = s
        if self.progress is not None:
            self.progress(self.descent.rule.steps)  # the end: let the bar go
        if pending is not None:
            self._shown = pending
            yield pending
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
) -> Report:
    names = list(compiled.variables)
    shapes = [compiled.shapes[n] for n in names]
    scalar = all(not s for s in shapes)
    labels = [label for n in names for label in entry_labels(n, compiled.shapes[n])]
    descent = Descent(compiled.evaluate_params, start, optimizer, rule, show_state)
    run = Run(descent, every, keep_history=wide, progress=progress)
    sample = optimizer()
    lr = sample.lr

    def record(s: Step) -> dict[str, Any]:
        out: dict[str, Any] = {
            "step": s.step,
            "params": {n: json_value(p) for n, p in zip(names, s.params, strict=True)},
            "loss": s.loss,
            "grad": {n: json_value(g) for n, g in zip(names, s.grad, strict=True)},
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
            out["stability"] = _stability(compiled, run, lr)
        return out

    state_keys = _state_keys(sample, start) if show_state else []

    def csv_rows() -> Iterator[list[Any]]:
        for s in run:
            state = s.state or {}
            extra = [
                x
                for k in state_keys
                for x in (flatten(state[k]) if k in state else [None] * len(labels))
            ]
            yield [s.step, *flatten(s.params), s.loss, *flatten(s.grad), *extra]

    columns = ["step", *labels, "loss", *(f"grad_{label}" for label in labels)]
    columns += [f"{k}_{label}" for k in state_keys for label in labels]
    tables = [Table(columns, csv_rows(), title="")]
    if wide:
        tables = [_terminal_table(run, names, labels, scalar, state_keys, rule.steps)]
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

    def quiet() -> list[Any]:
        fused = compiled.fused_sgd(start, optimizer(), rule)
        if fused is not None:
            run.end(
                fused.outcome,
                Step(fused.outcome.step, unflatten(fused.params, shapes), fused.loss, []),
            )
            return [*fused.params, fused.loss]
        for _ in run:
            pass
        return [*flatten(run.last.params), run.last.loss]

    def notes() -> list[str]:
        out = [_status_line(run.outcome, run.last, names)]
        if len(names) == 1 and scalar:
            out.append(_stability_line(_stability(compiled, run, lr), sample.name, names[0]))
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
            out.append(_path_figure_2d(run, labels))
        return out

    return Report(
        head,
        tables,
        quiet,
        rows_key="steps",
        records=(record(s) for s in run),
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


def _direction(name: str, g: float) -> str:
    if g > 0:
        return f"slope > 0, so {name} decreases"
    if g < 0:
        return f"slope < 0, so {name} increases"
    return f"slope = 0, so {name} stays"


def _terminal_table(
    run: Run, names: list[str], labels: list[str], scalar: bool, state_keys: list[str], steps: int
) -> Table:
    """The table a student reads: for one weight its update and the course's reason."""
    one = len(labels) == 1 and scalar
    if scalar:
        columns = ["step", *labels, "loss", *(f"dl/d{label}" for label in labels)]
        if one:
            columns += [f"update Δ{labels[0]}", "direction"]
    else:
        columns = ["step", "loss", "|grad|"]
    state_keys = state_keys if scalar else []
    columns += [f"{k}[{n}]" for k in state_keys for n in names]

    def rows() -> Iterator[list[Any]]:
        previous: list[float] | None = None
        for s in run:
            flat, grad = flatten(s.params), flatten(s.grad)
            if scalar:
                row: list[Any] = [s.step, *flat, s.loss, *grad]
                if one:
                    delta = None if previous is None else flat[0] - previous[0]
                    row += [delta, _direction(labels[0], grad[0]) if math.isfinite(grad[0]) else ""]
            else:
                row = [s.step, s.loss, norm(grad)]
            if state_keys and s.state is not None:
                row += [
                    None if v is None else float(v)
                    for k in state_keys
                    for v in s.state.get(k, [None] * len(names))
                ]
            previous = flat
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


def _stability(compiled: Compiled, run: Run, lr: Any) -> dict[str, Any] | None:
    """The local bound lr < 2 / l''(w) at the end point (for plain gradient descent)."""
    last = run.last
    if not math.isfinite(last.params[0]):
        return None
    curvature = compiled.curvature(last.params[0])
    if curvature is None:
        return None
    bound = 2 / curvature if curvature > 0 else None
    return {
        "at": last.params[0],
        "second_derivative": curvature,
        "bound": bound,
        "inside": None if bound is None else bool(lr < bound),
    }


def _stability_line(info: dict[str, Any] | None, optimizer: str, name: str) -> str:
    if info is None:
        return "stability: l'' is not defined at the end point."
    if info["bound"] is None:
        shape = "is straight" if info["second_derivative"] == 0 else "curves down"
        return (
            f"stability: l''({name}) = {info['second_derivative']:.6g} at the end point: the "
            f"loss {shape} there, so its curvature sets no upper bound on lr (the bound "
            "lr < 2 / l'' needs l'' > 0)."
        )
    verdict = "inside" if info["inside"] else "OUTSIDE"
    text = (
        f"stability: near {name} = {info['at']:.6g}, l'' = {info['second_derivative']:.6g}, "
        f"so plain gradient descent is stable for lr < 2 / l'' = {info['bound']:.6g}; "
        f"the chosen lr is {verdict} it."
    )
    if optimizer != "sgd":
        text += f" ({optimizer} rescales the step, so this bound is a guide only.)"
    return text


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
        [compiled.evaluate([x])[0] for x in xs],
        [p[2][0] for p in points],
        [p[1] for p in points],
        title=f"the path on l({name}) = {compiled.text}",
        xlabel=name,
        ylabel=f"l({name})",
    )


def _path_figure_2d(run: Run, labels: list[str]) -> Figure:
    points = run.history.points if run.history else []
    return path_figure_2d(
        [p[2][0] for p in points],
        [p[2][1] for p in points],
        title=f"the path in the ({labels[0]}, {labels[1]}) plane",
        xlabel=labels[0],
        ylabel=labels[1],
    )
