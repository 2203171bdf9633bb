"""Weights and inputs: "Input is fixed, and the weights are what change".

A name is a weight when the point gives it a value, when --wrt names it, or
(without a point) when it is w or the loss's only name; --set gives inputs,
which never move; any other name is an error that says how to give it a value.
"""

from __future__ import annotations

import json
import math

import pytest

from gdcli.budget import time_limit
from gdcli.errors import TooSlow

COMMANDS_WITH_A_POINT = [
    ("derive", "--at"),
    ("slope", "--at"),
    ("plot", "--at"),
    ("grad", "--at"),
    ("descend", "--start"),
    ("sweep", "--start"),
]


@pytest.mark.parametrize(("command", "flag"), COMMANDS_WITH_A_POINT)
def test_a_name_without_a_value_is_named_in_every_command(run, command, flag):
    r = run([command, "max(0, w*x + 2)", flag, "0.5"])
    assert r.code == 2 and r.out == ""
    assert r.err == (
        f"gdcli: error: x has no value: give it with --set x=… (an input) "
        f"or {flag} x=… (a weight)\n"
    )


@pytest.mark.parametrize(("command", "flag"), COMMANDS_WITH_A_POINT)
def test_at_and_start_mean_the_same(run, command, flag):
    other = "--start" if flag == "--at" else "--at"
    a = run([command, "(w - 3)**2", flag, "0.5", "-q"])
    b = run([command, "(w - 3)**2", other, "0.5", "-q"])
    assert a.code == b.code == 0 and a.out == b.out


def test_inputs_are_fixed_in_derive(run):
    """d/dw (w*x - y)**2 = 2*x*(w*x - y): at w=2, x=3, y=1 that is 30."""
    r = run(["derive", "(w*x - y)**2", "--at", "2", "--set", "x=3", "--set", "y=1", "-q"])
    assert r.code == 0 and r.out == "30.0\n"


def test_the_course_example_plot(run):
    """l(w) = max(0, w*x + 2) with the input x = -1 at w = 0.5: l = 1.5, slope -1."""
    r = run(["plot", "max(0, w*x + 2)", "--at", "0.5", "--set", "x=-1", "-f", "json"])
    assert r.code == 0
    data = json.loads(r.out)
    assert data["variable"] == "w" and data["loss"] == 1.5 and data["slope"] == -1.0


def test_descend_moves_only_the_weights(run):
    r = run(["descend", "(w*x - y)**2", "--set", "x=2", "--set", "y=1", "-f", "json"])
    assert r.code == 0
    data = json.loads(r.out)
    assert data["variables"] == ["w"]
    # the hand loop: w <- w - 0.1 * 2*x*(w*x - y) with x = 2, y = 1, from w = 1
    w = 1.0
    for record in data["steps"]:
        assert set(record["params"]) == {"w"} and record["params"]["w"] == pytest.approx(w)
        w -= 0.1 * 2 * 2 * (w * 2 - 1)
    csv = run(["descend", "(w*x - y)**2", "--set", "x=2", "--set", "y=1", "-f", "csv"])
    assert csv.out.splitlines()[0] == "step,w,loss,grad_w,update_w,direction"


def test_a_value_both_fixed_and_moving_is_refused(run):
    r = run(["grad", "w*x", "--at", "w=1", "--set", "w=2"])
    assert r.code == 2
    assert r.err.splitlines()[0] == (
        "gdcli: error: w is given a fixed value (--set, an input) and is also a weight"
    )


def test_a_point_for_a_name_the_loss_does_not_use(run):
    r = run(["grad", "(w - 1)**2", "--at", "v=1"])
    assert r.code == 2
    assert r.err == "gdcli: error: v is not a name of (w - 1)**2 (its names: w)\n"


def test_wrt_makes_a_weight_and_the_others_need_values(run):
    r = run(["derive", "(w*x - y)**2", "--wrt", "x", "--set", "w=2", "--set", "y=1", "--at", "3"])
    assert r.code == 0
    assert json.loads(
        run(["derive", "(w*x - y)**2", "--wrt", "x", "--set", "w=2", "--set", "y=1",
             "--at", "3", "-f", "json"]).out
    )["slope"] == 2 * 2 * (2 * 3 - 1)  # fmt: skip
    missing = run(["derive", "(w*x - y)**2", "--wrt", "x", "--at", "3"])
    assert missing.code == 2 and "w has no value" in missing.err


def test_the_only_name_is_the_weight_and_the_note_says_so(run):
    r = run(["derive", "max(0, wx + 2)", "--at", "0.5", "-f", "plain"])
    assert r.code == 0
    assert "wx is the weight because it is the loss's only name without a value" in r.err


def test_notes_say_which_names_are_weights_and_which_are_fixed(run):
    r = run(["grad", "sum((W @ x - y)**2)", "--set", "x=[1,2]", "--set", "y=[3,4]",
             "--at", "W=0", "--shape", "W=2x2", "-f", "plain"])  # fmt: skip
    assert r.code == 0
    assert "weights (they move): W; inputs (fixed): x, y." in r.err


def test_shape_of_an_input_is_refused(run):
    r = run(["grad", "sum(W*x)", "--set", "x=[1,2]", "--shape", "x=2", "--at", "W=0"])
    assert r.code == 2 and r.err == "gdcli: error: x is an input (--set); --shape is for weights\n"


def test_check_treats_every_name_without_a_value_as_a_variable(run):
    r = run(["check", "(w*x - y)**2", "2*x*(w*x - y)"])
    assert r.code == 0 and r.out.splitlines()[-1].endswith("true")
    wrong = run(["check", "(w*x - y)**2", "2*(w*x - y)"])
    assert wrong.code == 1


# ---------------------------------------------------------------------------
# the time budget counts CPU time


def test_the_budget_is_cpu_time_not_the_clock():
    import time

    with time_limit(0.2):
        time.sleep(0.4)  # waiting uses no CPU: not over budget
    with pytest.raises(TooSlow) as caught, time_limit(0.2):
        end = time.process_time() + 5
        while time.process_time() < end:
            pass
    assert 0.15 <= caught.value.seconds < 1.0


@pytest.mark.parametrize("value", ["abc", "0", "-1", "inf", "nan", "1e400"])
def test_a_bad_time_limit_is_bad_input_naming_the_variable(run, value):
    r = run(["derive", "w**2", "-q"], env={"GDCLI_TIME_LIMIT": value})
    assert r.code == 2 and r.out == ""
    assert r.err.startswith(f"gdcli: error: GDCLI_TIME_LIMIT={value!r} is not a positive number")


def test_a_tiny_time_limit_is_a_resource_limit(run):
    # > 10 ms of SymPy even with its caches warm from the tests before
    loss = (
        "tanh(sin(exp(w)))**3 + log(1 + w**2)**5 + atan(w**3 - w)**2"
        " + sqrt(1 + sin(w)**2)**7*exp(tanh(w**5 - cos(w)))*log(2 + sin(w)**3)"
    )
    r = run(["derive", loss, "-q"], env={"GDCLI_TIME_LIMIT": "1e-3"})
    assert r.code == 4 and r.err.startswith("gdcli: error: too slow")
    assert math.isfinite(float(run(["derive", "w**2", "-q"]).out))
