"""`gdcli check EXPR ANSWER`: right, wrong, kink and unparsable answers.

Expected verdicts are decided by hand (calculus); counterexamples are checked against
derivatives and answers written here as plain Python functions, never against gdcli.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import sympy as sp
from helpers import error_lines, json_output, strict_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CHECK_KEYS = {"expression", "variable", "answer", "derivative", "equal", "counterexample"}


def check_json(run: Callable[..., Any], *args: str, code: int) -> dict[str, Any]:
    data = json_output(run(["check", *args, "--format", "json"]), code)
    assert CHECK_KEYS <= set(data), data.keys()
    return data


def heaviside(x: float) -> float:
    return 1.0 if x > 0 else 0.0 if x < 0 else 0.5


def sign(x: float) -> float:
    return (x > 0) - (x < 0)


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


# --- right answers: exit 0, `correct` -----------------------------------------------------------

RIGHT = [
    ("w**2", "2*w"),
    ("w**3", "3*w**2"),
    ("(w - 3)**2", "2*(w - 3)"),
    ("-w**2 + 1", "-2*w"),
    # kinks: answers that differ from SymPy's only at the kink itself
    ("max(0, 3*w+2)", "(3*w+2 > 0)*3"),
    ("max(0, 3*w+2)", "3*Heaviside(3*w+2)"),
    ("max(0, 3*w+2)", "3*(w > -2/3)"),
    ("max(0, 3*w+2)", "3*(w >= -2/3)"),
    ("abs(w)", "sign(w)"),
    ("abs(w)", "w/abs(w)"),
    ("abs(w - 1)", "sign(w - 1)"),
    ("relu(w - 0.3)", "Heaviside(w - 0.3)"),
    ("max(w, 2*w)", "Heaviside(w) + 1"),
    ("abs(w**2 - 1)", "2*w*sign(w**2 - 1)"),
    ("abs(sin(w))", "cos(w)*sign(sin(w))"),
    ("relu(w)", "Heaviside(w)"),
    ("relu(w)", "(w > 0)"),
    ("min(0, w)", "Heaviside(-w)"),
    ("max(0, 1 - w)", "-(w < 1)"),
    ("relu(w)**2", "2*relu(w)"),
    ("abs(w)**3", "3*w*abs(w)"),
    # domain-restricted
    ("log(w)", "1/w"),
    ("log(-w)", "1/w"),
    ("sqrt(w)", "1/(2*sqrt(w))"),
    # equivalent forms
    ("sin(w)**2", "2*sin(w)*cos(w)"),
    ("sin(w)**2", "sin(2*w)"),
    ("2*sin(w)*cos(w)", "2*cos(2*w)"),
    ("exp(2*w)", "2*exp(2*w)"),
    ("1/(1+exp(-w))", "sigmoid(w)*(1-sigmoid(w))"),
    ("sigmoid(w)", "exp(-w)/(1 + exp(-w))**2"),
    ("softplus(w)", "sigmoid(w)"),
    ("tanh(w)", "1 - tanh(w)^2"),
    ("w^3", "3*w^2"),
    ("log(1 + exp(w))", "1/(1 + exp(-w))"),
]


@pytest.mark.parametrize(("expr", "answer"), RIGHT, ids=[f"{e} | {a}" for e, a in RIGHT])
def test_right_answers(run, expr, answer):
    data = check_json(run, expr, answer, code=0)
    assert data["equal"] is True
    assert data["counterexample"] is None
    assert data["variable"] == "w"
    # the texts come back as typed ('^' may be normalised to '**')
    assert data["expression"].replace("**", "^") == expr.replace("**", "^")
    assert data["answer"].replace("**", "^") == answer.replace("**", "^")


@pytest.mark.parametrize(("expr", "answer"), RIGHT[:6], ids=[f"{e} | {a}" for e, a in RIGHT[:6]])
def test_right_answers_quiet(run, expr, answer):
    r = run(["check", expr, answer, "--quiet"])
    assert (r.code, r.out) == (0, "correct\n"), r.err


def test_derivative_text_parses_back(run):
    data = check_json(run, "sin(w)**2", "2*sin(w)*cos(w)", code=0)
    w = sp.Symbol("w")
    assert sp.simplify(sp.sympify(data["derivative"]) - sp.sin(2 * w)) == 0


# --- wrong answers: exit 1 with an honest counterexample ----------------------------------------

# expr, answer, true derivative, the answer as a function, where the kink is (or None)
WRONG: list[tuple[str, str, Callable[[float], float], Callable[[float], float]]] = [
    ("sin(w)**2", "2*sin(w)", lambda w: 2 * math.sin(w) * math.cos(w), lambda w: 2 * math.sin(w)),
    ("w**2", "2*w + 0.001", lambda w: 2 * w, lambda w: 2 * w + 0.001),
    ("w**2", "2*w + 1", lambda w: 2 * w, lambda w: 2 * w + 1),
    ("w**3", "3*w", lambda w: 3 * w * w, lambda w: 3 * w),
    ("w**2", "w", lambda w: 2 * w, lambda w: w),
    ("exp(2*w)", "exp(2*w)", lambda w: 2 * math.exp(2 * w), lambda w: math.exp(2 * w)),
    ("max(0, w)", "Heaviside(w - 0.01)", lambda w: heaviside(w), lambda w: heaviside(w - 0.01)),
    ("max(0, w)", "Heaviside(w - 1e-4)", lambda w: heaviside(w), lambda w: heaviside(w - 1e-4)),
    ("max(0, w)", "(w > 0.01)", lambda w: heaviside(w), lambda w: float(w > 0.01)),
    (
        "max(0, 3*w+2)",
        "3*(w > -0.66)",
        lambda w: 3 * heaviside(3 * w + 2),
        lambda w: 3.0 * (w > -0.66),
    ),
    ("abs(w)", "sign(w - 1)", lambda w: sign(w), lambda w: sign(w - 1)),
    (
        "relu(w - 0.3)",
        "Heaviside(w - 0.31)",
        lambda w: heaviside(w - 0.3),
        lambda w: heaviside(w - 0.31),
    ),
    ("max(0, 3*w+2)", "3", lambda w: 3 * heaviside(3 * w + 2), lambda w: 3.0),
    (
        "abs(w**2 - 2)",
        "2*w*sign(w**2 - 1)",
        lambda w: 2 * w * sign(w * w - 2),
        lambda w: 2 * w * sign(w * w - 1),
    ),
    ("relu(w)", "Heaviside(-w)", lambda w: heaviside(w), lambda w: heaviside(-w)),
    ("1/(1+exp(-w))", "sigmoid(w)", lambda w: sigmoid(w) * (1 - sigmoid(w)), sigmoid),
    ("log(w)", "-1/w", lambda w: 1 / w, lambda w: -1 / w),
]


@pytest.mark.parametrize(
    ("expr", "answer", "derivative", "given"), WRONG, ids=[f"{e} | {a}" for e, a, *_ in WRONG]
)
def test_wrong_answers_have_a_true_counterexample(run, expr, answer, derivative, given):
    data = check_json(run, expr, answer, code=1)
    assert data["equal"] is False
    ce = data["counterexample"]
    assert set(ce) >= {"point", "expected", "got"}
    assert set(ce["point"]) == {"w"}
    w = ce["point"]["w"]
    assert math.isfinite(w)
    assert ce["expected"] == pytest.approx(derivative(w), rel=1e-9, abs=1e-12)
    assert ce["got"] == pytest.approx(given(w), rel=1e-9, abs=1e-12)
    assert not math.isclose(ce["expected"], ce["got"], rel_tol=1e-6)


def test_wrong_answer_quiet_and_exit_code(run):
    r = run(["check", "sin(w)**2", "2*sin(w)", "--quiet"])
    assert (r.code, r.out) == (1, "wrong\n"), r.err


def test_wrong_answer_plain_says_why(run):
    r = run(["check", "sin(w)**2", "2*sin(w)", "--format", "plain"])
    assert r.code == 1
    assert "\x1b" not in r.out + r.err
    assert "false" in r.out.lower()


def test_tiny_constant_offset_is_wrong(run):
    """1e-3 is far above the checker's 1e-7 relative tolerance at every readable point."""
    data = check_json(run, "(w - 3)**2", "2*w - 6 + 0.001", code=1)
    ce = data["counterexample"]
    w = ce["point"]["w"]
    assert ce["expected"] == pytest.approx(2 * w - 6, rel=1e-12, abs=1e-12)
    assert ce["got"] == pytest.approx(2 * w - 6 + 0.001, rel=1e-12, abs=1e-12)


# --- several variables: --wrt -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wrt", "answer"),
    [("x", "2*x*y"), ("y", "x**2"), ("x", "2*y*x + 0*y"), ("y", "x*x")],
)
def test_wrt_right(run, wrt, answer):
    data = check_json(run, "x**2*y", answer, "--wrt", wrt, code=0)
    assert data["variable"] == wrt
    assert data["equal"] is True


@pytest.mark.parametrize(
    ("wrt", "answer", "derivative", "given"),
    [
        ("x", "2*x", lambda x, y: 2 * x * y, lambda x, y: 2 * x),
        ("y", "2*x*y", lambda x, y: x * x, lambda x, y: 2 * x * y),
        ("x", "x**2", lambda x, y: 2 * x * y, lambda x, y: x * x),
    ],
)
def test_wrt_wrong(run, wrt, answer, derivative, given):
    data = check_json(run, "x**2*y", answer, "--wrt", wrt, code=1)
    assert data["variable"] == wrt
    ce = data["counterexample"]
    x, y = ce["point"]["x"], ce["point"]["y"]
    assert ce["expected"] == pytest.approx(derivative(x, y), rel=1e-9, abs=1e-12)
    assert ce["got"] == pytest.approx(given(x, y), rel=1e-9, abs=1e-12)


def test_two_variables_without_wrt_is_bad_input(run):
    r = run(["check", "x**2*y", "2*x*y"])
    assert r.code == 2, (r.code, r.out, r.err)
    assert len(error_lines(r.err)) == 1


def test_wrt_unknown_variable_is_bad_input(run):
    r = run(["check", "w**2", "2*w", "--wrt", "q"])
    assert r.code == 2, (r.code, r.out, r.err)
    assert len(error_lines(r.err)) == 1


def test_set_constant(run):
    data = check_json(run, "a*w**2", "2*a*w", "--set", "a=3", code=0)
    assert data["equal"] is True
    data = check_json(run, "a*w**2", "2*w", "--set", "a=3", code=1)
    ce = data["counterexample"]
    assert ce["expected"] == pytest.approx(6 * ce["point"]["w"], rel=1e-12, abs=1e-12)


# --- unparsable: exit 2 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "answer", "needle"),
    [
        ("w**2", "2*w +", "ANSWER"),
        ("w**2", "3w", "ANSWER"),
        ("w**2", "foo(w)", "ANSWER"),
        ("w**2", "__import__('os')", "ANSWER"),
        ("w**2", "", ""),
        ("w**2 +", "2*w", ""),
        ("w**2", "2*w)", "ANSWER"),
    ],
)
def test_unparsable_is_exit_2(run, expr, answer, needle):
    r = run(["check", expr, answer])
    assert r.code == 2, (r.code, r.out, r.err)
    lines = error_lines(r.err)
    assert len(lines) == 1, r.err
    assert needle in lines[0]
    assert "Traceback" not in r.err
    assert r.out == ""


def test_missing_answer_is_usage_error(run):
    r = run(["check", "w**2"])
    assert r.code == 2
    assert len(error_lines(r.err)) == 1


def test_expression_from_stdin(run):
    r = run(["check", "-", "3*w**2", "--quiet"], stdin="w**3\n")
    assert (r.code, r.out) == (0, "correct\n"), r.err


def test_negative_expression_and_answer_as_typed(run):
    r = run(["check", "-w**3", "-3*w**2", "--quiet"])
    assert (r.code, r.out) == (0, "correct\n"), r.err


# --- properties ---------------------------------------------------------------------------------

coef = st.integers(min_value=-9, max_value=9)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(a=coef, b=coef, c=coef, off=st.sampled_from([1, -1, 2]))
def test_polynomials(run, a, b, c, off):
    expr = f"({a})*w**3 + ({b})*w**2 + ({c})*w + 5"
    right = f"3*({a})*w**2 + 2*({b})*w + ({c})"
    assert run(["check", expr, right, "--quiet"]).out == "correct\n"
    wrong = f"{right} + ({off})*w"
    r = run(["check", expr, wrong, "--format", "json"])
    assert r.code == 1
    ce = strict_json(r.out)["counterexample"]
    w = ce["point"]["w"]
    assert ce["expected"] == pytest.approx(3 * a * w * w + 2 * b * w + c, rel=1e-9, abs=1e-9)
    assert ce["got"] == pytest.approx(3 * a * w * w + 2 * b * w + c + off * w, rel=1e-9, abs=1e-9)


# --- bugs ---------------------------------------------------------------------------------------


def test_counterexample_only_where_the_loss_is_defined(run):
    r = run(["check", "log(w)", "1/abs(w)", "--format", "json"])
    assert r.code == 0, r.out
