"""Edge cases found in review: each asserts what an independent reference (a closed
form, a hand-written loop, SymPy on the test's side) says."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

import pytest
import sympy
from helpers import Result, assert_clean_failure, json_output, run_cli


@pytest.mark.parametrize(
    "args",
    [
        ["descend", "3"],
        ["descend", "pi"],
        ["sweep", "3"],
        ["grad", "3"],
        ["descend", "--set", "w=1"],
        ["sweep", "--lr", "1e308*10"],
        ["sweep", "--lr", "0.1:1e308*10:3"],
        ["descend", "--start", "1e308*10"],
        ["sweep", "--tol", "-1"],
        ["sweep", "--tol", "nan"],
        ["sweep", "--lr", "0.1,1", "--log"],
        ["grad", "sum(W*W) + 10*W_1_1", "--at", "W=0,W_1_1=5", "--shape", "W=2x2"],
        ["check", "w**2", "2*W"],
        ["plot", "--range", "[1,2]:3"],
    ],
)
def test_bad_input_is_exit_2(args):
    assert_clean_failure(run_cli(args), 2)


def test_sweep_with_a_three_way_max_matches_descend():
    text = "max(w, 2*w - 1, 0) + (w - 1)**2"
    sweep = json_output(run_cli(["sweep", text, "--lr", "0.1,0.2", "-f", "json"]))
    assert [run["lr"] for run in sweep["runs"]] == [0.1, 0.2]
    for run in sweep["runs"]:
        descend = json_output(run_cli(["descend", text, "--lr", str(run["lr"]), "-f", "json"]))
        assert descend["status"] == run["status"]
        assert descend["final"]["params"]["w"] == run["params"]["w"]


def test_sweep_sees_the_two_cycle_at_lr_1():
    """(w-3)**2 at lr 1 from 0: w = 0, 6, 0, 6, ... (closed form), an oscillation."""
    r = run_cli(
        ["sweep", "(w-3)**2", "--lr", "1,0.5", "--start", "0", "--steps", "100", "-f", "csv"]
    )
    assert r.code == 0, r.err
    rows = {row["lr"]: row for row in csv.DictReader(io.StringIO(r.out))}
    assert rows["1.0"]["status"] == "max_steps" and rows["1.0"]["oscillating"] == "true"
    assert float(rows["1.0"]["w"]) == 0.0  # 100 jumps, an even number: back at the start
    assert float(rows["1.0"]["final_loss"]) == 9.0
    assert rows["0.5"]["oscillating"] == "false"


@pytest.mark.parametrize("answer", ["2*w + 1e-8", "2.0000000001*w", "2*w*(1 + 1e-12)"])
def test_check_is_not_fooled_by_a_hair(answer):
    data = json_output(run_cli(["check", "w**2", answer, "-f", "json"]), 1)
    w = data["counterexample"]["point"]["w"]
    assert data["counterexample"]["expected"] == pytest.approx(2 * w, rel=1e-15)
    exact = sympy.sympify(answer).subs(sympy.Symbol("w"), sympy.Rational(w))
    assert data["counterexample"]["got"] == pytest.approx(float(exact), rel=1e-15)


def test_check_time_limit_is_an_exit_4_every_time():
    """A 9-piece max takes SymPy well over 0.1 s of CPU time in a fresh process (as a
    shell runs gdcli): exit 4, and again the same. (In one process SymPy's caches make
    the second call faster, so each call is its own process, as in a shell.)"""
    env = dict(os.environ, GDCLI_TIME_LIMIT="0.1", GDCLI_NO_CACHE="1")
    pieces = ", ".join(f"{k}*w+{k}" for k in range(9))
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, "-m", "gdcli", "check", f"max({pieces})", "1", "-q"],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
        r = Result(proc.returncode, proc.stdout, proc.stderr)
        assert_clean_failure(r, 4, "too slow")


@pytest.mark.parametrize(
    ("expr", "left", "right"),
    [("(w > 0)", 0.0, None), ("Heaviside(w)", None, None), ("(w >= 0)*w", 0.0, 1.0)],
)
def test_a_jump_or_kink_is_not_differentiable(expr, left, right):
    """A step jumps (no slope on its side); (w >= 0)*w only bends (slopes 0 and 1)."""
    data = json_output(run_cli(["derive", expr, "--at", "0", "-f", "json"]))
    assert data["differentiable"] is False and data["slope"] is None
    assert (data["left_slope"], data["right_slope"]) == (left, right)


def test_partial_with_other_weights_keeps_them_as_symbols():
    data = json_output(run_cli(["derive", "x**2*y", "--wrt", "x", "--at", "x=1,y=3", "-f", "json"]))
    x, y = sympy.symbols("x y")
    assert sympy.simplify(sympy.sympify(data["derivative"]) - 2 * x * y) == 0
    assert data["slope"] == 6.0


def test_a_tiny_point_is_not_a_kink():
    data = json_output(run_cli(["derive", "abs(w)", "--at", "1e-30", "-f", "json"]))
    assert data["differentiable"] is True and data["slope"] == 1.0


def test_a_long_sum_is_not_deep():
    text = "+".join(["w"] * 60 + ["w**2"] * 40)  # 100 levels as a tree, 1 as a sum
    data = json_output(run_cli(["derive", text, "--at", "2", "-f", "json"]))
    assert data["slope"] == 60 + 40 * 2 * 2


def test_a_big_sum_of_entries_has_gradient_one():
    r = run_cli(["grad", "sum(W)", "--at", "W=0", "--shape", "W=40x40", "-q"])
    assert r.code == 0
    assert [float(v) for v in r.out.split()] == [1.0] * 1600


def test_grad_says_when_the_point_is_on_a_kink():
    r = run_cli(["grad", "abs(x) + y**2", "--at", "x=0,y=1"])
    assert r.code == 0 and "kink" in r.err
    r = run_cli(["grad", "abs(x) + y**2", "--at", "x=1,y=1"])
    assert r.code == 0 and "kink" not in r.err


def test_show_state_columns_match_a_hand_written_momentum_loop():
    r = run_cli(["descend", "--steps", "5", "--momentum", "0.9", "--show-state", "-f", "csv"])
    assert r.code == 0, r.err
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert len(rows) == 6
    w, buf = 1.0, None
    for k, row in enumerate(rows):
        assert float(row["w"]) == w
        if k:
            assert float(row["momentum_buffer_w"]) == buf
        g = 2 * (w - 3)
        buf = g if buf is None else 0.9 * buf + g
        w = w - 0.1 * buf


def test_plot_no_plot_prints_the_sampled_curve():
    r = run_cli(["plot", "w**2", "--range", "0:1", "--no-plot"])
    assert r.code == 0, r.err
    lines = r.out.strip().splitlines()
    assert lines[0] == "w\tloss"
    assert len(lines) == 1 + 241  # the sampled curve: 241 points
    for line in lines[1:]:
        x, y = map(float, line.split("\t"))
        assert y == pytest.approx(x * x, abs=1e-15)


@pytest.mark.slow
def test_a_closed_pipe_ends_quietly():
    env = dict(os.environ, GDCLI_NO_CACHE="1")
    script = f'set -o pipefail; "{sys.executable}" -m gdcli descend --steps 200000 -f csv | head -1'
    proc = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "step,w,loss,grad_w,update_w,direction"
    assert proc.stderr == ""


def test_a_many_piece_max_is_fast_and_right():
    """max(k*w + k, k = 0..7): for w > -1 the piece 7w+7 wins (slope 7), else 0."""
    pieces = ", ".join(f"{k}*w+{k}" for k in range(8))
    for at, slope in (("0.5", 7.0), ("-3", 0.0)):
        data = json_output(run_cli(["derive", f"max({pieces})", "--at", at, "-f", "json"]))
        assert data["slope"] == slope
    assert run_cli(["check", f"max({pieces})", "7*Heaviside(w+1)", "-q"]).out == "correct\n"
    r = run_cli(["descend", f"min({pieces}) + w**2", "--start", "2", "-q"])
    assert r.code == 0  # min: the slope-0 piece wins for w > -1, so l = w**2 there
    w, loss = map(float, r.out.split())
    assert abs(w) < 1e-4 and loss == pytest.approx(w * w, abs=1e-12)
