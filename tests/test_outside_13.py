"""Issue 13 checked from outside: other members of each class than the issue's
examples, every number against an independent reference (mpmath at 100 digits,
torch, or by hand), never against gdcli's own output."""

from __future__ import annotations

from typing import Any

import mpmath as mp
import pytest
from helpers import run_cli

mp.mp.dps = 100


def sigmoid(w: mp.mpf) -> mp.mpf:
    return 1 / (1 + mp.exp(-w))


def bce(w: mp.mpf) -> mp.mpf:
    with mp.workdps(1000):  # 1 - sigmoid(800) is about 1e-348
        return +(-mp.log(1 - sigmoid(w)))


def close(got: str, want: mp.mpf, rel: float = 4e-16) -> bool:
    return bool(abs(mp.mpf(got) - want) <= rel * abs(want))


def first_step(args: list[str]) -> list[str]:
    """descend's row of step 0 (plain): step, w, loss, grad, update, direction."""
    r = run_cli(["descend", *args, "--steps", "1", "--format", "plain"])
    assert r.code == 0, r.err
    return r.out.splitlines()[1].split("\t")


# --- 2. finite results are not lost to a float that overflows or cancels on the way


def softplus(w: mp.mpf) -> mp.mpf:
    return mp.log(1 + mp.exp(w))


def minus_sigmoid(w: mp.mpf) -> mp.mpf:
    return -sigmoid(-w)


@pytest.mark.parametrize(
    ("loss", "f", "df", "at"),
    [  # (the loss, by hand: the loss and its slope)
        ("softplus(w)", softplus, sigmoid, "800"),
        ("log(1 + exp(w))", softplus, sigmoid, "1000"),
        ("-log(1 - sigmoid(w))", bce, sigmoid, "30"),  # floats lose digits before 0
        ("-log(1 - sigmoid(w))", bce, sigmoid, "36"),
        ("-log(1 - sigmoid(w))", bce, sigmoid, "800"),
        ("-log(sigmoid(w))", lambda w: -mp.log(sigmoid(w)), minus_sigmoid, "-750"),
        ("-log(sigmoid(w))", lambda w: -mp.log(sigmoid(w)), minus_sigmoid, "-40"),
    ],
)
def test_descend_first_step_at_extreme_logits(loss: str, f: Any, df: Any, at: str) -> None:
    w = mp.mpf(at)
    row = first_step([loss, "--at", at, "--lr", "0.1"])
    assert close(row[2], f(w))
    assert close(row[3], df(w))


def test_sweep_keeps_the_digits_of_binary_cross_entropy() -> None:
    # lr 1 from 40: w moves by sigmoid(w) ~ 1 each step; the loss is log(1 + exp(w))
    r = run_cli(["sweep", "-log(1 - sigmoid(w))", "--at", "40", "--lr", "1", "--steps", "5",
                 "--format", "plain"])  # fmt: skip
    assert r.code == 0, r.err
    head, row = r.out.splitlines()[:2]
    cells = dict(zip(head.split("\t"), row.split("\t"), strict=True))
    assert cells["status"] == "max_steps"
    assert close(cells["final_loss"], bce(mp.mpf(cells["w"])))


# --- 3. 0 * inf where a step switches a product off: the loss is flat there


@pytest.mark.parametrize(
    ("loss", "at", "slope"),
    [  # by hand: each loss is constant near the point, or its flat part adds 0
        ("sqrt(max(0, w))", "-2", 0.0),
        ("relu(w)**0.5", "-1", 0.0),
        ("sqrt(relu(w)) + w**2", "-1", -2.0),
        ("max(0, w)**0.5*sin(w)", "-1", 0.0),
        ("sqrt(max(0, w - 1)) + 3*w", "0.5", 3.0),
    ],
)
def test_a_flat_step_has_slope_zero_in_grad_descend_and_backprop(
    loss: str, at: str, slope: float
) -> None:
    for command in ("grad", "backprop"):
        r = run_cli([command, loss, f"--at={at}", "--quiet"])
        assert (r.code, r.out.split()) == (0, [repr(slope)]), (command, r.err)
    row = first_step([loss, f"--at={at}", "--lr", "0.1"])
    assert float(row[3]) == slope


def test_backprop_through_relu_agrees_with_torch() -> None:
    torch = pytest.importorskip("torch")
    for at in (-2.0, -0.5, 0.25, 3.0):
        w = torch.tensor(at, dtype=torch.float64, requires_grad=True)
        (torch.sqrt(torch.relu(w)) + torch.relu(-w) ** 0.5).backward()
        r = run_cli(["backprop", "sqrt(relu(w)) + relu(-w)**0.5", f"--at={at}", "--quiet"])
        assert r.code == 0, r.err
        assert float(r.out) == pytest.approx(w.grad.item(), rel=1e-15)


# --- 6. the stability bound of the update rule, as printed, is the bound


def _spectral_bound(curvature: float, momentum: float, dampening: float, nesterov: bool) -> float:
    """By hand: the largest lr for which torch's SGD on l = curvature/2 * w**2 has
    spectral radius < 1 (state w, buffer b; b' = m b + (1 - d) c w)."""
    import numpy as np

    def radius(lr: float) -> float:
        c, m, s = curvature, momentum, 1 - dampening
        if nesterov:  # w' = w - lr (c w + m b')
            rows = [[1 - lr * c * (1 + m * s), -lr * m * m], [s * c, m]]
        else:  # w' = w - lr b'
            rows = [[1 - lr * s * c, -lr * m], [s * c, m]]
        return float(max(abs(np.linalg.eigvals(np.array(rows)))))

    low, high = 0.0, 1e3
    for _ in range(200):
        low, high = (
            ((low + high) / 2, high) if radius((low + high) / 2) < 1 else (low, (low + high) / 2)
        )
    return low


@pytest.mark.parametrize(
    ("options", "decay", "momentum", "dampening", "nesterov"),
    [
        (["--momentum", "0.9"], 0.0, 0.9, 0.0, False),
        (["--momentum", "0.9", "--dampening", "0.5"], 0.0, 0.9, 0.5, False),
        (
            ["--momentum", "0.5", "--dampening", "0.25", "--weight-decay", "0.1"],
            0.1,
            0.5,
            0.25,
            False,
        ),
        (["--momentum", "0.9", "--nesterov"], 0.0, 0.9, 0.0, True),
    ],
)
def test_the_printed_stability_rule_is_the_bound(
    options: list[str], decay: float, momentum: float, dampening: float, nesterov: bool
) -> None:
    import re

    import sympy as sp
    from sympy.parsing.sympy_parser import (
        implicit_multiplication,
        parse_expr,
        standard_transformations,
    )

    r = run_cli(["descend", "(w-3)**2", "--at", "0", "--lr", "0.01", "--steps", "3", *options,
                 "--format", "plain"])  # fmt: skip
    assert r.code == 0, r.err
    rule = re.search(r"stable for lr < (.*?) = ([0-9.e+-]+);", r.err)
    assert rule is not None, r.err
    text = rule.group(1).replace("l''", "c").replace("weight_decay", "d").replace("·", "*")
    formula = parse_expr(text, transformations=(*standard_transformations, implicit_multiplication))
    value = float(formula.subs({sp.Symbol("c"): 2, sp.Symbol("d"): decay}))
    want = _spectral_bound(2 + decay, momentum, dampening, nesterov)
    assert value == pytest.approx(want, rel=1e-9)
    assert float(rule.group(2)) == pytest.approx(want, rel=1e-5)


# --- 7. where the loss has inputs, every command says which names move


@pytest.mark.parametrize(
    "args",
    [
        ["descend", "--steps", "2"],
        ["slope"],
        ["plot"],
        ["sweep", "--steps", "5"],
        ["compare", "--run", "sgd", "--run", "adam", "--steps", "3"],
    ],
)
def test_every_command_names_the_weights_and_the_inputs(args: list[str]) -> None:
    command, *options = args
    r = run_cli([command, "(w*x - y)**2", "--set", "x=2", "--set", "y=1", *options,
                 "--format", "plain"])  # fmt: skip
    assert r.code == 0, r.err
    assert "weights (they move): w; inputs (fixed): x, y." in r.err.splitlines()


# --- 12. a hint is what the student meant, and gdcli reads it


@pytest.mark.parametrize(
    ("typed", "meant", "slope"),
    [  # by hand, at w = -2
        ("ln|w|", "ln(abs(w))", -0.5),
        ("log|w - 1|", "log(abs(w - 1))", -1 / 3),
        ("2|w|", "2*abs(w)", -2.0),
        ("w|w - 1|", "w*abs(w - 1)", 5.0),  # |w - 1| + w*sign(w - 1) = 3 + 2
        ("sigma(w)", "sigmoid(w)", None),
    ],
)
def test_a_hint_reads_back_as_what_was_meant(typed: str, meant: str, slope: float | None) -> None:
    r = run_cli(["derive", typed, "--at=-2"])
    assert r.code == 2
    assert f"did you mean {meant}?" in r.err
    again = run_cli(["derive", meant, "--at=-2", "--quiet"])
    assert again.code == 0, again.err
    if slope is not None:
        assert float(again.out) == pytest.approx(slope, rel=1e-15)


# --- 6. a sweep calls out the runs whose loss grew without crossing the divergence limit


def test_a_sweep_calls_a_growing_run_growing() -> None:
    # l = (x-1)**2 + 10*(y+2)**2 from (0, 0), by hand: plain gradient descent multiplies
    # x - 1 by 1 - 2 lr and y + 2 by 1 - 20 lr each step. lr 0.105: 0.79 and -1.1, so after
    # 100 steps l = 0.79**200 + 10*(2*1.1**100)**2 = 7.6e9, far above the start's 41 but
    # below the divergence limit 1e12 * 41.
    r = run_cli(["sweep", "(x-1)**2 + 10*(y+2)**2", "--start", "x=0,y=0", "--lr", "0.105",
                 "--steps", "100", "--format", "plain"])  # fmt: skip
    assert r.code == 0, r.err
    row = r.out.splitlines()[1].split("\t")
    assert row[2] == "max_steps"
    assert float(row[3]) == pytest.approx(0.79**200 + 10 * (2 * 1.1**100) ** 2, rel=1e-9)
    assert (
        "1 of the max_steps runs (lr 0.105) ended with a loss over 100 times the loss at its "
        "start: it is growing, not converging, and would diverge with more steps."
    ) in r.err.splitlines()


def test_compare_calls_a_growing_run_growing() -> None:
    # by hand: w - 3 = -3 (1 - 2 lr)**k; lr 1.05: -3 (-1.1)**50, loss 9 * 1.1**100
    r = run_cli(["compare", "(w-3)**2", "--start", "0", "--run", "sgd lr=1.05", "--run",
                 "sgd lr=0.1", "--steps", "50", "--format", "plain"])  # fmt: skip
    assert r.code == 0, r.err
    row = r.out.splitlines()[1].split("\t")
    assert row[:3] == ["sgd lr=1.05", "max_steps", "50"]
    assert float(row[3]) == pytest.approx(9 * 1.1**100, rel=1e-9)
    growing = [line for line in r.err.splitlines() if "growing" in line]
    assert growing == [
        f"sgd lr=1.05: the loss grew {9 * 1.1**100 / 9:.3g} times over the run (from 9 to "
        f"{9 * 1.1**100:.6g}): it is growing, not converging, and would diverge with more steps."
    ]


# --- 10/11. a state that does not exist yet is an empty cell, as the update after the last step


@pytest.mark.parametrize(
    "options", [["--momentum", "0.9"], ["-o", "adam"], ["-o", "rmsprop", "--centered"]]
)
def test_no_nan_for_a_state_before_the_first_update(options: list[str]) -> None:
    import csv
    import io

    r = run_cli(["descend", *options, "--show-state", "--steps", "2", "--format", "csv"])
    assert r.code == 0, r.err
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert "nan" not in r.out
    state = [c for c in rows[0] if c.endswith("_w") and c not in ("grad_w", "update_w")]
    assert state and all(rows[0][c] == "" for c in state)  # torch keeps no state before step 1
    assert all(rows[1][c] != "" for c in state)
    # by hand, momentum's buffer after the first step is the first gradient: 2*(1 - 3)
    if options[0] == "--momentum":
        assert float(rows[1]["momentum_buffer_w"]) == -4.0


# --- 6. no curvature, and no bound from it, is stated on a kink


@pytest.mark.parametrize(
    ("loss", "at", "lr"),
    [  # by hand: each run lands exactly on w = 3, where the slope or l'' jumps
        ("abs(w-3)", "1", "0.5"),  # slope -1 | 1
        ("max(0, w-3)**2 + abs(w-3)", "1", "0.5"),
        ("max(0, w-3)**2", "3", "0.25"),  # l'' 0 | 2
    ],
)
def test_the_stability_note_does_not_speak_of_l2_on_a_kink(loss: str, at: str, lr: str) -> None:
    r = run_cli(["descend", loss, "--at", at, "--lr", lr, "--format", "plain"])
    assert r.code == 0, r.err
    assert r.out.splitlines()[-1].split("\t")[1] == "3.0"
    (line,) = [x for x in r.err.splitlines() if x.startswith("stability")]
    assert line == (
        "stability: the end point, w = 3, is on a kink of the loss, where l'' is not defined: "
        "its curvature gives no bound on lr there."
    )


def test_next_to_a_kink_the_curvature_is_still_said() -> None:
    # max(0, w - 3)**2 ends 4e-9 right of its kink, where l'' = 2 (by hand): lr < 1
    r = run_cli(["descend", "max(0, w-3)**2", "--at", "4", "--lr", "0.25", "--format", "plain"])
    assert r.code == 0, r.err
    assert (
        "l'' = 2; on this quadratic model the update rule is stable for lr < 2 / l'' = 1;" in r.err
    )


# --- 1/2. a value below or beyond the floats is not said to be 0 or inf


def test_the_gradients_norm_is_not_lost_to_squares() -> None:
    for scale in ("1e-200", "1e200"):
        r = run_cli(["grad", f"{scale}*x + {scale}*y", "--at", "x=1,y=1", "--format", "plain"])
        assert r.code == 0, r.err
        want = mp.sqrt(2) * mp.mpf(scale)  # by hand: the norm of (s, s)
        assert (
            f"the gradient's norm is {mp.nstr(want, 10, strip_zeros=False)}"
            in r.err.replace("e+", "e")
            or f"the gradient's norm is {float(want):.10g}." in r.err
        )


def test_an_underflowed_loss_and_gradient_are_said_exactly() -> None:
    exact = mp.nstr(sigmoid(mp.mpf(-800)), 3)  # sigmoid'(-800) = sigmoid(-800)(1 - ...) too
    r = run_cli(["grad", "sigmoid(x) + (y-1)**2", "--at", "x=-800,y=1", "--format", "plain"])
    assert r.code == 0, r.err
    assert "the gradient's norm is 0 as floats." in r.err
    assert f"exactly, the loss is {exact}; ∂l/∂x is {exact}:" in r.err
    d = run_cli(["derive", "sigmoid(w)", "--at=-800", "--format", "plain"])
    assert f"l(w) is {exact}, smaller in size than the smallest float" in d.err


# --- 1. slope where the exact secant is too slow to build: numerically, to every digit


def test_the_secant_of_a_limit_is_computed_not_given_up() -> None:
    w, h = mp.mpf("1e-8"), mp.mpf("1e-3")
    f = lambda x: (1 + x) ** (1 / x)  # noqa: E731
    want = (f(w + h) - f(w)) / h  # mpmath at 100 digits
    r = run_cli(["slope", "(1+w)**(1/w)", "--at", "1e-8", "--h", "1e-3", "--quiet"])
    assert r.code == 0, r.err
    assert close(r.out, want)


# --- 1/2. backprop's answer is right to its digits where its float pass is not


@pytest.mark.parametrize(
    ("loss", "at", "df"),
    [  # by hand: the slope of each loss
        ("-log(1 - sigmoid(w))", "30", sigmoid),  # 1 - u1 keeps 4 digits in floats
        ("-log(1 - sigmoid(w))", "50", sigmoid),  # 1 - u1 = 0: inf in floats
        ("tanh(w)", "20", lambda w: 1 - mp.tanh(w) ** 2),  # 1 - u**2 = 0 in floats
        ("-log(sigmoid(w))", "-50", minus_sigmoid),
    ],
)
def test_backprop_quiet_is_the_exact_gradient(loss: str, at: str, df: Any) -> None:
    r = run_cli(["backprop", loss, "--at", at, "--quiet"])
    assert r.code == 0, r.err
    assert float(r.out) == float(df(mp.mpf(at)))  # correctly rounded


def test_backprop_says_where_its_floats_lose_the_value() -> None:
    # exp(w) - 1 at w = 1e-9 keeps 8 digits in floats; by hand the loss is about w**2/2
    w = mp.mpf("1e-9")
    loss, slope = mp.exp(w) - 1 - w, mp.exp(w) - 1
    r = run_cli(["backprop", "exp(w) - 1 - w", "--at", "1e-9", "--format", "plain"])
    assert r.code == 0, r.err
    lines = r.err.splitlines()
    assert lines[0].startswith(f"the loss l = {float(loss):.10g} at this point.")
    assert lines[1].startswith("in floats this pass loses digits: the loss comes out ")
    assert f"exactly it is {float(loss)!r}; ∂l/∂w comes out " in lines[1]
    assert f"exactly it is {float(slope)!r} (a difference of nearly equal numbers" in lines[1]
    q = run_cli(["backprop", "exp(w) - 1 - w", "--at", "1e-9", "--quiet"])
    assert float(q.out) == float(slope)


def test_the_array_engine_keeps_tanhs_slope_where_tanh_saturates() -> None:
    r = run_cli(["grad", "sum(tanh(v))", "--at", "v=[20,3]", "--quiet"])
    assert r.code == 0, r.err
    got = [float(x) for x in r.out.split()]
    want = [1 / mp.cosh(20) ** 2, 1 / mp.cosh(3) ** 2]  # by hand: sech(u)**2
    assert got == pytest.approx([float(x) for x in want], rel=4e-16)


@pytest.mark.parametrize(
    ("loss", "at", "want"),
    [  # by hand, entry by entry: d/dv of each term
        (
            "sum(-log(1 - sigmoid(v * x)))",
            "v=[30,15]",
            [sigmoid(mp.mpf(30)), 2 * sigmoid(mp.mpf(30))],
        ),
        ("sum(log(1 + exp(v)))", "v=[800,-40]", [sigmoid(mp.mpf(800)), sigmoid(mp.mpf(-40))]),
        (
            "sum(-log(sigmoid(v)))",
            "v=[-800,40]",
            [minus_sigmoid(mp.mpf(-800)), minus_sigmoid(mp.mpf(40))],
        ),
    ],
)
def test_the_array_engine_keeps_the_digits_of_cross_entropy(
    loss: str, at: str, want: list[Any]
) -> None:
    r = run_cli(["grad", loss, "--set", "x=[1,2]", "--at", at, "--quiet"])
    assert r.code == 0, r.err
    assert [float(x) for x in r.out.split()] == pytest.approx([float(v) for v in want], rel=4e-16)
