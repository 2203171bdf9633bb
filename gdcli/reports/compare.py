"""compare: several update rules on one loss, side by side. "In the course you will
see other methods to the update rule that change the exact value of this update":
one table, the loss curves overlaid, and for two weights the paths on level lines.
Every run is `descend` with the same settings, step for step."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from gdcli.compile.load import Loaded
from gdcli.descent import BatchDescent, Descent, Outcome, Step
from gdcli.errors import TooLarge
from gdcli.limits import MAX_TRACE_VALUES, PLOT_POINTS
from gdcli.params import Params, entry_labels, flatten, json_value
from gdcli.reports.base import Report, Table
from gdcli.reports.curvature import curvature, sentence
from gdcli.reports.descend import GROWING, step_record
from gdcli.reports.figures import Figure, Series, contour_series, legend_room, padded
from gdcli.reports.words import data_sentence, roles_note, training_summary
from gdcli.runs import RunSpec
from gdcli.stopping import MAX_STEPS, StopRule

if TYPE_CHECKING:
    from gdcli.data import Training

LEVEL_EXAMPLES = 10_000  # on more examples than this the level lines are left out (slow)


class Result:
    """One run, run to its end: its outcome, its last point, and a thinned history."""

    def __init__(self, spec: RunSpec, outcome: Outcome, last: Step) -> None:
        self.spec = spec
        self.outcome = outcome
        self.last = last
        self.history: list[tuple[int, float, list[float]]] = []
        self.steps_to_target: int | None = None
        self.trace: list[dict[str, Any]] = []


def _descent(
    compiled: Loaded, start: Params, spec: RunSpec, rule: StopRule, training: Training | None
) -> Descent:
    """The run of one spec: descend's, or on training data its mini-batch descent (every
    run sees the same batches in the same order)."""
    if training is None:
        return Descent(
            compiled.evaluate_params, start, spec.make_optimizer, rule,
            schedule=spec.schedule_factory(),
        )  # fmt: skip
    return BatchDescent(
        compiled.evaluate_rows,  # type: ignore[union-attr]
        start,
        spec.make_optimizer,
        rule,
        training.batches,
        schedule=spec.schedule_factory(),
    )


def _path_point(params: Params) -> list[float]:
    """The point a history keeps: for two weights' paths on the level lines, the only
    picture that draws points (a 100x100 matrix kept at 4000 steps was gigabytes)."""
    flat = flatten(params)
    return flat if len(flat) == 2 else []


def _run(
    compiled: Loaded,
    start: Params,
    spec: RunSpec,
    rule: StopRule,
    target: float | None,
    trace: bool,
    names: list[str],
    training: Training | None = None,
) -> Result:
    descent = _descent(compiled, start, spec, rule, training)
    steps = descent.run()
    stride = max(1, rule.steps // PLOT_POINTS)
    history: list[tuple[int, float, list[float]]] = []
    records: list[dict[str, Any]] = []
    reached: int | None = None
    last: Step | None = None
    while True:
        try:
            s = next(steps)
        except StopIteration as stop:
            outcome: Outcome = stop.value
            break
        last = s
        if reached is None and target is not None and s.loss <= target:
            reached = s.step
        if s.step % stride == 0:
            history.append((s.step, s.loss, _path_point(s.params)))
        if trace:
            records.append(step_record(s, names, training))
    assert last is not None
    if history[-1][0] != last.step:
        history.append((last.step, last.loss, _path_point(last.params)))
    result = Result(spec, outcome, last)
    result.history, result.steps_to_target, result.trace = history, reached, records
    return result


def compare(
    compiled: Loaded,
    start: Params,
    specs: list[RunSpec],
    rule: StopRule,
    target: float | None,
    trace: bool,
    training: Training | None = None,
    inputs: Sequence[str] = (),
) -> Report:
    """`inputs`: the names of the loss that are fixed (inputs with a value, data columns)."""
    names = list(compiled.variables)
    labels = [label for n in names for label in entry_labels(n, compiled.shapes[n])]
    kept = len(specs) * (rule.steps + 1) * (2 * len(labels) + 1)  # params, grad, loss
    if trace and kept > MAX_TRACE_VALUES:
        raise TooLarge(
            "trace",
            f"would keep {len(specs)} runs x {rule.steps + 1} steps x {2 * len(labels) + 1} "
            f"numbers = {kept}: too many (at most {MAX_TRACE_VALUES})",
            hint="ask for fewer steps, or run descend for every step of one run",
        )
    for spec in specs:  # every run checked before any starts (a bad schedule, say)
        _descent(compiled, start, spec, rule, training)
    done: list[Result] = []

    def results() -> Iterator[Result]:
        for spec in specs:
            result = _run(compiled, start, spec, rule, target, trace, names, training)
            done.append(result)
            yield result

    def record(r: Result) -> dict[str, Any]:
        optimizer = r.spec.make_optimizer()
        out: dict[str, Any] = {
            "label": r.spec.label,
            "optimizer": r.spec.optimizer,
            "lr": r.spec.lr,
            "hyper": optimizer.hyperparameters(),
            "status": r.outcome.status,
            "steps_used": r.outcome.step,
            "final": {
                "params": {n: json_value(p) for n, p in zip(names, r.last.params, strict=True)},
                "loss": r.last.loss,
            },
            "steps_to_target": r.steps_to_target,
        }
        if r.spec.scheduler is not None:
            out["scheduler"] = {"name": r.spec.scheduler, **r.spec.schedule}
        if trace:
            out["steps"] = r.trace
        return out

    head: dict[str, Any] = {
        "expression": compiled.text,
        "variables": names,
        "start": {n: json_value(p) for n, p in zip(names, start, strict=True)},
        "steps": rule.steps,
        "tol": rule.tol,
        "target_loss": target,
    }
    if training is not None:
        head["data"] = training_summary(training)
    columns = ["run", "status", "steps_used", "final_loss"]
    columns += ["steps_to_target"] if target is not None else []
    columns += labels if len(labels) <= 4 else []

    def rows() -> Iterator[list[Any]]:
        for r in results():
            row: list[Any] = [r.spec.label, r.outcome.status, r.outcome.step, r.last.loss]
            row += [r.steps_to_target] if target is not None else []
            row += flatten(r.last.params) if len(labels) <= 4 else []
            yield row

    hessian = compiled.hessian(start) if len(labels) >= 2 else None
    start_curvature = curvature(hessian, compiled.kind != "arrays") if hessian else None

    def tail() -> dict[str, Any]:
        finite = [r for r in done if math.isfinite(r.last.loss)]
        best = min(finite, key=lambda r: r.last.loss).spec.label if finite else None
        out: dict[str, Any] = {"lowest_final_loss": best}
        if start_curvature is not None:
            out["stability"] = {"where": "start", **start_curvature}
        return out

    def notes() -> list[str]:
        out = [] if training is None else [data_sentence(training.data)]
        roles = roles_note(names, inputs, None)
        if roles:
            out.append(roles)
        out.append(
            f"{len(done)} update rules from the same start, each for at most {rule.steps} "
            "steps; each run is what descend gives with the same settings."
        )
        if training is not None and (training.batches.per_epoch > 1 or training.batches.shuffle):
            out.append(
                f"every run sees the same mini-batches of {training.batches.size} examples, in "
                "the same order; each final loss is over every example."
            )
        for r in done:
            begin = r.history[0][1]
            scale = max(1.0, abs(begin))
            if r.outcome.status == MAX_STEPS and abs(r.last.loss) > GROWING * scale:
                out.append(
                    f"{r.spec.label}: the loss grew {abs(r.last.loss) / scale:.3g} times over the "
                    f"run (from {begin:.6g} to {r.last.loss:.6g}): it is growing, not converging, "
                    "and would diverge with more steps."
                )
        best = tail()["lowest_final_loss"]
        if best is not None:
            out.append(f"lowest final loss: {best}.")
        if start_curvature is not None:
            out.append(sentence(start_curvature, "the start", compiled.kind != "arrays"))
        if target is not None:
            reached = [r for r in done if r.steps_to_target is not None]
            if reached:
                first = min(reached, key=lambda r: r.steps_to_target or 0)
                out.append(
                    f"first to reach loss <= {target:g}: {first.spec.label} "
                    f"(step {first.steps_to_target})."
                )
            else:
                out.append(f"no run reached loss <= {target:g}.")
        return out

    def figures() -> list[Figure]:
        levels = training is None or training.data.size <= LEVEL_EXAMPLES
        return _figures(compiled, done, labels, levels)

    return Report(
        head,
        [Table(columns, rows(), title="", text_columns=frozenset({"run"}))],
        lambda: [r.last.loss for r in (done or list(results()))],
        undefined=lambda: _no_final_loss(done),
        rows_key="runs",
        records=(record(r) for r in results()),
        tail=tail,
        notes=notes,
        figures=figures,
    )


def _no_final_loss(done: list[Result]) -> str:
    """Why a quiet run has no value for a run: which runs end without a real loss."""
    bad = [r for r in done if not math.isfinite(r.last.loss)]
    names = ", ".join(f"{r.spec.label} ({r.outcome.status})" for r in bad)
    return f"{len(bad)} of the {len(done)} runs end without a real final loss: {names}"


def _figures(
    compiled: Loaded, done: list[Result], labels: list[str], levels: bool = True
) -> list[Figure]:
    losses = [loss for r in done for _, loss, _ in r.history if math.isfinite(loss) and loss > 0]
    logy = bool(losses) and max(losses) / min(losses) > 100
    curves = Figure(
        [
            Series(r.spec.label, [h[0] for h in r.history], [h[1] for h in r.history]) for r in done
        ],  # fmt: skip
        title="loss against step" + (" (log scale)" if logy else ""),
        xlabel="step",
        ylabel="loss",
        logy=logy,
    )
    out = [curves]
    if len(labels) == 2:
        xs = [h[2][0] for r in done for h in r.history]
        ys = [h[2][1] for r in done for h in r.history]
        x_range, y_range = padded(xs), legend_room(padded(ys))

        def loss(x: float, y: float) -> float:
            return compiled.evaluate_params([x, y])[0]

        series = contour_series(loss, x_range, y_range) if levels else []
        for r in done:
            series.append(Series(r.spec.label, [h[2][0] for h in r.history],
                                 [h[2][1] for h in r.history]))  # fmt: skip
        first = done[0].history[0][2] if done else [0.0, 0.0]
        series.append(Series("start", [first[0]], [first[1]], "points", "S"))
        out.append(
            Figure(
                series,
                title=f"the paths on the level lines of the loss ({labels[0]}, {labels[1]})",
                xlabel=labels[0],
                ylabel=labels[1],
            )
        )
    return out
