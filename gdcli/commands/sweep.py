"""sweep: many learning rates (and starts) at once, vectorised with NumPy."""

from __future__ import annotations

import math
from typing import Any

from gdcli.errors import BadInput
from gdcli.expression import parse_value
from gdcli.points import Problem
from gdcli.render.output import Report, Table

MAX_RUNS = 1_000_000


def parse_values(text: str, option: str, log: bool = False) -> list[float]:
    """`A:B:N` (N values from A to B, both included; logarithmic with `log`) or a
    comma list `0.01,0.1,1`. Values are exact until the last rounding, so 0.05:1.95:39
    contains 1.0 and 0.3 exactly as typed."""
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise BadInput(f"cannot read {option} {text!r}", hint=f"e.g. {option} 0.01:1:20")
        a, b = parse_value(parts[0]), parse_value(parts[1])
        try:
            n = int(parts[2])
        except ValueError:
            raise BadInput(f"{option} {text}: N must be a whole number") from None
        if not 1 <= n <= MAX_RUNS:
            raise BadInput(f"{option} {text}: N must be between 1 and {MAX_RUNS}")
        if log:
            if not (a > 0 and b > 0):
                raise BadInput(f"{option} {text}: --log needs positive ends")
            la, lb = math.log(float(a)), math.log(float(b))
            values = [
                math.exp(la + (lb - la) * k / (n - 1)) if n > 1 else float(a) for k in range(n)
            ]
            if n > 1:
                values[0], values[-1] = float(a), float(b)
            return values
        return [float(a + (b - a) * k / (n - 1)) if n > 1 else float(a) for k in range(n)]
    values = [float(parse_value(part)) for part in text.split(",") if part.strip()]
    if not values:
        raise BadInput(f"{option} needs at least one value")
    return values


def sweep(
    problem: Problem,
    lrs: list[float],
    starts: list[float] | None,
    optimizer_name: str,
    hyper: dict[str, Any],
    steps: int,
    tol: float,
) -> Report:
    import numpy as np

    from gdcli.descent import compile_vectorised
    from gdcli.descent import sweep as run_sweep
    from gdcli.optimizers import make_optimizer

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
    runs = [(s, lr) for s in start_values for lr in lrs]
    if len(runs) > MAX_RUNS:
        raise BadInput(f"{len(runs)} runs are too many (at most {MAX_RUNS})")
    lr_array = np.array([lr for _, lr in runs])
    if starts is not None:
        entries = [np.array([s for s, _ in runs])]
    else:
        entries = [np.full(len(runs), v) for v in base]
    optimizer = make_optimizer(optimizer_name, lr_array, **hyper)
    result = run_sweep(compile_vectorised(loss), entries, optimizer, steps, tol)

    def start_of(k: int) -> Any:
        if starts is not None:
            return {names[0]: runs[k][0]}
        return {n: _nested(problem.point[n]) for n in names}

    records = []
    for k, (_, lr) in enumerate(runs):
        flat = [float(p[k]) for p in result.final_params]
        params = {}
        i = 0
        for n in names:
            size = len(loss.entries[n])
            from gdcli.expression import as_nested

            params[n] = as_nested(flat[i : i + size], loss.shapes[n])
            i += size
        records.append(
            {
                "lr": lr,
                "start": start_of(k),
                "status": result.status[k],
                "final_loss": float(result.final_loss[k]),
                "params": params,
                "steps_used": int(result.steps_used[k]),
                "oscillating": bool(result.oscillating[k]),
            }
        )
    best = _best(records)
    data = {
        "expression": loss.text,
        "optimizer": optimizer.name,
        "steps": steps,
        "tol": tol,
        "hyper": optimizer.hyperparameters(),
        "runs": records,
        "best": best,
    }
    one = len(labels) == 1
    columns = ["lr", "start", "status", "final_loss", "steps_used", "oscillating"]
    columns += labels if len(labels) <= 4 else []

    def start_text(r: dict[str, Any]) -> Any:
        values = list(r["start"].values())
        return values[0] if one else ",".join(f"{k}={v}" for k, v in r["start"].items())

    rows = [
        [
            r["lr"],
            start_text(r),
            r["status"],
            r["final_loss"],
            r["steps_used"],
            r["oscillating"],
            *([float(p[k]) for p in result.final_params] if len(labels) <= 4 else []),
        ]
        for k, r in enumerate(records)
    ]
    counts = {s: result.status.count(s) for s in ("converged", "max_steps", "diverged")}
    notes = [
        f"{len(records)} runs of at most {steps} steps: "
        + ", ".join(f"{v} {k}" for k, v in counts.items())
        + "."
    ]
    stable = [r["lr"] for r in records if r["status"] != "diverged"]
    unstable = [r["lr"] for r in records if r["status"] == "diverged"]
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

    def draw(width: int, height: int, color: bool) -> str:
        from gdcli.render.plots import Series, line_plot

        kept = [r for r in records if r["status"] != "diverged"]
        xs = [r["lr"] for r in kept]
        ys = [r["final_loss"] for r in kept]
        return line_plot(
            [Series("final loss", xs, ys, kind="points")],
            title="final loss against the learning rate (diverged runs are left out)",
            xlabel="lr",
            ylabel="final loss",
            logy=True,
            logx=bool(xs) and min(xs) > 0 and max(xs) / min(xs) > 100,
            width=width,
            height=height,
            color=color,
        )

    return Report(
        data=data,
        tables=[Table(columns, rows, head_tail=10 if len(rows) > 40 else None)],
        quiet=[best["lr"] if best else None],
        notes=notes,
        plots=[draw],
    )


def _nested(value: Any) -> Any:
    """An exact point value (a SymPy number or an object array of them) as floats."""
    if getattr(value, "ndim", 0):
        import numpy as np

        return np.array(value, dtype=float).tolist()
    return float(value)


def _best(records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The converged run that needed the fewest steps; else the lowest final loss of
    a run that did not diverge."""
    converged = [r for r in records if r["status"] == "converged"]
    if converged:
        r = min(converged, key=lambda r: (r["steps_used"], r["final_loss"]))
        why = f"converged in the fewest steps, {r['steps_used']}"
    else:
        alive = [
            r for r in records if r["status"] != "diverged" and r["final_loss"] == r["final_loss"]
        ]
        if not alive:
            return None
        r = min(alive, key=lambda r: r["final_loss"])
        why = "the lowest final loss; none converged"
    return {"lr": r["lr"], "start": r["start"], "final_loss": r["final_loss"], "why": why}
