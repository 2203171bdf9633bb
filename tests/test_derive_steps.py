"""derive --steps and --limit through the command line: the derivation's result is
derive's derivative, every step reads back in gdcli, the quotient's limit is the slope."""

from __future__ import annotations

import pytest
import sympy
from helpers import json_output

from gdcli.derivation import RULE_NAMES
from gdcli.parse.expression import parse_loss

W = sympy.Symbol("w", real=True)


@pytest.mark.parametrize(
    "loss",
    ["(w - 3)**2", "sigmoid(3*w + 2)", "tanh(w**2) * exp(-w)", "log(1 + exp(w))",
     "sqrt(w**2 + 1) / (w + 2)", "w**w", "2**w - sin(w)*cos(w)"],
)  # fmt: skip
def test_the_steps_end_on_derives_derivative(run, loss):
    data = json_output(run(["derive", loss, "--at", "0.5", "--steps", "-f", "json"]))
    assert all(s["rule"] in RULE_NAMES for s in data["steps"])
    for s in data["steps"]:
        if "u" not in s["expr"] and "v" not in s["expr"]:  # names the chain rule made
            parse_loss(s["expr"])
            parse_loss(s["result"])
    ours = parse_loss(data["steps_result"]).expr
    theirs = parse_loss(data["derivative"]).expr
    assert sympy.simplify(ours - theirs) == 0


def test_sigmoid_in_textbook_form(run):
    data = json_output(run(["derive", "sigmoid(w)", "--steps", "-f", "json"]))
    assert data["steps_result"] == "sigmoid(w)*(1 - sigmoid(w))"


def test_the_limit_of_the_quotient(run):
    data = json_output(run(["derive", "w**3", "--at", "2", "--limit", "-f", "json"]))
    h = sympy.Symbol("h", real=True)
    quotient = parse_loss(data["limit"]["quotient"]).expr
    assert sympy.expand(quotient - (3 * W**2 + 3 * W * h + h**2)) == 0
    assert data["limit"]["limit"] == "3*w**2"
    assert data["limit"]["value"] == data["slope"] == 12.0


def test_a_kink_has_no_limit_there(run):
    data = json_output(run(["derive", "abs(w)", "--at", "0", "--limit", "-f", "json"]))
    assert data["limit"]["value"] is None and data["limit"]["exists"] is False
