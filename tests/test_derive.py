"""`gdcli derive`: slopes against mpmath, difference quotients, the V-curve, kinks, formats.

Every number is checked against an independent reference: a hand-written mpmath
version of the loss (differentiated by mpmath at 30 digits, or its difference
quotients computed at 50 digits) or a closed form. Nothing is compared with what
gdcli printed before.
"""

from __future__ import annotations

import csv
import io
import math
import re

import mpmath
import pytest
import sympy
from helpers import assert_clean_failure, json_output, strict_json

EPS = 2.0**-52


def derive_json(run, *args: str) -> dict:
    return json_output(run(["derive", *args, "-f", "json"]))


W = sympy.Symbol("w", real=True)


def mp_point(text: str) -> mpmath.mpf:
    """The exact point `text` (as the user typed it) at the current mpmath precision."""
    return mpmath.mpf(sympy.N(sympy.sympify(text), mpmath.mp.dps + 10))


def mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


# expression (as a user types it), point, hand-written mpmath loss
SMOOTH = [
    ("sin(w)*cos(2*w)", "0.3", lambda x: mpmath.sin(x) * mpmath.cos(2 * x)),
    ("exp(-w**2)", "0.7", lambda x: mpmath.exp(-(x**2))),
    ("log(1 + w^2)", "1.3", lambda x: mpmath.log(1 + x**2)),
    ("sqrt(1 + w**2)", "-0.4", lambda x: mpmath.sqrt(1 + x**2)),
    ("w**(1/3)", "2", lambda x: mpmath.cbrt(x)),
    ("(w**2 + 1)/(w - 3)", "1.5", lambda x: (x**2 + 1) / (x - 3)),
    ("1/(1 + w)", "0.25", lambda x: 1 / (1 + x)),
    ("abs(w - 1)", "2.5", lambda x: abs(x - 1)),
    ("abs(w - 1)", "-0.5", lambda x: abs(x - 1)),
    ("max(0, 3*w+2)", "1", lambda x: max(mpmath.mpf(0), 3 * x + 2)),
    ("max(0, 3*w+2)", "-1", lambda x: max(mpmath.mpf(0), 3 * x + 2)),
    ("min(w**2, 2*w)", "0.5", lambda x: min(x**2, 2 * x)),
    ("w^3 - 2*w^2", "1.1", lambda x: x**3 - 2 * x**2),
    ("sigmoid(w)", "0.4", mp_sigmoid),
    ("relu(w)", "-1.5", lambda x: max(mpmath.mpf(0), x)),
    ("relu(w)**2", "0.9", lambda x: max(mpmath.mpf(0), x) ** 2),
    ("softplus(w)", "0.8", lambda x: mpmath.log(1 + mpmath.exp(x))),
    ("tanh(w)", "0.6", mpmath.tanh),
    ("1 - tanh(w)^2", "0.5", lambda x: 1 - mpmath.tanh(x) ** 2),
    ("log(w, 2)", "3", lambda x: mpmath.log(x, 2)),
    ("log(w, 10)", "7", lambda x: mpmath.log10(x)),
    ("ln(w)", "2.5", mpmath.log),
    ("tan(w)", "1.1", mpmath.tan),
    ("atan(w)", "2", mpmath.atan),
    ("asin(w)", "0.5", mpmath.asin),
    ("acos(w/2)", "0.3", lambda x: mpmath.acos(x / 2)),
    ("sinh(w)*cosh(w)", "0.9", lambda x: mpmath.sinh(x) * mpmath.cosh(x)),
    ("exp(sin(w))", "pi/4", lambda x: mpmath.exp(mpmath.sin(x))),
    ("(w - 3)**2", "-2/3", lambda x: (x - 3) ** 2),
    ("sqrt(w)/(1 + exp(-w))", "1.7", lambda x: mpmath.sqrt(x) * mp_sigmoid(x)),
    ("w**w", "1.5", lambda x: x**x),
    ("2^w", "0.5", lambda x: mpmath.power(2, x)),
    ("e**(2*w)", "0.1", lambda x: mpmath.exp(2 * x)),
    ("-w^2 + 1", "0.75", lambda x: -(x**2) + 1),
    ("sign(w)*w**2", "-1.2", lambda x: mpmath.sign(x) * x**2),
    ("heaviside(w - 1)*w**2", "2", lambda x: (1 if x > 1 else 0) * x**2),
    ("mean([w, w**2, w**3])", "0.5", lambda x: (x + x**2 + x**3) / 3),
    ("dot([1, 2], [w, w**2])", "1.5", lambda x: x + 2 * x**2),
    ("(3*w + 2 > 0)*w**2", "1", lambda x: (1 if 3 * x + 2 > 0 else 0) * x**2),
    ("max(sin(w), cos(w))", "0.3", lambda x: max(mpmath.sin(x), mpmath.cos(x))),
    ("abs(w)**3", "-0.8", lambda x: abs(x) ** 3),
]

IDS = [f"{e}@{a}" for e, a, _ in SMOOTH]


def reference_slope(f, at: str) -> float:
    with mpmath.workdps(30):
        return float(mpmath.diff(f, mp_point(at)))


@pytest.mark.parametrize(("expr", "at", "f"), SMOOTH, ids=IDS)
def test_slope_matches_mpmath(run, expr, at, f):
    data = derive_json(run, expr, "--at", at)
    ref = reference_slope(f, at)
    assert data["differentiable"] is True
    assert data["slope"] == pytest.approx(ref, rel=1e-9, abs=1e-12)
    assert data["left_slope"] == pytest.approx(ref, rel=1e-9, abs=1e-12)
    assert data["right_slope"] == pytest.approx(ref, rel=1e-9, abs=1e-12)
    with mpmath.workdps(30):
        loss = float(f(mp_point(at)))
    assert data["loss"] == pytest.approx(loss, rel=1e-12, abs=1e-15)
    assert data["at"] == pytest.approx(float(mp_point(at)), rel=1e-15)
    assert data["variable"] == "w"


@pytest.mark.parametrize(("expr", "at", "f"), SMOOTH, ids=IDS)
def test_derivative_text_parses_back(run, expr, at, f):
    """The JSON derivative is SymPy-readable text whose value at the point is the slope."""
    data = derive_json(run, expr, "--at", at)
    parsed = sympy.sympify(data["derivative"], locals={"w": W})
    value = parsed.subs(W, sympy.sympify(at)).evalf(30)
    assert value.is_real, (data["derivative"], value)
    assert float(value) == pytest.approx(reference_slope(f, at), rel=1e-9, abs=1e-12)


def mp_quotient(f, w: float, h: float, scheme: str):
    """The scheme's difference quotient at the float point w, computed at 50 digits."""
    with mpmath.workdps(50):
        x, step = mpmath.mpf(w), mpmath.mpf(h)
        if scheme == "forward":
            return (f(x + step) - f(x)) / step
        if scheme == "backward":
            return (f(x) - f(x - step)) / step
        return (f(x + step) - f(x - step)) / (2 * step)


def quotient_tolerance(f, w: float, h: float, ref: float, denominator: float) -> float:
    """Honest tolerance for a float quotient against the exact one.

    gdcli rounds w + h to a double and evaluates l in doubles: each of those errs by
    a few ulps of |l| (or of the sum inside l) and of |w * l'|, and the difference
    is divided by h. On top, allow 1e-6 relative (the acceptance's tolerance).
    """
    with mpmath.workdps(30):
        x = mpmath.mpf(w)
        size = 1 + abs(float(f(x))) + (abs(w) + h) * abs(float(mpmath.diff(f, x)))
    return 1e-6 * abs(ref) + 64 * EPS * size / denominator


@pytest.mark.parametrize(("expr", "at", "f"), SMOOTH, ids=IDS)
def test_forward_quotients_match_high_precision(run, expr, at, f):
    data = derive_json(run, expr, "--at", at)
    assert data["scheme"] == "forward"
    hs = [row["h"] for row in data["rows"]]
    assert hs == [10.0**-k for k in range(1, 13)]
    slope = reference_slope(f, at)
    for row in data["rows"]:
        if row["h"] < 1e-6:
            continue
        ref = float(mp_quotient(f, data["at"], row["h"], "forward"))
        tol = quotient_tolerance(f, data["at"], row["h"], ref, row["h"])
        assert abs(row["quotient"] - ref) <= tol, (row, ref)
        # the error columns measure the distance to the true slope
        assert row["abs_error"] == pytest.approx(abs(row["quotient"] - slope), rel=1e-6, abs=1e-12)
        if slope != 0:
            assert row["rel_error"] == pytest.approx(
                abs(row["quotient"] - slope) / abs(slope), rel=1e-6, abs=1e-12
            )


@pytest.mark.parametrize("scheme", ["backward", "central"])
@pytest.mark.parametrize(
    ("expr", "at", "f"),
    [
        ("sin(w)*cos(2*w)", "0.3", lambda x: mpmath.sin(x) * mpmath.cos(2 * x)),
        ("(w**2 + 1)/(w - 3)", "1.5", lambda x: (x**2 + 1) / (x - 3)),
        ("exp(-w**2)", "0.7", lambda x: mpmath.exp(-(x**2))),
    ],
)
def test_other_schemes_quotients(run, scheme, expr, at, f):
    data = derive_json(run, expr, "--at", at, "--scheme", scheme)
    assert data["scheme"] == scheme
    for row in data["rows"]:
        if row["h"] < 1e-6:
            continue
        ref = float(mp_quotient(f, data["at"], row["h"], scheme))
        denominator = 2 * row["h"] if scheme == "central" else row["h"]
        tol = quotient_tolerance(f, data["at"], row["h"], ref, denominator)
        assert abs(row["quotient"] - ref) <= tol, (row, ref)


def test_schemes_give_different_rows(run):
    """Forward, backward and central quotients of w**3 at 1 at h = 0.1: closed forms."""
    expected = {
        "forward": 3.31,  # ((1 + h)^3 - 1) / h = 3 + 3h + h^2
        "backward": 2.71,  # (1 - (1 - h)^3) / h = 3 - 3h + h^2
        "central": 3.01,  # ((1 + h)^3 - (1 - h)^3) / 2h = 3 + h^2
    }
    for scheme, value in expected.items():
        data = derive_json(run, "w**3", "--scheme", scheme)
        assert data["rows"][0]["h"] == 0.1
        assert data["rows"][0]["quotient"] == pytest.approx(value, rel=1e-12)


def test_unknown_scheme_is_bad_input(run):
    r = run(["derive", "w**2", "--scheme", "sideways"])
    assert_clean_failure(r, 2, "sideways")


def test_h_range_options_change_rows(run):
    data = derive_json(run, "w**2", "--h-max", "1e-2", "--h-min", "1e-5")
    assert [row["h"] for row in data["rows"]] == [1e-2, 1e-3, 1e-4, 1e-5]
    for row in data["rows"]:  # (w+h)^2 - w^2 over h at w = 1 is 2 + h
        assert row["quotient"] == pytest.approx(2 + row["h"], rel=1e-9)
    data = derive_json(run, "w**2", "--h-max", "1", "--h-min", "1")
    assert [row["h"] for row in data["rows"]] == [1.0]
    assert data["rows"][0]["quotient"] == pytest.approx(3.0, rel=1e-15)


@pytest.mark.parametrize(
    "args", [["--h-min", "1e-1", "--h-max", "1e-3"], ["--h-min", "0"], ["--h-max", "-1"]]
)
def test_bad_h_range_is_bad_input(run, args):
    r = run(["derive", "w**2", *args])
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("gdcli: error:")


# ---------------------------------------------------------------------------
# the V-curve of error against h

V_CASES = [
    ("sin(w)", "1", mpmath.sin),
    ("exp(w)", "0.5", mpmath.exp),
    ("log(w)", "2", mpmath.log),
    ("w**3", "1.3", lambda x: x**3),
    ("sigmoid(w)", "0.4", mp_sigmoid),
    ("1/(1 + w**2)", "0.7", lambda x: 1 / (1 + x**2)),
]


@pytest.mark.parametrize(("expr", "at", "f"), V_CASES, ids=[c[0] for c in V_CASES])
def test_v_curve_forward(run, expr, at, f):
    data = derive_json(run, expr, "--at", at)
    slope = reference_slope(f, at)
    errors = {row["h"]: abs(row["quotient"] - slope) / abs(slope) for row in data["rows"]}
    best = data["best_h"]
    assert best == min(errors, key=errors.get)
    assert 1e-10 <= best <= 1e-6
    assert errors[best] < 1e-6
    smallest = min(errors)
    assert smallest == 1e-12
    assert errors[smallest] >= 100 * errors[best]
    # truncation side of the V: the largest h is much worse than the best too
    assert errors[0.1] >= 100 * errors[best]


@pytest.mark.parametrize(("expr", "at", "f"), V_CASES, ids=[c[0] for c in V_CASES])
def test_v_curve_central(run, expr, at, f):
    data = derive_json(run, expr, "--at", at, "--scheme", "central")
    slope = reference_slope(f, at)
    errors = {row["h"]: abs(row["quotient"] - slope) / abs(slope) for row in data["rows"]}
    best = data["best_h"]
    assert best == min(errors, key=errors.get)
    assert 1e-8 <= best <= 1e-3
    assert errors[best] < 1e-9
    assert errors[min(errors)] >= 100 * errors[best]


# ---------------------------------------------------------------------------
# kinks

KINKS = [
    # expression, point, left slope, right slope (closed forms)
    ("max(0, 3*w+2)", "-2/3", 0.0, 3.0),
    ("abs(w)", "0", -1.0, 1.0),
    ("relu(w)", "0", 0.0, 1.0),
    ("max(w, 2*w)", "0", 1.0, 2.0),
    ("min(w, 2*w)", "0", 2.0, 1.0),
    ("abs(w-1)", "1", -1.0, 1.0),
    ("abs(w**2 - 2)", "sqrt(2)", -2 * math.sqrt(2), 2 * math.sqrt(2)),
    ("abs(sin(w))", "pi", -1.0, 1.0),
    ("w + abs(w - 1/10)", "0.1", 0.0, 2.0),
    ("abs(3*w + 2)^1 * 2", "-2/3", -6.0, 6.0),
]


@pytest.mark.parametrize(("expr", "at", "left", "right"), KINKS, ids=[k[0] for k in KINKS])
def test_kink_reports_both_sides(run, expr, at, left, right):
    data = derive_json(run, expr, "--at", at)
    assert data["differentiable"] is False
    assert data["slope"] is None
    assert data["left_slope"] == pytest.approx(left, rel=1e-12, abs=1e-15)
    assert data["right_slope"] == pytest.approx(right, rel=1e-12, abs=1e-15)
    # forward quotients approach the right slope, backward ones the left slope
    assert data["rows"][3]["quotient"] == pytest.approx(right, rel=1e-3, abs=1e-3)
    back = derive_json(run, expr, "--at", at, "--scheme", "backward")
    assert back["rows"][3]["quotient"] == pytest.approx(left, rel=1e-3, abs=1e-3)


def test_kink_quiet_and_plain_say_no_slope(run):
    """--quiet prints the slope; where it does not exist it prints nothing and exits 3
    saying why (never `nan` with exit 0; JSON says null)."""
    r = run(["derive", "max(0, 3*w+2)", "--at=-2/3", "-q"])
    assert (r.code, r.out) == (3, "")
    assert r.err.startswith("gdcli: error: not differentiable at w = -2/3: the slope from the left")
    r = run(["derive", "max(0, 3*w+2)", "--at=-2/3", "-f", "plain"])
    assert r.code == 0
    lines = r.out.splitlines()
    assert "slope\tdoes not exist" in lines
    assert "left slope\t0.0" in lines and "right slope\t3.0" in lines
    # the explanation is a note for people: stderr, when stdout is data
    assert r.err.startswith("not differentiable at w = -2/3: the slope from the left is 0, ")


@pytest.mark.parametrize(
    ("expr", "at", "slope"),
    [
        ("abs(w)**2", "0", 0.0),
        ("max(0, w)", "1", 1.0),
        ("max(0, w)**2", "0", 0.0),
        ("w*abs(w)", "0", 0.0),
        ("abs(w)**3", "0", 0.0),
        ("relu(w)", "-2", 0.0),
        ("max(0, 3*w+2)", "-0.5", 3.0),
        ("max(w, w)", "0", 1.0),
        ("abs(w - 1) + abs(w - 1)", "3", 2.0),
    ],
)
def test_smooth_through_kink_functions_are_differentiable(run, expr, at, slope):
    data = derive_json(run, expr, "--at", at)
    assert data["differentiable"] is True
    assert data["slope"] == pytest.approx(slope, abs=1e-15)


def test_sqrt_at_zero_has_no_slope(run):
    data = derive_json(run, "sqrt(w)", "--at", "0")
    assert data["slope"] is None
    assert data["differentiable"] is False
    assert data["loss"] == 0.0
    assert data["left_slope"] is None  # sqrt is undefined left of 0
    # the forward quotients are sqrt(h)/h = h^-1/2: they grow without bound
    for row in data["rows"]:
        assert row["quotient"] == pytest.approx(row["h"] ** -0.5, rel=1e-9)


@pytest.mark.parametrize(("expr", "at"), [("sqrt(w)", "0"), ("(w-1)**(1/3)", "1")])
def test_infinite_one_sided_slope_is_null(run, expr, at):
    data = derive_json(run, expr, "--at", at)
    assert data["right_slope"] is None


def test_overflowing_loss_is_a_numerical_failure_not_a_kink(run):
    """exp(1000) is beyond a float: l(w) cannot be evaluated there, which is a numerical
    failure (exit 3, design.md), not a point where the slope does not exist."""
    r = run(["derive", "sin(exp(w))", "--at", "1000", "-f", "json"])
    line = assert_clean_failure(r, 3, "overflows")
    assert "differentiable" not in line


def test_zero_to_the_w_is_unsupported(run):
    """0**w: SymPy's derivative 0**w * log(0) is nan everywhere, so the expression is
    refused as unsupported (exit 2), with one line saying so."""
    r = run(["derive", "0**w", "-f", "json"])
    assert_clean_failure(r, 2, "derivative of 0**w is undefined")


def test_comparison_with_a_constant_just_below_one(run):
    """sigmoid(1000) = 1/(1 + e^-1000) is just below 1: the indicator is 1 and l = w."""
    data = derive_json(run, "(1 > sigmoid(1000))*w")
    assert (data["loss"], data["slope"], data["differentiable"]) == (1.0, 1.0, True)


def _exact_order(left: str, op: str, right: str) -> bool:
    import mpmath

    values = {"1": 1, "2": 2, "0": 0, "pi": mpmath.pi, "exp(1)": mpmath.e, "sin(pi)": 0,
              "sqrt(2)": mpmath.sqrt(2), "22/7": mpmath.mpf(22) / 7,
              "sigmoid(1000)": 1 / (1 + mpmath.exp(-1000)),
              "2.718281828459045": mpmath.mpf("2.718281828459045"),
              "1.4142135623730951": mpmath.mpf("1.4142135623730951")}  # fmt: skip
    a, b = values[left], values[right]
    return bool({"<": a < b, ">": a > b, ">=": a >= b, "<=": a <= b}[op])


@pytest.mark.parametrize(
    ("left", "op", "right"),
    [("1", "<", "sigmoid(1000)"), ("pi", ">", "22/7"), ("exp(1)", "<", "2.718281828459045"),
     ("sin(pi)", ">", "0"), ("sqrt(2)", ">=", "1.4142135623730951"), ("2", "<=", "2")],
)  # fmt: skip
def test_a_comparison_of_two_numbers_is_decided_exactly(run, left, op, right):
    """The indicator of two constants is 1 or 0 by their exact order (mpmath at 1,000
    digits), however close they are."""
    import mpmath

    with mpmath.workdps(1000):  # the global precision is left as it was
        holds = _exact_order(left, op, right)
    data = derive_json(run, f"({left} {op} {right})*w + 1")
    assert data["slope"] == (1.0 if holds else 0.0)


# ---------------------------------------------------------------------------
# the user's lines, points and input sources


def test_user_line_relu_like(run):
    """`gdcli derive "max(0, 3*w+2)"` at the default w = 1: slope 3, loss 5."""
    data = derive_json(run, "max(0, 3*w+2)")
    assert data["expression"] == "max(0, 3*w+2)"
    assert data["at"] == 1.0 and data["loss"] == 5.0 and data["slope"] == 3.0
    assert data["differentiable"] is True
    assert (
        sympy.simplify(
            sympy.sympify(data["derivative"], locals={"w": W}) - 3 * sympy.Heaviside(3 * W + 2)
        )
        == 0
    )


def test_leading_minus_expression(run):
    data = derive_json(run, "-w**2 + 1")
    assert data["slope"] == -2.0 and data["loss"] == 0.0
    data = derive_json(run, "-w**2 + 1", "--at", "-3")
    assert data["slope"] == 6.0 and data["loss"] == -8.0
    r = run(["derive", "-w", "-q"])
    assert (r.code, r.out) == (0, "-1.0\n")


@pytest.mark.parametrize("at_args", [["--at=-2/3"], ["--at", "-2/3"]])
def test_negative_fraction_point(run, at_args):
    data = derive_json(run, "w**3", *at_args)
    assert data["at"] == pytest.approx(-2 / 3, rel=1e-15)
    assert data["slope"] == pytest.approx(3 * (2 / 3) ** 2, rel=1e-14)  # 4/3
    assert data["loss"] == pytest.approx(-8 / 27, rel=1e-14)


def test_pi_point_is_exact(run):
    data = derive_json(run, "sin(w)**2", "--at", "pi/4")
    assert data["at"] == pytest.approx(math.pi / 4, rel=1e-15)
    assert data["slope"] == pytest.approx(1.0, rel=1e-15)  # 2 sin cos at pi/4 = 1
    assert data["loss"] == pytest.approx(0.5, rel=1e-15)
    # exact point, exact slope: cos at pi/2 is 0, not 6e-17
    data = derive_json(run, "sin(w)", "--at", "pi/2")
    assert data["slope"] == 0.0


def test_expression_from_stdin(run):
    r = run(["derive", "-", "-q", "--at", "2"], stdin="w**3\n")
    assert (r.code, r.out) == (0, "12.0\n")
    r = run(["derive", "-", "-f", "json"], stdin="-w**2 + 1\n")
    assert r.code == 0
    assert strict_json(r.out)["slope"] == -2.0


def test_empty_stdin_is_bad_input(run):
    r = run(["derive", "-"], stdin="")
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("gdcli: error:")


def test_default_loss_and_env(run):
    r = run(["derive", "-q"])
    assert (r.code, r.out) == (0, "-4.0\n")  # (w - 3)^2 at 1: 2(1 - 3)
    r = run(["derive", "-q"], env={"GDCLI_LOSS": "w**4"})
    assert (r.code, r.out) == (0, "4.0\n")
    r = run(["derive", "-f", "json", "--at", "2"], env={"GDCLI_LOSS": "sin(w)"})
    assert r.code == 0
    assert strict_json(r.out)["slope"] == pytest.approx(math.cos(2), rel=1e-15)


def test_several_variables_need_wrt(run):
    r = run(["derive", "x**2 * y", "--at", "x=3,y=2"])
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("gdcli: error:") and "hint:" in r.err


@pytest.mark.parametrize(
    ("args", "slope"),
    [
        (["x**2 * y", "--wrt", "y", "--at", "x=3,y=2"], 9.0),  # d/dy x^2 y = x^2
        (["w*x", "--at", "w=2,x=3"], 3.0),  # d/dw w x = x
    ],
)
def test_derive_with_several_variables(run, args, slope):
    data = derive_json(run, *args)
    assert data["slope"] == slope


@pytest.mark.parametrize("name", ["alpha", "theta", "lam", "lr", "loss", "x_1", "w2", "C"])
def test_derivative_text_parses_back_whatever_the_weight_name(run, name):
    data = derive_json(run, f"{name}**3", "--at", "2")
    assert data["variable"] == name and data["slope"] == 12.0
    assert sympy.sympify(data["derivative"]) == 3 * sympy.Symbol(name) ** 2


@pytest.mark.parametrize("name", ["beta", "gamma", "re", "zeta", "Max", "Abs", "Ei", "factorial"])
def test_weight_names_sympy_reads_otherwise_are_refused(run, name):
    """SymPy would read the derivative's text back as a function: the name is refused."""
    r = run(["derive", f"{name}**3", "--at", "2", "-f", "json"])
    assert_clean_failure(r, 2, f"name '{name}' is reserved")


# ---------------------------------------------------------------------------
# formats

DERIVE_KEYS = {
    "expression",
    "variable",
    "derivative",
    "at",
    "loss",
    "slope",
    "differentiable",
    "left_slope",
    "right_slope",
    "scheme",
    "rows",
    "best_h",
}


@pytest.mark.parametrize(
    ("expr", "at", "right_slope"),
    [("w**2", "1", 2.0), ("abs(w)", "0", 1.0), ("sqrt(w)", "0", None)],
)
def test_json_keys_and_strictness(run, expr, at, right_slope):
    """sqrt(w) at 0: the quotients grow without bound (no right slope), so there is no
    error and no best h."""
    r = run(["derive", expr, "--at", at, "-f", "json"])
    assert r.code == 0
    data = strict_json(r.out)
    assert DERIVE_KEYS <= set(data)
    assert "latex" not in data
    assert isinstance(data["derivative"], str)
    assert isinstance(data["differentiable"], bool)
    for row in data["rows"]:
        assert set(row) == {"h", "quotient", "abs_error", "rel_error"}
    assert data["right_slope"] == right_slope
    if right_slope is None:
        assert data["best_h"] is None
        assert all(row["abs_error"] is None for row in data["rows"])
    else:
        assert data["best_h"] in [row["h"] for row in data["rows"]]
    assert r.err == ""


def test_json_null_where_rel_error_undefined(run):
    """At a zero slope the relative error is undefined: null, never NaN."""
    r = run(["derive", "(w - 1)**2", "-f", "json"])
    assert r.code == 0
    data = strict_json(r.out)
    assert data["slope"] == 0.0
    assert all(row["rel_error"] is None for row in data["rows"])
    assert data["rows"][0]["abs_error"] == pytest.approx(0.1, rel=1e-9)


def test_latex_key(run):
    data = derive_json(run, "1 - tanh(w)^2", "--latex")
    assert "\\tanh" in data["latex"]
    assert "\x1b" not in data["latex"]


def test_csv_is_rectangular(run):
    r = run(["derive", "sin(w)", "-f", "csv"])
    assert r.code == 0
    rows = list(csv.reader(io.StringIO(r.out)))
    assert rows[0] == ["h", "quotient", "abs_error", "rel_error"]
    assert len(rows) == 13
    assert all(len(row) == 4 for row in rows)
    for row in rows[1:]:
        h, q = float(row[0]), float(row[1])
        assert math.isfinite(h) and math.isfinite(q)
    assert float(rows[1][1]) == pytest.approx((math.sin(1.1) - math.sin(1)) / 0.1, rel=1e-12)


def test_csv_at_zero_slope_stays_rectangular(run):
    r = run(["derive", "(w - 1)**2", "-f", "csv", "--h-max", "1e-1", "--h-min", "1e-3"])
    assert r.code == 0
    rows = list(csv.reader(io.StringIO(r.out)))
    assert len(rows) == 4 and all(len(row) == 4 for row in rows)


def test_quiet_is_one_line(run):
    r = run(["derive", "w**3", "--at", "2", "--quiet"])
    assert r.code == 0
    assert r.out == "12.0\n"
    r = run(["derive", "sin(w)", "--at", "pi/3", "-q"])
    assert r.out.count("\n") == 1
    assert float(r.out) == pytest.approx(0.5, rel=1e-15)


def test_plain_piped_has_no_escapes(run):
    r = run(["derive", "sin(w)"])
    assert r.code == 0
    assert "\x1b" not in r.out and "\x1b" not in r.err
    lines = r.out.splitlines()
    assert "h\tquotient\tabs_error\trel_error" in lines
    assert "slope" in r.out


def test_table_colour_only_when_forced(run):
    r = run(["derive", "sin(w)", "--format", "table"])
    assert r.code == 0 and "\x1b" not in r.out
    r = run(["derive", "sin(w)", "--format", "table", "--color"])
    assert r.code == 0 and "\x1b[" in r.out
    r = run(["derive", "sin(w)"], tty=True, env={"NO_COLOR": "1"})
    assert r.code == 0 and "\x1b" not in r.out
    r = run(["derive", "sin(w)"], tty=True, env={"TERM": "dumb"})
    assert r.code == 0 and "\x1b" not in r.out
    assert re.search(r"quotient", r.out)


def test_tty_table_is_coloured(run):
    r = run(["derive", "sin(w)"], tty=True)
    assert r.code == 0 and "\x1b[" in r.out
