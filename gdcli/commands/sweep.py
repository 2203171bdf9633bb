"""sweep: many learning rates (and starts) at once, vectorised with NumPy."""

from __future__ import annotations

import math
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

from gdcli.errors import BadInput
from gdcli.expression import parse_value
from gdcli.points import Problem, plain_value
from gdcli.render.output import Report, Table
from gdcli.values import finite_float

MAX_RUNS = 1_000_000


def parse_values(text: str, option: str, log: bool = False) -> list[float]:
    """`A:B:N` (N values from A to B, both included; logarithmic with `log`) or a
    comma list `0.01,0.1,1`. Values are exact until the last rounding, so 0.05:1.95:39
    contains 1.0 and 0.3 exactly as typed."""
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise BadInput(f"cannot read {option} {text!r}", hint=f"e.g. {option} 0.01:1:20")
        a, b = _exact(parts[0]), _exact(parts[1])
        try:
            n = int(parts[2])
        except ValueError:
            raise BadInput(f"{option} {text}: N must be a whole number") from None
        if not 1 <= n <= MAX_RUNS:
            raise BadInput(f"{option} {text}: N must be between 1 and {MAX_RUNS}")
        if n == 1:
            return [finite_float(a, option)]
        if log:
            if not (a > 0 and b > 0):
                raise BadInput(f"{option} {text}: --log needs positive ends")
            fa, fb = finite_float(a, option), finite_float(b, option)
            la, lb = math.log(fa), math.log(fb)
            values = [math.exp(la + (lb - la) * k / (n - 1)) for k in range(n)]
            values[0], values[-1] = fa, fb
            return values
        # (a * (n-1-k) + b * k) / (n-1), exactly, then rounded once (int / int is)
        if isinstance(a, Fraction) and isinstance(b, Fraction):
            pa, pb = a.numerator * b.denominator, b.numerator * a.denominator
            q = a.denominator * b.denominator * (n - 1)
            finite_float(a, option), finite_float(b, option)
            return [(pa * (n - 1 - k) + pb * k) / q for k in range(n)]
        return [finite_float((a * (n - 1 - k) + b * k) / (n - 1), option) for k in range(n)]
    if log:
        raise BadInput("--log spaces a range A:B:N; it does not apply to a list")
    values = [finite_float(_exact(part), option) for part in text.split(",") if part.strip()]
    if not values:
        raise BadInput(f"{option} needs at least one value")
    return values


def _exact(text: str) -> Any:
    """A number, exactly: a Fraction for plain decimals, else SymPy's exact value."""
    from gdcli.values import quick_value

    value = quick_value(text)
    if value is None or isinstance(value, list):
        value = parse_value(text)
        if hasattr(value, "shape"):
            raise BadInput(f"{text.strip()!r} is not a number")
    return value


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
    from gdcli.calculus import symbolic_budget

    with symbolic_budget():
        evaluate = compile_vectorised(loss)
    result = run_sweep(evaluate, entries, optimizer, steps, tol)

    common_start = {n: plain_value(problem.point[n]) for n in names}
    lr_list = [lr for _, lr in runs]
    status = result.status
    final_loss = result.final_loss.tolist()
    steps_used = result.steps_used.tolist()
    oscillating = result.oscillating.tolist()
    final = [p.tolist() for p in result.final_params]  # one list per entry

    def start_of(k: int) -> Any:
        return {names[0]: runs[k][0]} if starts is not None else common_start

    def params_of(k: int) -> dict[str, Any]:
        from gdcli.values import as_nested

        flat = [entry[k] for entry in final]
        out, i = {}, 0
        for n in names:
            size = len(loss.entries[n])
            out[n] = as_nested(flat[i : i + size], loss.shapes[n])
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
    data = {
        "expression": loss.text,
        "optimizer": optimizer.name,
        "steps": steps,
        "tol": tol,
        "hyper": optimizer.hyperparameters(),
        "runs": records(),
        "best": best,
    }
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
        f"{len(runs)} runs of at most {steps} steps: "
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

    def draw(width: int, height: int, color: bool) -> str:
        from gdcli.render.plots import Series, line_plot

        kept = [k for k, s in enumerate(status) if s != "diverged"]
        xs = [lr_list[k] for k in kept]
        ys = [final_loss[k] for k in kept]
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
        tables=[Table(columns, rows(), head_tail=10 if len(runs) > 40 else None)],
        quiet=[best["lr"] if best else None],
        notes=notes,
        plots=[draw],
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
