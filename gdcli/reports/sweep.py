"""sweep: many learning rates (and starts) at once, vectorised with NumPy."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from gdcli.budget import time_limit
from gdcli.compile.codegen import array_evaluator
from gdcli.descent import sweep as run_sweep
from gdcli.errors import BadInput, ResourceLimit
from gdcli.limits import MAX_RUNS, MAX_SWEEP_VALUES
from gdcli.optimizers import make_optimizer
from gdcli.params import nested
from gdcli.problem import Problem, plain
from gdcli.reports.base import Report, Table, constant
from gdcli.reports.figures import Figure, Series
from gdcli.stopping import StopRule


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
    if len(start_values) * len(lrs) * len(labels) > MAX_SWEEP_VALUES:
        raise ResourceLimit(
            f"{len(start_values) * len(lrs)} runs x {len(labels)} weight entries = "
            f"{len(start_values) * len(lrs) * len(labels)} values: too many "
            f"(at most {MAX_SWEEP_VALUES})"
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
            size = len(loss.entries[n])
            out[n] = nested(flat[i : i + size], loss.shapes[n])
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
    head = {
        "expression": loss.text,
        "optimizer": optimizer.name,
        "steps": rule.steps,
        "tol": rule.tol,
        "hyper": optimizer.hyperparameters(),
    }
    if scheduled is not None:
        head["scheduler"] = {"name": scheduled.name, **scheduled.options()}
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
        f"{len(runs)} runs of at most {rule.steps} steps: "
        + ", ".join(f"{v} {k}" for k, v in counts.items())
        + "."
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
