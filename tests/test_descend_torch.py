"""`gdcli descend` trajectories against torch.optim in float64 (gradients by autograd).

Each function is written twice: as gdcli expression text for the CLI, and as torch code.
Every step's parameters, loss and gradient from `--format json` are compared with torch's.
The tests call pytest.importorskip("torch") inside, so they skip cleanly without torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from helpers import json_output

STEPS = 100
REL = 1e-9


def close(a: float, b: float, rel: float = REL) -> bool:
    """Relative to 1e-9, with an absolute floor far below the scale of the runs (values
    that cross zero cannot be compared relatively there)."""
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


# name, CLI flags, torch class name, torch keyword arguments (lr included)
CONFIGS: list[tuple[str, list[str], str, dict[str, Any]]] = [
    ("sgd-plain", ["--lr", "0.01"], "SGD", {"lr": 0.01}),
    (
        "sgd-momentum-dampening",
        ["--lr", "0.01", "--momentum", "0.9", "--dampening", "0.3"],
        "SGD",
        {"lr": 0.01, "momentum": 0.9, "dampening": 0.3},
    ),
    (
        "sgd-nesterov",
        ["--lr", "0.01", "--momentum", "0.8", "--nesterov"],
        "SGD",
        {"lr": 0.01, "momentum": 0.8, "nesterov": True},
    ),
    (
        "sgd-weight-decay",
        ["--lr", "0.02", "--weight-decay", "0.1"],
        "SGD",
        {"lr": 0.02, "weight_decay": 0.1},
    ),
    (
        "sgd-nesterov-weight-decay",
        ["--lr", "0.005", "--momentum", "0.5", "--nesterov", "--weight-decay", "0.05"],
        "SGD",
        {"lr": 0.005, "momentum": 0.5, "nesterov": True, "weight_decay": 0.05},
    ),
    ("adam-plain", ["--optimizer", "adam", "--lr", "0.05"], "Adam", {"lr": 0.05}),
    (
        "adam-amsgrad-weight-decay",
        [
            "--optimizer",
            "adam",
            "--lr",
            "0.05",
            "--beta1",
            "0.8",
            "--beta2",
            "0.99",
            "--amsgrad",
            "--weight-decay",
            "0.01",
        ],
        "Adam",
        {"lr": 0.05, "betas": (0.8, 0.99), "amsgrad": True, "weight_decay": 0.01},
    ),
    (
        "adam-eps",
        [
            "--optimizer",
            "adam",
            "--lr",
            "0.02",
            "--eps",
            "1e-3",
            "--beta1",
            "0.5",
            "--beta2",
            "0.9",
        ],
        "Adam",
        {"lr": 0.02, "eps": 1e-3, "betas": (0.5, 0.9)},
    ),
    ("adamw-plain", ["--optimizer", "adamw", "--lr", "0.05"], "AdamW", {"lr": 0.05}),
    (
        "adamw-amsgrad",
        ["--optimizer", "adamw", "--lr", "0.05", "--amsgrad", "--weight-decay", "0.2"],
        "AdamW",
        {"lr": 0.05, "amsgrad": True, "weight_decay": 0.2},
    ),
    ("rmsprop-plain", ["--optimizer", "rmsprop", "--lr", "0.01"], "RMSprop", {"lr": 0.01}),
    (
        "rmsprop-centered-momentum-weight-decay",
        [
            "--optimizer",
            "rmsprop",
            "--lr",
            "0.005",
            "--centered",
            "--momentum",
            "0.5",
            "--weight-decay",
            "0.1",
            "--alpha",
            "0.9",
        ],
        "RMSprop",
        {"lr": 0.005, "centered": True, "momentum": 0.5, "weight_decay": 0.1, "alpha": 0.9},
    ),
    ("adagrad-plain", ["--optimizer", "adagrad", "--lr", "0.1"], "Adagrad", {"lr": 0.1}),
    (
        "adagrad-decay-accumulator-weight-decay",
        [
            "--optimizer",
            "adagrad",
            "--lr",
            "0.2",
            "--lr-decay",
            "0.01",
            "--initial-accumulator-value",
            "0.1",
            "--weight-decay",
            "0.1",
        ],
        "Adagrad",
        {"lr": 0.2, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.1},
    ),
]


def _f_sin(t: Any, w: Any) -> Any:
    return (w - 2) ** 2 + t.sin(w)


def _f_softplus(t: Any, w: Any) -> Any:
    return t.log(1 + t.exp(w)) + 0.1 * w**2


def _f_rosenbrock(t: Any, x: Any, y: Any) -> Any:
    return (1 - x) ** 2 + 5 * (y - x**2) ** 2


def _f_quadratic(t: Any, x: Any, y: Any) -> Any:
    return x**2 + 3 * y**2 + x * y


# name, gdcli text, torch code, start
FUNCTIONS: list[tuple[str, str, Callable[..., Any], dict[str, float]]] = [
    ("sin", "(w-2)**2 + sin(w)", _f_sin, {"w": -1.0}),
    ("softplus", "log(1+exp(w)) + 0.1*w**2", _f_softplus, {"w": 1.5}),
    ("rosenbrock", "(1-x)**2 + 5*(y-x**2)**2", _f_rosenbrock, {"x": -0.5, "y": 1.5}),
    ("quadratic", "x**2 + 3*y**2 + x*y", _f_quadratic, {"x": 8.0, "y": -6.0}),
]


def torch_run(
    torch: Any, f: Callable[..., Any], start: dict[str, float], cls: str, kwargs: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every step's params, loss and gradient, by torch.optim in float64 with autograd."""
    names = list(start)
    params = [torch.tensor(start[n], dtype=torch.float64, requires_grad=True) for n in names]
    opt = getattr(torch.optim, cls)(params, foreach=False, **kwargs)
    out = []
    for k in range(STEPS + 1):
        opt.zero_grad()
        loss = f(torch, *params)
        loss.backward()
        out.append(
            {
                "step": k,
                "params": {n: p.item() for n, p in zip(names, params, strict=True)},
                "state": {
                    key: {n: opt.state[p][key].item() for n, p in zip(names, params, strict=True)}
                    for key in (opt.state[params[0]] if k else {})
                    if key != "step"
                },
            }
        )
        if k < STEPS:
            opt.step()
    return out


def torch_loss_and_grad(
    torch: Any, f: Callable[..., Any], point: dict[str, float]
) -> tuple[float, dict[str, float]]:
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in point.values()]
    loss = f(torch, *params)
    loss.backward()
    return loss.item(), {n: p.grad.item() for n, p in zip(point, params, strict=True)}


def cli_json(run: Callable[..., Any], text: str, start: dict[str, float], flags: list[str]) -> Any:
    start_text = ",".join(f"{n}={v!r}" for n, v in start.items())
    args = ["descend", text, "--start", start_text, "--format", "json"]
    args += ["--steps", str(STEPS), "--tol", "0", "--show-state", *flags]
    return json_output(run(args))


@pytest.mark.parametrize(
    ("fname", "text", "f", "start"), FUNCTIONS, ids=[fn[0] for fn in FUNCTIONS]
)
@pytest.mark.parametrize(("cname", "flags", "cls", "kwargs"), CONFIGS, ids=[c[0] for c in CONFIGS])
def test_trajectory_matches_torch(run, fname, text, f, start, cname, flags, cls, kwargs):
    torch = pytest.importorskip("torch")
    expected = torch_run(torch, f, start, cls, kwargs)
    assert all(math.isfinite(v) for rec in expected for v in rec["params"].values())
    d = cli_json(run, text, start, flags)
    assert d["status"] == "max_steps"
    assert d["variables"] == list(start)
    assert d["start"] == start
    assert len(d["steps"]) == STEPS + 1
    for got, want in zip(d["steps"], expected, strict=True):
        assert got["step"] == want["step"]
        for n in start:
            assert close(got["params"][n], want["params"][n]), (got, want)
        # loss and gradient at gdcli's own point, by torch (comparing them at torch's point
        # would magnify a 1e-12 difference in the params where the gradient's terms cancel)
        loss, grad = torch_loss_and_grad(torch, f, got["params"])
        assert close(got["loss"], loss), (got, loss)
        for n in start:
            assert close(got["grad"][n], grad[n]), (got, grad)
        # the optimizer's buffers, under torch's state keys
        assert set(got["state"]) == set(want["state"]), (got, want)
        for key, values in want["state"].items():
            for n in start:
                assert close(got["state"][key][n], values[n]), (key, got, want)
    final = d["final"]
    assert final["step"] == STEPS
    for n in start:
        assert close(final["params"][n], expected[-1]["params"][n])


@pytest.mark.parametrize(("cname", "flags", "cls", "kwargs"), CONFIGS, ids=[c[0] for c in CONFIGS])
def test_hyper_parameters_reported(run, cname, flags, cls, kwargs):
    """The JSON names the optimizer and the lr it ran with, and torch's defaults fill the rest."""
    torch = pytest.importorskip("torch")
    d = cli_json(run, "w**2", {"w": 1.0}, [*flags, "--steps", "1"])
    assert d["optimizer"] == cls.lower()
    assert d["lr"] == kwargs["lr"]
    defaults = getattr(torch.optim, cls)([torch.zeros(1, dtype=torch.float64)], **kwargs).defaults
    hyper = d["hyper"]
    assert hyper, "every optimizer has hyper-parameters besides lr"
    for key, value in hyper.items():
        if key in ("beta1", "beta2"):
            assert value == defaults["betas"][0 if key == "beta1" else 1]
        else:  # torch's own name for every other hyper-parameter
            assert value == defaults[key], key
