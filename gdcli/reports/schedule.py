"""schedule: preview a learning-rate schedule, the lr of every update (and the
momentum, where the schedule cycles it), before any training."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gdcli.errors import BadValue, TooLarge
from gdcli.limits import MAX_SCHEDULE_STEPS
from gdcli.reports.base import Report, Table, constant
from gdcli.reports.figures import curve_figure
from gdcli.stopping import StopRule


def schedule(
    name: str,
    options: dict[str, Any],
    base_lr: float,
    rule: StopRule,
    metrics: Sequence[float] | None,
) -> Report:
    """The lrs of updates 0 .. steps-1 (plateau reads one metric per update)."""
    from gdcli.schedules import make_schedule, preview, preview_momentum

    if rule.steps > MAX_SCHEDULE_STEPS:
        raise TooLarge(
            "steps", f"is too many to preview: at most {MAX_SCHEDULE_STEPS} (got {rule.steps})"
        )
    needs_metric = make_schedule(name, base_lr, **options).needs_metric
    if needs_metric and metrics is None:
        raise BadValue("metrics", f"are needed by {name}: it lowers the lr when they stop falling")
    if metrics is not None and len(metrics) < rule.steps - 1:
        raise BadValue(
            "metrics", f"must give at least {rule.steps - 1} values (got {len(metrics)})"
        )
    lrs = preview(name, base_lr, rule.steps, metrics, **options)
    momenta = preview_momentum(name, base_lr, rule.steps, metrics, **options)
    columns = ["step", "lr", *(["momentum"] if momenta is not None else [])]
    rows = [[k, lr, *([momenta[k]] if momenta is not None else [])] for k, lr in enumerate(lrs)]
    head: dict[str, Any] = {
        "scheduler": name,
        "options": options,
        "base_lr": base_lr,
        "steps": rule.steps,
        "lrs": lrs,
    }
    if momenta is not None:
        head["momenta"] = momenta
    low, high = min(lrs), max(lrs)
    notes = [
        f"{name}: the lr of each of the {rule.steps} updates (update k uses the lr after k "
        f"steps of the schedule, as torch's scheduler.step() does); it ranges from {low:.6g} "
        f"to {high:.6g}."
    ]
    if momenta is not None:
        notes.append(
            "the momentum (beta1 for Adam) is cycled too, inversely to the lr, as torch does "
            "by default (cycle_momentum)."
        )
    figure = curve_figure(
        list(range(len(lrs))),
        lrs,
        label="lr",
        title=f"the {name} schedule",
        xlabel="update",
        ylabel="lr",
        logy=high > 0 and low > 0 and high / low > 100,
    )
    return Report(
        head,
        [Table(columns, rows, title=f"{name} schedule", head_tail=10 if len(rows) > 40 else None)],
        constant(lrs),
        notes=constant(notes),
        figures=constant([figure]),
    )
