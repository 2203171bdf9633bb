"""descend: the update rule w = w - lr * dl/dw (and its cousins), step by step."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from gdcli.descent import Descent, Step, fused_sgd, norm, unflatten
from gdcli.errors import NumericalError
from gdcli.render.output import Report, Table
from gdcli.values import entry_labels

if TYPE_CHECKING:
    from gdcli.compiled import Compiled

HEAD_TAIL = 10  # a terminal table longer than 3x this shows the first and last rows
PLOT_POINTS = 4000  # at most this many steps are kept for the plots
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
    """One pass over a descent, remembering what the report needs afterwards."""

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
        self.last: Step | None = None

    def __iter__(self) -> Iterator[Step]:
        """The steps, sampled every `every` (the start and the last step always)."""
        pending: Step | None = None
        for s in self.descent:
            self.last = s
            if self.first is None:
                self.first = s
            if self.progress is not None and s.step % PROGRESS_EVERY == 0:
                self.progress(s.step)
            if self.history is not None:
                self.history.add(s.step, s.loss, _flat(s.params))
            if s.step % self.every == 0:
                pending = None
                yield s
            else:
                pending = s
        if self.progress is not None:
            self.progress(self.descent.steps)  # the end: let the bar go
        if pending is not None:
            yield pending


def _flat(params: list[Any]) -> list[float]:
    out: list[float] = []
    for p in params:
        out.extend([p] if isinstance(p, float) else (float(v) for v in p.ravel()))
    return out


def _json_value(p: Any) -> Any:
    return p if isinstance(p, float) else p.tolist()


def descend(
    compiled: Compiled,
    start: list[Any],
    optimizer: Any,
    steps: int,
    tol: float,
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
    descent = Descent(compiled.evaluate, start, shapes, optimizer, steps, tol, show_state)
    run = Run(descent, every, keep_history=wide, progress=progress)
    outcome = descent.outcome
    lr = optimizer.lr

    def status() -> str:
        return outcome.status

    def final() -> dict[str, Any]:
        last = run.last
        assert last is not None
        return {
            "step": last.step,
            "params": {n: _json_value(p) for n, p in zip(names, last.params, strict=True)},
            "loss": last.loss,
        }

    def records() -> Iterator[dict[str, Any]]:
        for s in run:
            record = {
                "step": s.step,
                "params": {n: _json_value(p) for n, p in zip(names, s.params, strict=True)},
                "loss": s.loss,
                "grad": {n: _json_value(g) for n, g in zip(names, s.grad, strict=True)},
            }
            if s.state is not None:
                record["state"] = {
                    k: {n: _json_value(v) for n, v in zip(names, vs, strict=True)}
                    for k, vs in s.state.items()
                }
            yield record

    data: dict[str, Any] = {
        "expression": compiled.text,
        "variables": names,
        "optimizer": optimizer.name,
        "lr": lr,
        "hyper": optimizer.hyperparameters(),
        "tol": tol,
        "start": {n: _json_value(p) for n, p in zip(names, start, strict=True)},
        "steps": records(),
        "status": status,
        "final": final,
        "diverged_at": lambda: outcome.step if outcome.status == "diverged" else None,
        "reason": lambda: outcome.reason or None,
    }
    if len(names) == 1 and scalar:
        data["stability"] = lambda: _stability(compiled, run, lr)

    state_keys = _state_keys(descent) if show_state else []

    def csv_rows() -> Iterator[list[Any]]:
        for s in run:
            state = s.state or {}
            extra = [
                x
                for k in state_keys
                for x in (_flat(state[k]) if k in state else [None] * len(labels))
            ]
            yield [s.step, *_flat(s.params), s.loss, *_flat(s.grad), *extra]

    columns = ["step", *labels, "loss", *(f"grad_{label}" for label in labels)]
    columns += [f"{k}_{label}" for k in state_keys for label in labels]
    records_table = Table(columns, csv_rows(), title="")

    tables = [records_table]
    if wide:
        tables = [_terminal_table(run, names, labels, scalar, state_keys, steps)]
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
        fused = fused_sgd(compiled, start, optimizer, steps, tol)
        if fused is not None:
            outcome.status, outcome.step, outcome.reason = fused[0]
            params, value = fused[1], fused[2]
            run.last = Step(outcome.step, unflatten(params, shapes), value, [])
            return [*params, value]
        for _ in run:
            pass
        assert run.last is not None
        return [*_flat(run.last.params), run.last.loss]

    def notes() -> list[str]:
        out = [_status_line(outcome, run, names)]
        if len(names) == 1 and scalar:
            out.append(_stability_line(_stability(compiled, run, lr), optimizer.name, names[0]))
        if compiled.has_kink:
            from gdcli.calculus import SUBGRADIENT_NOTE

            out.append(SUBGRADIENT_NOTE + ".")
        return out

    def finish() -> None:
        if outcome.status == "diverged":
            raise NumericalError(
                f"diverged at step {outcome.step}: {outcome.reason}",
                hint="try a smaller --lr",
            )

    plots = [lambda w, h, c: _loss_plot(run, logy, w, h, c)]
    if len(labels) == 1:
        plots.append(lambda w, h, c: _path_plot_1d(compiled, run, w, h, c))
    elif len(labels) == 2:
        plots.append(lambda w, h, c: _path_plot_2d(run, labels, w, h, c))
    return Report(data=data, tables=tables, quiet=quiet, notes=notes, plots=plots, finish=finish)


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
            flat, grad = _flat(s.params), _flat(s.grad)
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


def _state_keys(descent: Descent) -> list[str]:
    """The optimizer's state keys (they exist only after a first update: try one on a copy)."""
    import copy

    probe = copy.deepcopy(descent.optimizer)
    probe.step(descent.start, [0.0 * p for p in descent.start])
    return list(probe.state())


def _status_line(outcome: Any, run: Run, names: list[str]) -> str:
    last = run.last
    assert last is not None
    where = ", ".join(
        f"{n} = {p:.10g}" if isinstance(p, float) else f"{n} (see table)"
        for n, p in zip(names, last.params, strict=True)
    )
    if outcome.status == "converged":
        return (
            f"converged after {outcome.step} steps: the gradient's norm is <= tol; "
            f"{where}, loss {last.loss:.10g}."
        )
    if outcome.status == "diverged":
        return f"diverged at step {outcome.step}: {outcome.reason}."
    return f"stopped after {outcome.step} steps (max_steps): {where}, loss {last.loss:.10g}."


def _stability(compiled: Compiled, run: Run, lr: Any) -> dict[str, Any] | None:
    """The local bound lr < 2 / l''(w) at the end point (for plain gradient descent)."""
    last = run.last
    if last is None or not math.isfinite(last.params[0]):
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


def _loss_plot(run: Run, logy: bool, width: int, height: int, color: bool) -> str:
    from gdcli.render.plots import curve_plot

    points = run.history.points if run.history else []
    return curve_plot(
        [p[0] for p in points],
        [p[1] for p in points],
        label="loss",
        logy=logy,
        title="loss against step" + (" (log scale)" if logy else ""),
        xlabel="step",
        ylabel="loss",
        width=width,
        height=height,
        color=color,
    )


def _path_plot_1d(compiled: Compiled, run: Run, width: int, height: int, color: bool) -> str:
    from gdcli.render.plots import path_plot_1d

    points = run.history.points if run.history else []
    ws = [p[2][0] for p in points if math.isfinite(p[2][0])]
    if not ws:
        return ""
    lo, hi = min(ws), max(ws)
    pad = max(0.5, 0.15 * (hi - lo))
    lo, hi = lo - pad, hi + pad
    xs = [lo + (hi - lo) * k / 200 for k in range(201)]
    name = compiled.variables[0]
    return path_plot_1d(
        xs,
        [compiled.evaluate([x])[0] for x in xs],
        [p[2][0] for p in points],
        [p[1] for p in points],
        title=f"the path on l({name}) = {compiled.text}",
        xlabel=name,
        ylabel=f"l({name})",
        width=width,
        height=height,
        color=color,
    )


def _path_plot_2d(run: Run, labels: list[str], width: int, height: int, color: bool) -> str:
    from gdcli.render.plots import path_plot_2d

    points = run.history.points if run.history else []
    return path_plot_2d(
        [p[2][0] for p in points],
        [p[2][1] for p in points],
        title=f"the path in the ({labels[0]}, {labels[1]}) plane",
        xlabel=labels[0],
        ylabel=labels[1],
        width=width,
        height=height,
        color=color,
    )
