"""Sweeps at the floor (issue 16) and telling the same truth as descend (issue 17, 6):
every run of a sweep is `Descent`'s run with the same settings, bit for bit (status,
steps used, final loss and point), for every update rule, with or without a schedule;
stopped runs leave the arrays; lists are built only for what is written."""

from __future__ import annotations

import math
import random
import warnings
from typing import Any

import numpy as np
import pytest
from helpers import json_output, run_cli, step_loop

from gdcli.compile.codegen import build, scalar
from gdcli.compile.sweep import ArrayEvaluator, array_source
from gdcli.descent import STATUS, Descent, norm_threshold, sweep
from gdcli.errors import NumericalError
from gdcli.optimizers import make_optimizer, optimizer_factory
from gdcli.parse.expression import parse_loss
from gdcli.stopping import StopRule

RULES = [
    ("sgd", {}),
    ("sgd", {"weight_decay": 0.1}),
    ("sgd", {"momentum": 0.9, "dampening": 0.3}),
    ("sgd", {"momentum": 0.8, "nesterov": True, "weight_decay": 0.01}),
    ("adam", {}),
    ("adam", {"amsgrad": True, "weight_decay": 0.1}),
    ("adamw", {}),
    ("adamw", {"amsgrad": True}),
    ("rmsprop", {}),
    ("rmsprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("adagrad", {}),
    ("adagrad", {"lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.05}),
]
RULE_IDS = [f"{name}-{'-'.join(map(str, hyper.values())) or 'plain'}" for name, hyper in RULES]

LOSSES = [
    "(w-3)**2",
    "w**4 - 3*w**2 + w",
    "max(0, 3*w+2)",
    "abs(w - 1) + w**2",
    "exp(-w) + w**2 / 10",
    "sigmoid(w) * w**2",
    "log(w)",
    "sqrt(w) + w**2",
    "exp(w)",
    "w**3",
    "1/w + w**2",
    "1/(1+1/w)",
    "sin(w)*w",
    "tanh(w)",
    "relu(w) + Heaviside(w)*w",
    "softplus(w)",
    "(w**2)**(1/3)",
    "abs(w)**1.5",
    "w**5 - w",
    "w**-2 + w",
    "exp(w**2)",
    "sinh(sin(sinh(2)))*w",
    "(x-1)**2 + 10*(y+2)**2",
    "x*y + x**2 + y**4",
    "x**2 + y**2 + z**2 + x*z",
]


def _descend(compiled: Any, start: list[float], name: str, hyper: dict[str, Any], lr: float,
             rule: StopRule) -> tuple[Any, ...] | None:  # fmt: skip
    """(status, step, loss, point) of the step loop; None where the start is refused."""
    try:
        d = Descent(compiled.evaluate_params, start, optimizer_factory(name, lr, **hyper), rule)
    except NumericalError:
        return None
    last, outcome = step_loop(d)
    return outcome.status, outcome.step, repr(last.loss), [repr(p) for p in last.params]


def _swept(result: Any, j: int) -> tuple[Any, ...]:
    return (
        STATUS[result.codes[j]],
        int(result.steps_used[j]),
        repr(float(result.final_loss[j])),
        [repr(float(p[j])) for p in result.final_params],
    )


@pytest.mark.parametrize(("name", "hyper"), RULES, ids=RULE_IDS)
def test_every_run_of_a_sweep_is_descends_to_the_bit(name, hyper):
    rng = random.Random(len(name) * 31 + len(hyper))
    for text in LOSSES:
        loss = parse_loss(text)
        compiled, evaluate = build(loss), ArrayEvaluator(scalar(loss))
        start = [rng.choice([rng.uniform(-3, 3), 0.5, 2.0]) for _ in compiled.variables]
        lrs = [rng.choice([0.0, 0.01, 0.1, 0.5, 1.5, 1e3, rng.uniform(0, 2)]) for _ in range(6)]
        rule = StopRule(rng.choice([1, 5, 60, 250]), rng.choice([1e-8, 0.0, 1e-3]))
        starts = [np.full(len(lrs), v) for v in start]
        result = sweep(evaluate, starts, make_optimizer(name, np.array(lrs), **hyper), rule)
        for j, lr in enumerate(lrs):
            want = _descend(compiled, start, name, hyper, lr, rule)
            if want is None:  # the loss is not defined at the start: diverged at step 0
                assert _swept(result, j)[:2] == ("diverged", 0), (text, lr)
                continue
            assert _swept(result, j) == want, (text, name, start, lr)


@pytest.mark.parametrize("schedule", ["step", "cosine", "onecycle"])
def test_a_scheduled_sweep_is_descends_too(schedule):
    """With a schedule (one lr per run) the stopped runs stay in place, frozen."""
    from gdcli.schedules import make_schedule

    options = {"step": {"step_size": 7, "gamma": 0.5}, "cosine": {"t_max": 40},
               "onecycle": {"max_lr": 0.5, "total_steps": 200}}[schedule]  # fmt: skip
    for text in ("(w-3)**2", "w**4 - 3*w**2 + w", "exp(w)"):
        loss = parse_loss(text)
        compiled, evaluate = build(loss), ArrayEvaluator(scalar(loss))
        lrs = [0.01, 0.1, 0.5, 1.2, 3.0]
        rule = StopRule(150, 1e-6)
        result = sweep(
            evaluate, [np.full(5, 0.5)], make_optimizer("sgd", np.array(lrs), momentum=0.5),
            rule, make_schedule(schedule, np.array(lrs), **options),
        )  # fmt: skip
        for j, lr in enumerate(lrs):
            d = Descent(
                compiled.evaluate_params, [0.5], optimizer_factory("sgd", lr, momentum=0.5),
                rule, schedule=lambda lr=lr: make_schedule(schedule, lr, **options),
            )  # fmt: skip
            last, outcome = step_loop(d)
            want = (outcome.status, outcome.step, repr(last.loss), [repr(last.params[0])])
            assert _swept(result, j) == want, (text, schedule, lr)


def test_the_constant_of_issue_17_is_descends():
    """sinh(sin(sinh(2)))*w: 1.1450633037440054 after 3 steps of lr 0.1, as descend."""
    r = run_cli(["sweep", "sinh(sin(sinh(2)))*w", "--lr", "0.1", "--steps", "3", "-f", "json"])
    d = run_cli(["descend", "sinh(sin(sinh(2)))*w", "--lr", "0.1", "--steps", "3", "-f", "json"])
    (run,) = json_output(r)["runs"]
    final = json_output(d)["final"]
    assert run["params"]["w"] == final["params"]["w"] == 1.1450633037440054
    assert run["final_loss"] == final["loss"]


def test_a_diverged_run_reports_descends_final_loss():
    """exp(-w) where w became inf: descend writes the loss there as null (it does not
    evaluate at a point that is not finite); so does the sweep, not exp(-inf) = 0.0."""
    args = ["-w", "--start", "1e308", "--lr", "1e308", "--steps", "3", "-f", "json"]
    r = run_cli(["sweep", *args])
    d = run_cli(["descend", *args])
    (run,) = json_output(r)["runs"]
    final = json_output(d, 3)
    assert run["status"] == final["status"] == "diverged"
    assert run["final_loss"] is None and final["final"]["loss"] is None
    assert run["steps_used"] == final["final"]["step"]
    # exp(-w) from -700 with lr 1e10: w = inf after one step, where exp(-w) is 0.0
    args = ["exp(-w)", "--start", "-700", "--lr", "1e10", "--steps", "3", "-f", "json"]
    (run,) = json_output(run_cli(["sweep", *args]))["runs"]
    final = json_output(run_cli(["descend", *args]), 3)
    assert run["status"] == final["status"] == "diverged"
    assert run["final_loss"] is None and final["final"]["loss"] is None
    assert run["steps_used"] == final["final"]["step"] == 1


def test_a_loss_past_1_8e296_warns_of_nothing():
    """1e12 x |loss at the start| overflows to an inf limit: no NumPy warning, and the
    runs are descend's."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = run_cli(["sweep", "w**2", "--start", "1e150", "--lr", "0.1,0.5,2", "--steps", "20",
                     "-f", "json"])  # fmt: skip
    assert r.code == 0 and "Warning" not in r.err, r.err
    for run in json_output(r)["runs"]:
        d = run_cli(["descend", "w**2", "--start", "1e150", "--lr", repr(run["lr"]),
                     "--steps", "20", "-f", "json"])  # fmt: skip
        final = json_output(d, d.code)["final"]
        assert (run["params"], run["final_loss"], run["steps_used"]) == (
            final["params"], final["loss"], final["step"],
        )  # fmt: skip


def test_the_rewritten_source_is_python_entry_by_entry():
    """What runs over arrays: IEEE arithmetic as is, the rest through exact stand-ins."""
    loss = parse_loss("sin(w)**2 + max(0, w) + w**1.5 + 1/w")
    text = array_source(scalar(loss).tree)
    assert "numpy.sin(" in text and "numpy.first_max(" in text
    assert "numpy.power(" in text and "numpy.divide(" in text
    assert "**" not in text


def test_an_entry_python_would_raise_on_is_the_scalar_functions():
    """log of a negative number: nan for the loss and every partial, as descend's
    evaluation gives it, not numpy's log and its gradient."""
    loss = parse_loss("log(w) + w")
    evaluate = ArrayEvaluator(scalar(loss))
    value, (grad,) = evaluate([np.array([2.0, -1.0, 0.0])])
    compiled = build(loss)
    for j, x in enumerate((2.0, -1.0, 0.0)):
        want_value, (want_grad,) = compiled.evaluate([x])
        assert repr(float(value[j])) == repr(want_value)
        assert repr(float(grad[j])) == repr(want_grad)


def test_the_norm_threshold_is_the_sqrt_test():
    rng = random.Random(3)
    for tol in [
        0.0,
        1e-300,
        1e-8,
        1e-3,
        0.5,
        1.0,
        3.7,
        1e154,
        1e200,
        *(rng.random() for _ in range(50)),
    ]:
        y = norm_threshold(tol)
        assert math.sqrt(y) <= tol
        assert y == 1.7976931348623157e308 or math.sqrt(math.nextafter(y, math.inf)) > tol


def test_three_partials_near_the_threshold_are_summed_as_fsum():
    """Squares whose float sum and fsum round differently, right at tol: the sweep
    decides as descend's fsum does."""
    loss = parse_loss("a*a/2 + b*b/2 + c*c/2")
    evaluate = ArrayEvaluator(scalar(loss))
    compiled = build(loss)
    rng = random.Random(5)
    for _ in range(200):
        point = [rng.uniform(-1, 1) for _ in range(3)]
        norm = math.sqrt(math.fsum(p * p for p in point))
        rule = StopRule(1, norm)
        result = sweep(
            evaluate, [np.array([p]) for p in point], make_optimizer("sgd", np.array([0.1])), rule
        )
        want = _descend(compiled, point, "sgd", {}, 0.1, rule)
        assert _swept(result, 0) == want


def test_a_big_sweep_runs_in_compact_arrays():
    """Runs that stop leave the arrays (and the optimizer's buffers): the results are
    the same as run by run."""
    loss = parse_loss("(w-3)**2")
    evaluate = ArrayEvaluator(scalar(loss))
    lrs = np.linspace(1e-3, 1.9, 2000)
    result = sweep(evaluate, [np.zeros(2000)], make_optimizer("adam", lrs), StopRule(300, 1e-6))
    compiled = build(loss)
    for j in range(0, 2000, 97):
        want = _descend(compiled, [0.0], "adam", {}, float(lrs[j]), StopRule(300, 1e-6))
        assert _swept(result, j) == want


def test_quiet_sweep_builds_no_list_per_run(monkeypatch):
    """--quiet prints the best lr: no run's record is made."""
    import gdcli.reports.sweep as report

    made = []
    monkeypatch.setattr(report, "nested", lambda *a: made.append(a) or a[0])
    r = run_cli(
        ["sweep", "(w-3)**2", "--lr", "0.01:1.9:5000", "--start", "0", "--steps", "200", "-q"]
    )
    assert r.code == 0 and float(r.out) == pytest.approx(0.5, abs=1e-3)
    assert not made
