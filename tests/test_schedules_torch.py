"""gdcli.schedules against torch.optim.lr_scheduler, in float64.

Three comparisons, each over several option sets per schedule:
- the lr of every update (and the momentum or beta1 that onecycle and cyclic set), to 1e-12;
- the parameters of gdcli's SGD, Adam, AdamW, RMSprop and Adagrad driven by a schedule (through
  ``schedules.apply``) against torch.optim driven by torch's scheduler, 100 updates on a
  quadratic, to 1e-12;
- torch's defaults against DEFAULTS.
Every test skips cleanly without torch.
"""

from __future__ import annotations

import inspect
import math
import random
from typing import Any

import pytest

from gdcli import optimizers, schedules
from gdcli.errors import BadValue

REL = 1e-12

TORCH_CLASS = {
    "step": "StepLR",
    "multistep": "MultiStepLR",
    "exponential": "ExponentialLR",
    "cosine": "CosineAnnealingLR",
    "linear": "LinearLR",
    "onecycle": "OneCycleLR",
    "cyclic": "CyclicLR",
    "plateau": "ReduceLROnPlateau",
}


def torch_kwargs(name: str, base_lr: float, options: dict[str, Any]) -> dict[str, Any]:
    """gdcli's options as torch's scheduler arguments (T_max; CyclicLR's base_lr)."""
    kwargs = {("T_max" if key == "t_max" else key): value for key, value in options.items()}
    if name == "cyclic":
        kwargs["base_lr"] = base_lr
    if name == "multistep":
        kwargs["milestones"] = list(kwargs["milestones"])
    return kwargs


def walk(seed: int, n: int = 80, sign: float = 1.0) -> list[float]:
    """A loss that improves by big and by tiny steps, stalls and gets worse (seeded)."""
    rng = random.Random(seed)
    x, out = 10.0, []
    for _ in range(n):
        r = rng.random()
        if r < 0.35:
            x *= 1 - rng.choice([0.2, 0.05, 1e-3, 1e-5])
        elif r < 0.7:
            x += rng.choice([0.0, 0.0, 1e-6, 0.01, 0.5])
        out.append(sign * x)
    return out


STALLS = [10.0, 9.0, 9.0, 9.0, 9.0, 8.9995, 9.0, 9.0, 9.0, 8.0] + [8.0] * 10 + [7.0] * 20
NONFINITE = [5.0, 4.0, math.nan, 4.0, math.inf, 3.0, math.nan, math.nan, math.nan, 2.0] + [2.0] * 9

# (schedule, base_lr, options, number of lrs, metrics for plateau)
CASES: list[tuple[str, float, dict[str, Any], int, list[float] | None]] = [
    ("step", 0.1, {"step_size": 3}, 30, None),
    ("step", 0.5, {"step_size": 1, "gamma": 0.5}, 40, None),
    ("step", 0.05, {"step_size": 7, "gamma": 0.9}, 60, None),
    ("step", 0.1, {"step_size": 2, "gamma": 1.5}, 20, None),
    ("multistep", 0.1, {"milestones": [2, 5, 9]}, 15, None),
    ("multistep", 0.1, {"milestones": [3, 3, 7], "gamma": 0.5}, 12, None),
    ("multistep", 0.2, {"milestones": [0, 4, 4, 4]}, 8, None),
    ("multistep", 0.1, {"milestones": [8, 2, 5], "gamma": 0.3}, 12, None),
    ("exponential", 0.1, {"gamma": 0.9}, 50, None),
    ("exponential", 1.0, {"gamma": 0.5}, 60, None),
    ("exponential", 0.01, {"gamma": 1.01}, 30, None),
    ("cosine", 0.1, {"t_max": 10}, 45, None),
    ("cosine", 0.1, {"t_max": 7, "eta_min": 0.001}, 50, None),
    ("cosine", 0.1, {"t_max": 1}, 6, None),
    ("cosine", 0.01, {"t_max": 3, "eta_min": 0.05}, 20, None),
    ("cosine", 0.3, {"t_max": 50, "eta_min": 1e-4}, 220, None),
    ("linear", 0.1, {}, 10, None),
    ("linear", 0.1, {"start_factor": 0.25, "end_factor": 0.75, "total_iters": 8}, 15, None),
    ("linear", 0.1, {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 4}, 8, None),
    ("linear", 0.05, {"start_factor": 0.5, "end_factor": 0.0, "total_iters": 3}, 6, None),
    ("linear", 0.1, {"total_iters": 1}, 3, None),
    ("onecycle", 0.1, {"max_lr": 1.0, "total_steps": 50}, 51, None),
    ("onecycle", 0.1, {"max_lr": 0.5, "total_steps": 40, "three_phase": True}, 41, None),
    ("onecycle", 0.1, {"max_lr": 0.5, "total_steps": 30, "anneal_strategy": "linear"}, 31, None),
    (
        "onecycle",
        0.1,
        {
            "max_lr": 2.0,
            "total_steps": 45,
            "three_phase": True,
            "anneal_strategy": "linear",
            "pct_start": 0.25,
            "div_factor": 10.0,
            "final_div_factor": 100.0,
        },
        46,
        None,
    ),
    (
        "onecycle",
        0.1,
        {"max_lr": 0.1, "epochs": 4, "steps_per_epoch": 7, "pct_start": 0.5},
        29,
        None,
    ),
    (
        "onecycle",
        0.1,
        {"max_lr": 0.3, "total_steps": 20, "base_momentum": 0.5, "max_momentum": 0.99},
        21,
        None,
    ),
    ("onecycle", 0.1, {"max_lr": 0.3, "total_steps": 20, "cycle_momentum": False}, 21, None),
    ("onecycle", 0.1, {"max_lr": 1.0, "total_steps": 5, "pct_start": 0.0}, 6, None),
    ("onecycle", 0.1, {"max_lr": 1.0, "total_steps": 7, "pct_start": 1.0}, 7, None),
    ("cyclic", 0.01, {"max_lr": 0.1, "step_size_up": 5}, 40, None),
    (
        "cyclic",
        0.01,
        {"max_lr": 0.1, "step_size_up": 4, "step_size_down": 2, "mode": "triangular2"},
        40,
        None,
    ),
    (
        "cyclic",
        0.001,
        {"max_lr": 0.05, "step_size_up": 3, "mode": "exp_range", "gamma": 0.97},
        50,
        None,
    ),
    ("cyclic", 0.1, {"max_lr": 0.01, "step_size_up": 2, "step_size_down": 5}, 30, None),
    ("cyclic", 0.01, {"max_lr": 0.1, "step_size_up": 5, "cycle_momentum": False}, 20, None),
    (
        "cyclic",
        0.01,
        {"max_lr": 1.0, "step_size_up": 1, "base_momentum": 0.5, "max_momentum": 0.99},
        10,
        None,
    ),
    ("plateau", 0.1, {}, 80, walk(1)),
    ("plateau", 0.1, {"patience": 2}, 40, STALLS),
    ("plateau", 0.1, {"patience": 1, "cooldown": 3, "factor": 0.5}, 80, walk(2)),
    ("plateau", 0.1, {"patience": 0, "threshold_mode": "abs", "threshold": 0.1}, 80, walk(3)),
    ("plateau", 0.1, {"mode": "max", "patience": 2, "factor": 0.3}, 80, walk(4, sign=-1)),
    (
        "plateau",
        0.1,
        {"mode": "max", "threshold_mode": "abs", "threshold": 0.01, "patience": 1, "cooldown": 1},
        80,
        walk(5, sign=-1),
    ),
    ("plateau", 0.1, {"patience": 0, "min_lr": 0.004, "factor": 0.5}, 40, walk(6)),
    ("plateau", 0.1, {"patience": 0, "factor": 0.5, "eps": 0.02}, 12, [1.0] * 12),
    ("plateau", 0.1, {"patience": 3, "threshold": 0.0}, 40, STALLS),
    ("plateau", 0.1, {"patience": 2, "cooldown": 2}, 20, NONFINITE),
]


def case_id(case: tuple[str, float, dict[str, Any], int, list[float] | None]) -> str:
    name, base_lr, options, _, _ = case
    return f"{name}-{base_lr}-" + ",".join(f"{k}={v}" for k, v in options.items())


def cycles_momentum(name: str, options: dict[str, Any]) -> bool:
    return name in ("onecycle", "cyclic") and options.get("cycle_momentum", True)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL, abs_tol=0.0)


def torch_trace(
    name: str,
    base_lr: float,
    options: dict[str, Any],
    n: int,
    metrics: list[float] | None,
    optimizer: str = "SGD",
) -> tuple[list[float], list[float]]:
    """torch's lr (and momentum or beta1) of updates 0 .. n-1."""
    torch = pytest.importorskip("torch")
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    extra = {"momentum": 0.9} if optimizer == "SGD" else {}
    opt = getattr(torch.optim, optimizer)([p], lr=base_lr, **extra)
    scheduler = getattr(torch.optim.lr_scheduler, TORCH_CLASS[name])(
        opt, **torch_kwargs(name, base_lr, options)
    )
    group = opt.param_groups[0]

    def momentum() -> float:
        return float(group["betas"][0] if "betas" in group else group["momentum"])

    lrs, momenta = [group["lr"]], [momentum()]
    for k in range(n - 1):
        opt.step()  # no gradient, nothing moves; torch wants it before scheduler.step()
        scheduler.step(metrics[k]) if metrics is not None else scheduler.step()
        lrs.append(group["lr"])
        momenta.append(momentum())
    return lrs, momenta


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_lrs_equal_torch(case: tuple[str, float, dict[str, Any], int, list[float] | None]) -> None:
    name, base_lr, options, n, metrics = case
    theirs, _ = torch_trace(name, base_lr, options, n, metrics)
    ours = schedules.preview(name, base_lr, n, metrics=metrics, **options)
    assert len(ours) == len(theirs) == n
    assert len(set(theirs)) > 1, "a case whose lr never changes shows nothing"
    bad = [(k, a, b) for k, (a, b) in enumerate(zip(ours, theirs, strict=True)) if not close(a, b)]
    assert not bad, f"update, gdcli, torch: {bad[:5]}"


@pytest.mark.parametrize("case", [c for c in CASES if cycles_momentum(c[0], c[2])], ids=case_id)
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_momentum_equals_torch(
    case: tuple[str, float, dict[str, Any], int, list[float] | None], optimizer: str
) -> None:
    name, base_lr, options, n, _ = case
    _, theirs = torch_trace(name, base_lr, options, n, None, optimizer)
    ours = schedules.preview_momentum(name, base_lr, n, **options)
    assert ours is not None
    assert len(set(theirs)) > 1
    bad = [(k, a, b) for k, (a, b) in enumerate(zip(ours, theirs, strict=True)) if not close(a, b)]
    assert not bad, f"update, gdcli, torch: {bad[:5]}"


def test_no_momentum_without_cycling() -> None:
    for name, base_lr, options, n, metrics in CASES:
        if not cycles_momentum(name, options):
            assert schedules.preview_momentum(name, base_lr, n, metrics, **options) is None


# parameters of an optimizer driven by a schedule, 100 updates on a quadratic

STEPS = 100


def loss(w: float, b: float) -> float:
    return 0.5 * (w - 3) ** 2 + 2 * (b + 1) ** 2 + 0.25 * w * b + 2


def grad(w: float, b: float) -> tuple[float, float]:
    return (w - 3) + 0.25 * b, 4 * (b + 1) + 0.25 * w


# (schedule, options) over 100 updates; plateau's metric is the loss of each update's start
DRIVES: list[tuple[str, dict[str, Any]]] = [
    ("step", {"step_size": 10, "gamma": 0.5}),
    ("multistep", {"milestones": [20, 50, 50, 80]}),
    ("exponential", {"gamma": 0.97}),
    ("cosine", {"t_max": 30, "eta_min": 0.001}),
    ("linear", {"start_factor": 0.2, "total_iters": 40}),
    ("onecycle", {"max_lr": 0.2, "total_steps": STEPS}),
    (
        "onecycle",
        {"max_lr": 0.2, "total_steps": STEPS, "three_phase": True, "anneal_strategy": "linear"},
    ),
    ("onecycle", {"max_lr": 0.2, "total_steps": STEPS, "cycle_momentum": False}),
    ("cyclic", {"max_lr": 0.2, "step_size_up": 10, "step_size_down": 15, "mode": "triangular2"}),
    ("cyclic", {"max_lr": 0.2, "step_size_up": 8, "mode": "exp_range", "gamma": 0.98}),
    ("cyclic", {"max_lr": 0.2, "step_size_up": 8, "cycle_momentum": False}),
    ("plateau", {"patience": 3, "factor": 0.5, "cooldown": 2, "threshold": 0.01}),
    ("plateau", {"patience": 1, "threshold_mode": "abs", "threshold": 0.02, "min_lr": 0.005}),
]

# gdcli optimizer, its options, torch class, torch options, base lr (Adagrad's steps are small)
OPTIMIZERS: list[tuple[str, dict[str, Any], str, dict[str, Any], float]] = [
    ("sgd", {"momentum": 0.9}, "SGD", {"momentum": 0.9}, 0.05),
    ("sgd", {"momentum": 0.5, "nesterov": True}, "SGD", {"momentum": 0.5, "nesterov": True}, 0.05),
    ("sgd", {}, "SGD", {}, 0.05),
    ("adam", {}, "Adam", {}, 0.05),
    ("adamw", {"beta2": 0.99}, "AdamW", {"betas": (0.9, 0.99)}, 0.05),
    ("rmsprop", {"momentum": 0.5}, "RMSprop", {"momentum": 0.5}, 0.05),
    ("adagrad", {}, "Adagrad", {}, 0.5),
]


@pytest.mark.parametrize(
    "drive", DRIVES, ids=lambda d: f"{d[0]}-" + ",".join(map(str, d[1].values()))
)
@pytest.mark.parametrize(
    "opt", OPTIMIZERS, ids=lambda o: f"{o[0]}-" + ",".join(map(str, o[1].values()))
)
def test_params_equal_torch(
    drive: tuple[str, dict[str, Any]],
    opt: tuple[str, dict[str, Any], str, dict[str, Any], float],
) -> None:
    torch = pytest.importorskip("torch")
    name, options = drive
    ours_name, ours_options, torch_name, torch_options, base_lr = opt

    w = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    torch_opt = getattr(torch.optim, torch_name)([w, b], lr=base_lr, **torch_options)
    optimizer = optimizers.make_optimizer(ours_name, base_lr, **ours_options)
    torch_class = getattr(torch.optim.lr_scheduler, TORCH_CLASS[name])
    kwargs = torch_kwargs(name, base_lr, options)
    if ours_name == "adagrad" and cycles_momentum(name, options):
        with pytest.raises(ValueError, match="momentum"):
            torch_class(torch_opt, **kwargs)
        schedule = schedules.make_schedule(name, base_lr, **options)
        with pytest.raises(BadValue) as caught:
            schedules.apply(schedule, optimizer)
        assert caught.value.parameter == "cycle_momentum"
        return
    scheduler = torch_class(torch_opt, **kwargs)
    schedule = schedules.make_schedule(name, base_lr, **options)

    params: list[Any] = [0.0, 0.0]
    seen_lrs = set()
    for k in range(STEPS):
        # torch: the gradient of the same formula, at torch's own point
        start = loss(w.item(), b.item())
        gw, gb = grad(w.item(), b.item())
        w.grad = torch.tensor(gw, dtype=torch.float64)
        b.grad = torch.tensor(gb, dtype=torch.float64)
        torch_opt.step()
        scheduler.step(start) if name == "plateau" else scheduler.step()

        schedules.apply(schedule, optimizer)
        seen_lrs.add(optimizer.lr)
        metric = loss(*params)
        params = optimizer.step(params, list(grad(*params)))
        schedule.step(metric)

        theirs = [w.item(), b.item()]
        assert all(
            math.isclose(p, q, rel_tol=REL, abs_tol=1e-15)
            for p, q in zip(params, theirs, strict=True)
        ), f"update {k}: gdcli {params}, torch {theirs}"
    assert len(seen_lrs) > 1, "the schedule never changed the lr in 100 updates"
    assert loss(*params) < loss(0.0, 0.0)


# defaults


@pytest.mark.parametrize("name", list(schedules.SCHEDULES))
def test_defaults_equal_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    signature = inspect.signature(getattr(torch.optim.lr_scheduler, TORCH_CLASS[name]).__init__)
    theirs = {
        ("t_max" if key == "T_max" else key): p.default
        for key, p in signature.parameters.items()
        if key not in ("self", "optimizer", "last_epoch", "scale_fn", "scale_mode", "base_lr")
    }
    ours = {key: option.default for key, option in schedules.OPTIONS[name].items()}
    theirs = {
        k: schedules.REQUIRED if v is inspect.Parameter.empty else v for k, v in theirs.items()
    }
    assert ours == theirs
