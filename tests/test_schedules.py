"""gdcli.schedules without torch: closed forms, worked plateau examples, the registry, errors,
the driver helper. (tests/test_schedules_torch.py compares every schedule with torch.)"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gdcli import optimizers, schedules
from gdcli.errors import BadInput, BadValue

REL = 1e-12


def close(a: float, b: float, scale: float = 1.0) -> bool:
    """Relative to 1e-12; values near zero (a cosine's trough) against the run's scale."""
    return math.isclose(a, b, rel_tol=REL, abs_tol=1e-15 * scale)


def assert_all_close(ours: list[float], expected: list[float], scale: float = 1.0) -> None:
    assert len(ours) == len(expected)
    bad = [
        (k, a, b)
        for k, (a, b) in enumerate(zip(ours, expected, strict=True))
        if not close(a, b, scale)
    ]
    assert not bad, f"update, gdcli, expected: {bad[:5]}"


# closed forms


@pytest.mark.parametrize(
    "base, step_size, gamma", [(0.1, 3, 0.1), (0.5, 1, 0.5), (0.05, 7, 0.9), (1.0, 2, 1.5)]
)
def test_step_closed_form(base: float, step_size: int, gamma: float) -> None:
    lrs = schedules.preview("step", base, 100, step_size=step_size, gamma=gamma)
    assert_all_close(lrs, [base * gamma ** (k // step_size) for k in range(100)])


@pytest.mark.parametrize(
    "milestones, gamma",
    [([2, 5, 9], 0.1), ([3, 3, 7], 0.5), ([0, 4, 4, 4], 0.1), ([8, 2, 5], 0.3), ([], 0.1)],
)
def test_multistep_closed_form(milestones: list[int], gamma: float) -> None:
    """gamma to the number of milestones <= k: repeats count twice, 0 counts at update 0."""
    lrs = schedules.preview("multistep", 0.2, 15, milestones=milestones, gamma=gamma)
    ordered = sorted(milestones)
    assert_all_close(lrs, [0.2 * gamma ** bisect_right(ordered, k) for k in range(15)])


@pytest.mark.parametrize("gamma", [0.9, 0.5, 1.01])
def test_exponential_closed_form(gamma: float) -> None:
    lrs = schedules.preview("exponential", 0.3, 200, gamma=gamma)
    assert_all_close(lrs, [0.3 * gamma**k for k in range(200)], scale=1e-300)


@pytest.mark.parametrize("t_max, eta_min", [(10, 0.0), (7, 0.001), (1, 0.0), (3, 0.05), (50, 1e-4)])
def test_cosine_closed_form_over_several_periods(t_max: int, eta_min: float) -> None:
    """The recursive form follows eta_min + (base - eta_min)(1 + cos(pi k / t_max)) / 2 within
    the first half period and, past t_max, back up and round again (period 2 t_max)."""
    base = 0.1
    n = 4 * t_max + 3
    lrs = schedules.preview("cosine", base, n, t_max=t_max, eta_min=eta_min)
    expected = [
        eta_min + (base - eta_min) * (1 + math.cos(math.pi * k / t_max)) / 2 for k in range(n)
    ]
    assert_all_close(lrs, expected, scale=base)
    assert lrs[t_max] == pytest.approx(eta_min, abs=1e-15)
    assert lrs[2 * t_max] == pytest.approx(base, rel=1e-12)


@pytest.mark.parametrize(
    "start, end, total",
    [(1 / 3, 1.0, 5), (0.25, 0.75, 8), (1.0, 0.1, 4), (0.5, 0.0, 3), (0.2, 1.0, 1)],
)
def test_linear_closed_form(start: float, end: float, total: int) -> None:
    lrs = schedules.preview(
        "linear", 0.1, 3 * total + 2, start_factor=start, end_factor=end, total_iters=total
    )
    expected = [0.1 * (start + (end - start) * min(k, total) / total) for k in range(3 * total + 2)]
    assert_all_close(lrs, expected, scale=0.1)


def triangle(k: int, up: int) -> float:
    """The CLR paper's triangle: 0 at the start of a cycle, 1 after `up` steps, 0 after 2 up."""
    cycle = math.floor(1 + k / (2 * up))
    return max(0.0, 1 - abs(k / up - 2 * cycle + 1))


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_cyclic_closed_form(mode: str) -> None:
    base, top, up, gamma = 0.01, 0.1, 4, 0.97
    n = 40
    lrs = schedules.preview("cyclic", base, n, max_lr=top, step_size_up=up, mode=mode, gamma=gamma)
    momenta = schedules.preview_momentum(
        "cyclic", base, n, max_lr=top, step_size_up=up, mode=mode, gamma=gamma
    )
    assert momenta is not None

    def scale(k: int) -> float:
        if mode == "triangular":
            return 1.0
        if mode == "triangular2":
            return 0.5 ** math.floor(k / (2 * up))
        return gamma**k

    assert_all_close(lrs, [base + (top - base) * triangle(k, up) * scale(k) for k in range(n)])
    assert_all_close(momenta, [0.9 - (0.9 - 0.8) * triangle(k, up) * scale(k) for k in range(n)])
    assert lrs[up] == pytest.approx(top if mode != "exp_range" else base + (top - base) * gamma**up)


def test_cyclic_uneven_sides() -> None:
    """Up in 2 steps, down in 6: the peak at 2, back at the bottom at 8, where the next
    cycle starts."""
    lrs = schedules.preview("cyclic", 0.0, 17, max_lr=1.0, step_size_up=2, step_size_down=6)
    expected = [0, 0.5, 1, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6] * 3
    assert_all_close(lrs, expected[:17])


@pytest.mark.parametrize("anneal", ["cos", "linear"])
@pytest.mark.parametrize("three_phase", [False, True])
def test_onecycle_landmarks(anneal: str, three_phase: bool) -> None:
    """Up from max_lr/div_factor to max_lr at pct_start*T - 1, down to the initial lr (three
    phases: at 2 pct_start T - 2), to initial_lr/final_div_factor at T - 1; momentum mirrored."""
    total, top = 50, 2.0
    options: dict[str, Any] = {
        "max_lr": top,
        "total_steps": total,
        "pct_start": 0.2,
        "anneal_strategy": anneal,
        "three_phase": three_phase,
        "div_factor": 10.0,
        "final_div_factor": 100.0,
    }
    lrs = schedules.preview("onecycle", 123.0, total, **options)  # base_lr is not used
    momenta = schedules.preview_momentum("onecycle", 123.0, total, **options)
    assert momenta is not None
    initial, peak = top / 10, 9
    assert lrs[0] == pytest.approx(initial, rel=REL)
    assert lrs[peak] == pytest.approx(top, rel=REL)
    assert lrs[-1] == pytest.approx(initial / 100, rel=REL)
    assert momenta[0] == pytest.approx(0.95, rel=REL) and momenta[peak] == pytest.approx(
        0.85, rel=REL
    )
    assert momenta[-1] == pytest.approx(0.95, rel=REL)
    assert all(a < b for a, b in zip(lrs[: peak + 1], lrs[1 : peak + 1], strict=False))
    assert all(a > b for a, b in zip(lrs[peak:-1], lrs[peak + 1 :], strict=True))
    if three_phase:
        assert lrs[18] == pytest.approx(initial, rel=REL)
    if anneal == "linear":
        assert lrs[4] == pytest.approx(initial + (top - initial) * 4 / 9, rel=REL)
    else:
        assert lrs[4] == pytest.approx(
            top + (initial - top) / 2 * (math.cos(math.pi * 4 / 9) + 1), rel=REL
        )


def test_onecycle_epochs_times_steps_per_epoch() -> None:
    a = schedules.preview("onecycle", 0.1, 29, max_lr=0.1, epochs=4, steps_per_epoch=7)
    b = schedules.preview("onecycle", 0.1, 29, max_lr=0.1, total_steps=28)
    assert a == b
    # total_steps wins when both are given, as in torch
    c = schedules.preview(
        "onecycle", 0.1, 11, max_lr=0.1, total_steps=10, epochs=4, steps_per_epoch=7
    )
    assert c == schedules.preview("onecycle", 0.1, 11, max_lr=0.1, total_steps=10)


# plateau, worked by hand


def test_plateau_patience_and_cooldown() -> None:
    """patience 2: the lr halves after 3 steps in a row without improvement; cooldown 1: the
    step after a drop counts for nothing.
    metric  5  4  4  4  4   3  3  3  3    3    3    3    3
    bad     0  0  1  2  3>2 0c 1  2  3>2  0c   1    2    3>2
    lr   1  1  1  1  1  .5  .5 .5 .5 .25  .25  .25  .25  .125"""
    metrics = [5.0, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 3]
    lrs = schedules.preview("plateau", 1.0, 14, metrics=metrics, patience=2, factor=0.5, cooldown=1)
    assert lrs == [1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.125]


def test_plateau_threshold_rel_and_abs() -> None:
    """rel: 9.9995 is no improvement on 10 with threshold 1e-4 (needs < 9.999); abs 0.5: 9.6 is
    none either (needs < 9.5)."""
    small = [10.0, 9.9995, 9.9995]
    assert schedules.preview("plateau", 1.0, 4, metrics=small, patience=1) == [1, 1, 1, 0.1]
    assert schedules.preview("plateau", 1.0, 4, metrics=[10.0, 9.99, 9.98], patience=1) == [1] * 4
    abs_options: dict[str, Any] = {"patience": 0, "threshold_mode": "abs", "threshold": 0.5}
    assert schedules.preview("plateau", 1.0, 3, metrics=[10.0, 9.6], **abs_options) == [1, 1, 0.1]
    assert schedules.preview("plateau", 1.0, 3, metrics=[10.0, 9.4], **abs_options) == [1, 1, 1]


def test_plateau_mode_max() -> None:
    rising = [1.0, 2.0, 3.0, 4.0]
    assert schedules.preview("plateau", 1.0, 5, metrics=rising, mode="max", patience=0) == [1] * 5
    falling = [4.0, 3.0, 2.0, 1.0]
    lrs = schedules.preview("plateau", 1.0, 5, metrics=falling, mode="max", patience=0, factor=0.5)
    assert lrs == [1, 1, 0.5, 0.25, 0.125]


def test_plateau_min_lr_and_eps() -> None:
    flat = [1.0] * 5
    lrs = schedules.preview("plateau", 1.0, 6, metrics=flat, patience=0, min_lr=0.05)
    assert lrs == pytest.approx([1, 1, 0.1, 0.05, 0.05, 0.05], rel=REL)
    # a reduction smaller than eps is skipped: 0.025 -> 0.0125 changes by less than 0.02
    lrs = schedules.preview("plateau", 0.1, 6, metrics=flat, patience=0, factor=0.5, eps=0.02)
    assert lrs == [0.1, 0.1, 0.05, 0.025, 0.025, 0.025]


def test_plateau_nan_is_no_improvement() -> None:
    lrs = schedules.preview("plateau", 1.0, 4, metrics=[1.0, math.nan, math.nan], patience=1)
    assert lrs == [1, 1, 1, 0.1]


def test_plateau_step_needs_a_number() -> None:
    schedule = schedules.make_schedule("plateau", 0.1)
    with pytest.raises(BadInput, match="metric"):
        schedule.step()
    with pytest.raises(BadValue) as caught:
        schedule.step("low")  # type: ignore[arg-type]
    assert caught.value.parameter == "metric"
    with pytest.raises(BadValue) as caught:
        schedules.preview("plateau", 0.1, 5)
    assert caught.value.parameter == "metrics"
    with pytest.raises(BadValue) as caught:
        schedules.preview("plateau", 0.1, 5, metrics=[1.0, 2.0])
    assert caught.value.parameter == "metrics"


def test_metric_is_ignored_by_other_schedules() -> None:
    a = schedules.make_schedule("cosine", 0.1, t_max=5)
    b = schedules.make_schedule("cosine", 0.1, t_max=5)
    for k in range(12):
        a.step()
        b.step(float(k))
        assert a.lr == b.lr


# when the lr of update k is used


def test_lr_of_update_k_drives_sgd() -> None:
    """SGD on (w - 3)**2 multiplies w - 3 by (1 - 2 lr_k) at update k, with lr_k the schedule's
    lr after k calls of step: the driver loop gives prod(1 - 2 lr_k) for k = 0 .. n-1."""
    n = 25
    lrs = schedules.preview("step", 0.3, n, step_size=4, gamma=0.5)
    schedule = schedules.make_schedule("step", 0.3, step_size=4, gamma=0.5)
    optimizer = optimizers.SGD(lr=0.3)
    params: list[Any] = [1.0]
    for _ in range(n):
        schedules.apply(schedule, optimizer)
        (w,) = params
        params = optimizer.step(params, [2 * (w - 3)])
        schedule.step()
    assert params[0] - 3 == pytest.approx(-2 * math.prod(1 - 2 * lr for lr in lrs), rel=1e-12)


# onecycle's end


def test_onecycle_cannot_be_stepped_past_total_steps() -> None:
    schedule = schedules.make_schedule("onecycle", 0.1, max_lr=1.0, total_steps=5)
    assert schedule.step_limit == 5
    for _ in range(5):
        schedule.step()
    lr, momentum = schedule.lr, schedule.momentum
    with pytest.raises(BadValue) as caught:
        schedule.step()
    assert caught.value.parameter == "total_steps"
    assert (schedule.lr, schedule.momentum, schedule.last_epoch) == (lr, momentum, 5)
    assert len(schedules.preview("onecycle", 0.1, 6, max_lr=1.0, total_steps=5)) == 6
    with pytest.raises(BadValue) as caught:
        schedules.preview("onecycle", 0.1, 7, max_lr=1.0, total_steps=5)
    assert caught.value.parameter == "steps"


def test_onecycle_phase_of_no_steps() -> None:
    """torch divides by zero here; gdcli names pct_start."""
    with pytest.raises(BadValue) as caught:
        schedules.make_schedule("onecycle", 0.1, max_lr=1.0, total_steps=10, pct_start=0.1)
    assert caught.value.parameter == "pct_start"
    assert len(schedules.preview("onecycle", 0.1, 7, max_lr=1.0, total_steps=7, pct_start=1.0)) == 7
    with pytest.raises(BadValue) as caught:
        schedules.preview("onecycle", 0.1, 8, max_lr=1.0, total_steps=7, pct_start=1.0)
    assert caught.value.parameter == "pct_start"


def test_other_schedules_have_no_step_limit() -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("step", {"step_size": 1}),
        ("cyclic", {"max_lr": 1.0}),
        ("plateau", {}),
    ]
    for name, options in cases:
        assert schedules.make_schedule(name, 0.1, **options).step_limit is None


# arrays of lrs (a sweep)

ARRAY_CASES: list[tuple[str, dict[str, Any]]] = [
    ("step", {"step_size": 3, "gamma": 0.5}),
    ("multistep", {"milestones": [0, 2, 2, 7]}),
    ("exponential", {"gamma": 0.9}),
    ("cosine", {"t_max": 6, "eta_min": 0.001}),
    ("linear", {"start_factor": 0.2, "total_iters": 4}),
    ("cyclic", {"max_lr": 0.3, "step_size_up": 3, "mode": "triangular2"}),
]


@pytest.mark.parametrize("name, options", ARRAY_CASES)
def test_array_of_base_lrs_equals_one_run_each(name: str, options: dict[str, Any]) -> None:
    base = np.array([0.1, 0.02, 0.5, 0.0])
    runs = schedules.make_schedule(name, base, **options)
    base[:] = 7.0  # the schedule keeps its own copy
    singles = [schedules.preview(name, b, 20, **options) for b in (0.1, 0.02, 0.5, 0.0)]
    for k in range(20):
        assert isinstance(runs.lr, np.ndarray)
        assert runs.lr.tolist() == [single[k] for single in singles]
        runs.step()


def test_plateau_takes_one_lr() -> None:
    with pytest.raises(BadValue) as caught:
        schedules.make_schedule("plateau", np.array([0.1, 0.2]))
    assert caught.value.parameter == "base_lr"


# the registry

NAMES = ["step", "multistep", "exponential", "cosine", "linear", "onecycle", "cyclic", "plateau"]


def test_registry_names_and_options() -> None:
    assert list(schedules.SCHEDULES) == NAMES
    for name, cls in schedules.SCHEDULES.items():
        assert cls.name == name
        assert set(schedules.DEFAULTS[name]) <= set(schedules.OPTIONS[name])
        assert "base_lr" not in schedules.OPTIONS[name]
    options = schedules.OPTIONS
    required = [
        o.name for per_schedule in options.values() for o in per_schedule.values() if o.required
    ]
    assert required == [
        "step_size",
        "milestones",
        "gamma",
        "t_max",
        "max_lr",
        "max_lr",
    ]
    assert options["multistep"]["milestones"].kind is tuple
    assert options["step"]["step_size"].kind is int and options["step"]["gamma"].kind is float
    assert options["onecycle"]["three_phase"].kind is bool
    assert (
        options["onecycle"]["total_steps"].optional
        and options["onecycle"]["total_steps"].kind is int
    )
    assert options["cyclic"]["mode"].choices == ("triangular", "triangular2", "exp_range")
    assert options["onecycle"]["anneal_strategy"].choices == ("cos", "linear")
    assert options["plateau"]["threshold_mode"].choices == ("rel", "abs")
    assert schedules.DEFAULTS["linear"] == {
        "start_factor": 1 / 3,
        "end_factor": 1.0,
        "total_iters": 5,
    }
    assert schedules.DEFAULTS["exponential"] == {}


def test_options_in_force() -> None:
    schedule = schedules.make_schedule("multistep", 0.1, milestones=[5, 2])
    assert schedule.options() == {"milestones": (5, 2), "gamma": 0.1}
    schedule = schedules.make_schedule("onecycle", 0.1, max_lr=1, epochs=2, steps_per_epoch=3)
    assert schedule.options()["total_steps"] == 6
    assert schedule.options()["max_lr"] == 1.0
    assert schedules.make_schedule("linear", 0.1).options() == schedules.DEFAULTS["linear"]


def test_none_counts_as_not_given() -> None:
    a = schedules.make_schedule("cyclic", 0.1, max_lr=1.0, step_size_down=None, gamma=None)
    assert a.options() == schedules.make_schedule("cyclic", 0.1, max_lr=1.0).options()


def test_names_are_case_and_space_tolerant() -> None:
    assert schedules.make_schedule(" Cosine ", 0.1, t_max=3).name == "cosine"


# bad input


def test_unknown_schedule() -> None:
    with pytest.raises(BadInput) as caught:
        schedules.make_schedule("warmup", 0.1)
    assert not isinstance(caught.value, BadValue)
    assert "warmup" in caught.value.message
    assert caught.value.hint is not None and "onecycle" in caught.value.hint


def test_unknown_option() -> None:
    with pytest.raises(BadInput) as caught:
        schedules.make_schedule("step", 0.1, step_size=3, gama=0.5)
    assert "gama" in caught.value.message and "belongs" not in caught.value.message
    assert caught.value.hint == "step takes: step_size, gamma"


def test_option_of_another_schedule() -> None:
    with pytest.raises(BadInput) as caught:
        schedules.make_schedule("step", 0.1, step_size=3, max_lr=1.0)
    assert "'max_lr'" in caught.value.message
    assert "onecycle, cyclic" in caught.value.message


@pytest.mark.parametrize(
    "name, options, parameter",
    [
        ("step", {}, "step_size"),
        ("step", {"step_size": None}, "step_size"),
        ("multistep", {"gamma": 0.5}, "milestones"),
        ("exponential", {}, "gamma"),
        ("cosine", {"eta_min": 0.01}, "t_max"),
        ("onecycle", {"total_steps": 5}, "max_lr"),
        ("onecycle", {"max_lr": 1.0}, "total_steps"),
        ("onecycle", {"max_lr": 1.0, "epochs": 3}, "total_steps"),
        ("onecycle", {"max_lr": 1.0, "steps_per_epoch": 3}, "total_steps"),
        ("cyclic", {"step_size_up": 4}, "max_lr"),
    ],
)
def test_missing_required_option(name: str, options: dict[str, Any], parameter: str) -> None:
    with pytest.raises(BadValue) as caught:
        schedules.make_schedule(name, 0.1, **options)
    assert caught.value.parameter == parameter
    assert "required" in caught.value.problem


REQUIRED: dict[str, dict[str, Any]] = {
    "step": {"step_size": 3},
    "multistep": {"milestones": [2]},
    "exponential": {"gamma": 0.9},
    "cosine": {"t_max": 5},
    "linear": {},
    "onecycle": {"max_lr": 1.0, "total_steps": 10},
    "cyclic": {"max_lr": 1.0},
    "plateau": {},
}


@pytest.mark.parametrize(
    "name, parameter, value",
    [
        ("step", "step_size", -1),
        ("step", "step_size", 0),
        ("step", "step_size", 2.5),
        ("step", "step_size", True),
        ("step", "gamma", 0),
        ("step", "gamma", -1),
        ("step", "gamma", math.nan),
        ("step", "gamma", math.inf),
        ("step", "gamma", "0.1"),
        ("multistep", "milestones", [-1, 3]),
        ("multistep", "milestones", [1.5]),
        ("multistep", "milestones", "1,2"),
        ("multistep", "milestones", 5),
        ("multistep", "gamma", 0.0),
        ("exponential", "gamma", -0.5),
        ("exponential", "gamma", 0),
        ("cosine", "t_max", 0),
        ("cosine", "eta_min", -0.001),
        ("linear", "start_factor", 0),
        ("linear", "start_factor", 1.5),
        ("linear", "end_factor", -0.1),
        ("linear", "end_factor", 1.1),
        ("linear", "total_iters", 0),
        ("onecycle", "max_lr", -1.0),
        ("onecycle", "total_steps", 0),
        ("onecycle", "total_steps", -5),
        ("onecycle", "total_steps", 2.5),
        ("onecycle", "pct_start", -0.1),
        ("onecycle", "pct_start", 1.1),
        ("onecycle", "anneal_strategy", "exp"),
        ("onecycle", "div_factor", 0),
        ("onecycle", "final_div_factor", -1),
        ("onecycle", "base_momentum", -0.1),
        ("onecycle", "max_momentum", math.nan),
        ("onecycle", "cycle_momentum", "yes"),
        ("onecycle", "three_phase", 1),
        ("cyclic", "max_lr", math.nan),
        ("cyclic", "step_size_up", 0),
        ("cyclic", "step_size_down", 0),
        ("cyclic", "mode", "triangle"),
        ("cyclic", "gamma", 0),
        ("plateau", "mode", "minimum"),
        ("plateau", "factor", 1.0),
        ("plateau", "factor", 1.5),
        ("plateau", "factor", -0.1),
        ("plateau", "patience", -1),
        ("plateau", "patience", 1.5),
        ("plateau", "cooldown", -1),
        ("plateau", "threshold", -1e-4),
        ("plateau", "threshold_mode", "relative"),
        ("plateau", "min_lr", -1),
        ("plateau", "eps", -1e-8),
    ],
)
def test_out_of_range(name: str, parameter: str, value: Any) -> None:
    with pytest.raises(BadValue) as caught:
        schedules.make_schedule(name, 0.1, **{**REQUIRED[name], parameter: value})
    assert caught.value.parameter == parameter
    assert caught.value.message.startswith(parameter + " ")


def test_onecycle_epochs_checked() -> None:
    for parameter in ("epochs", "steps_per_epoch"):
        options = {"max_lr": 1.0, "epochs": 3, "steps_per_epoch": 4, parameter: 0}
        with pytest.raises(BadValue) as caught:
            schedules.make_schedule("onecycle", 0.1, **options)
        assert caught.value.parameter == parameter


def test_valid_edge_values_are_taken() -> None:
    """Values on the edge of torch's ranges, and whole numbers given as floats."""
    schedules.make_schedule("linear", 0.1, start_factor=1.0, end_factor=0.0)
    schedules.make_schedule("plateau", 0.1, factor=0.0, patience=0)
    schedules.make_schedule("onecycle", 0.1, max_lr=1, total_steps=5.0, pct_start=0)
    assert schedules.make_schedule("step", 0.1, step_size=3.0).options()["step_size"] == 3


@pytest.mark.parametrize("base_lr", [-0.1, math.nan, math.inf, "0.1", None, True])
def test_bad_base_lr(base_lr: Any) -> None:
    with pytest.raises(BadValue) as caught:
        schedules.make_schedule("step", base_lr, step_size=2)
    assert caught.value.parameter == "base_lr"


def test_bad_preview_steps() -> None:
    for steps in (0, -3, 2.5):
        with pytest.raises(BadValue) as caught:
            schedules.preview("step", 0.1, steps, step_size=2)  # type: ignore[arg-type]
        assert caught.value.parameter == "steps"
    with pytest.raises(BadValue) as caught:
        schedules.preview("step", np.array([0.1]), 3, step_size=2)  # type: ignore[arg-type]
    assert caught.value.parameter == "base_lr"
    assert schedules.preview("step", 0.1, 1, step_size=2) == [0.1]


# driving gdcli's optimizers


def test_apply_sets_lr_and_leaves_momentum_alone() -> None:
    schedule = schedules.make_schedule("exponential", 0.1, gamma=0.5)
    optimizer = optimizers.SGD(lr=0.1, momentum=0.9)
    schedule.step()
    schedules.apply(schedule, optimizer)
    assert (optimizer.lr, optimizer.momentum) == (0.05, 0.9)
    assert schedules.momentum_key(schedule, optimizer) is None


def test_apply_cycles_beta1_of_adam_types() -> None:
    for name in ("adam", "adamw"):
        schedule = schedules.make_schedule("cyclic", 0.01, max_lr=0.1, step_size_up=2)
        optimizer = optimizers.make_optimizer(name, 0.01)
        schedule.step()
        assert schedules.momentum_key(schedule, optimizer) == "beta1"
        schedules.apply(schedule, optimizer)
        assert optimizer.lr == pytest.approx(0.055)
        assert isinstance(optimizer, optimizers.Adam)  # AdamW too
        assert optimizer.beta1 == pytest.approx(0.85)
        assert optimizer.beta2 == 0.999 and not hasattr(optimizer, "momentum")


def test_apply_turns_momentum_on_for_plain_sgd_like_torch() -> None:
    schedule = schedules.make_schedule("onecycle", 0.1, max_lr=1.0, total_steps=10)
    for optimizer in (optimizers.SGD(lr=0.1), optimizers.RMSprop(lr=0.1)):
        assert optimizer.momentum == 0.0
        schedules.apply(schedule, optimizer)
        assert optimizer.momentum == 0.95


def test_apply_refuses_adagrad_when_momentum_is_cycled() -> None:
    optimizer = optimizers.Adagrad(lr=0.1)
    for name, options in [
        ("onecycle", {"max_lr": 1.0, "total_steps": 10}),
        ("cyclic", {"max_lr": 1.0}),
    ]:
        schedule = schedules.make_schedule(name, 0.1, **options)
        with pytest.raises(BadValue) as caught:
            schedules.apply(schedule, optimizer)
        assert caught.value.parameter == "cycle_momentum"
        assert "adagrad" in caught.value.problem
        quiet = schedules.make_schedule(name, 0.1, cycle_momentum=False, **options)
        schedules.apply(quiet, optimizer)
        assert optimizer.lr == quiet.lr


# the core's manners


def test_module_speaks_parameter_names_not_flags() -> None:
    source = Path(schedules.__file__).read_text()
    assert not re.search(r"--\w", source), "a command-line flag in the core"
    for word in (
        "import typer",
        "import rich",
        "import plotext",
        "from rich",
        "print(",
        "environ",
        "getenv",
    ):
        assert word not in source
