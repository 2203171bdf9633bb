"""check decides every verdict in exact arithmetic (issue 13, item 4; issue 15, item 3).

- an answer is never accepted because simplification ran out of time (an answer off
  by 9e-8, or by 1e-20, is wrong whatever SymPy manages to simplify);
- both sides of the answer's own breakpoints are probed, not only the loss's (a kink
  put 1e-7 away from where it belongs is wrong);
- round-off beside a kink never rejects a right answer;
- a counterexample never shows two equal-looking numbers: as many digits as it takes,
  and their difference;
- tolerances (`--rtol`, `--atol`) are |answer - derivative| <= atol + rtol*|derivative|.

Expected verdicts come from calculus by hand; counterexamples are checked with
Python's Fraction and mpmath at 60 digits on the test's side, never with gdcli.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import mpmath
import pytest
from helpers import assert_clean_failure, json_output

import gdcli.answers


def check_json(run, *args: str, code: int) -> dict:
    return json_output(run(["check", *args, "--format", "json"]), code)


def exact_point(data: dict, name: str = "w") -> Fraction:
    """The counterexample's point as the exact number gdcli compared at (its JSON float
    is the point's shortest float; the point itself is a short decimal or a ratio)."""
    return Fraction(repr(data["counterexample"]["point"][name]))


# --- 1. never accepted for lack of time -----------------------------------------------------


@pytest.fixture
def no_symbolic_time(monkeypatch):
    """SymPy's symbolic step gets no time at all: every verdict comes from the points."""
    monkeypatch.setattr(gdcli.answers, "SYMBOLIC_SECONDS", 1e-9)


@pytest.mark.parametrize(
    ("loss", "answer", "offset"),
    [
        ("w**2", "2*w + 9e-8", Fraction(9, 10**8)),
        ("w**2", "2*w - 9e-8", Fraction(-9, 10**8)),
        ("sin(w)**2", "sin(2*w) + 9e-8", Fraction(9, 10**8)),
        ("(w - 3)**2", "2*w - 6 + 1e-20", Fraction(1, 10**20)),
        ("exp(w)", "exp(w) + 1e-40", Fraction(1, 10**40)),
    ],
)
def test_a_hair_off_is_wrong_when_simplification_times_out(
    run, no_symbolic_time, loss, answer, offset
):
    data = check_json(run, loss, answer, code=1)
    ce = data["counterexample"]
    assert data["method"] == "numeric"
    # the difference, exactly, is the offset
    assert Decimal(ce["difference_text"]) == Decimal(offset.numerator) / offset.denominator
    assert ce["expected_text"] != ce["got_text"]
    assert Fraction(Decimal(ce["got_text"])) - Fraction(
        Decimal(ce["expected_text"])
    ) == pytest.approx(offset, rel=1e-3)


def test_right_answers_are_still_right_without_symbolic_time(run, no_symbolic_time):
    for loss, answer in [("sin(w)**2", "sin(2*w)"), ("relu(w)", "(w > 0)"), ("w**3", "3*w*w")]:
        data = check_json(run, loss, answer, code=0)
        assert data["method"] in ("symbolic", "numeric")
        if data["method"] == "numeric":
            assert data["exact_points"] >= 3


def test_no_time_for_exact_arithmetic_is_no_verdict(run, monkeypatch):
    """When no exact comparison can finish in time, neither an answer that agrees in
    floating point (2*w + 1e-20 does, everywhere but near 0) nor one that does not
    is given a verdict: exit 4, never `correct` and never an unconfirmed `wrong`."""
    monkeypatch.setattr(gdcli.answers, "SYMBOLIC_SECONDS", 1e-9)
    monkeypatch.setattr(
        gdcli.answers, "compare_exactly", lambda *args: gdcli.answers.Compared("unknown")
    )
    for answer in ("2*w + 1e-20", "2*w*(1 + 1e-30)", "2*w + 1", "sin(2*w)"):
        r = run(["check", "w**2", answer])
        assert_clean_failure(r, 4, "cannot decide")


# --- 2. both sides of the answer's own breakpoints ------------------------------------------

# loss, answer, (lo, hi): where the answer is wrong, derivative there, answer there
KINK_TOO_FAR = [
    ("max(0,w)", "(w > 1e-7)", (0, 1e-7), 1.0, 0.0),
    ("max(0,w)", "(w >= -1e-7)", (-1e-7, 0), 0.0, 1.0),
    ("relu(w)", "Heaviside(w - 1e-12)", (0, 1e-12), 1.0, 0.0),
    ("abs(w)", "sign(w - 1e-9)", (0, 1e-9), 1.0, -1.0),
    ("max(0, 3*w+2)", "3*(w > -2/3 + 1e-10)", (-2 / 3, -2 / 3 + 1e-10), 3.0, 0.0),
    ("min(0, w)", "(w < -1e-8)", (-1e-8, 0), 1.0, 0.0),
    ("abs(w - 5)", "sign(w - 5 - 1e-6)", (5, 5 + 1e-6), 1.0, -1.0),
]


KINK_TOO_FAR += [
    ("max(0, sin(w))", "cos(w)*Heaviside(sin(w) - 1e-9)", (0, 1e-9), 1.0, 0.0),  # periodic
    ("abs(w - sqrt(2))", "sign(w - 1.4142135)", (1.4142135, 2**0.5), -1.0, 1.0),  # irrational
    ("max(w, 2*w)", "Heaviside(w - 1e-10) + 1", (0, 1e-10), 2.0, 1.0),
]


@pytest.mark.parametrize(("loss", "answer", "gap", "expected", "got"), KINK_TOO_FAR)
def test_a_kink_in_the_wrong_place_is_found(run, loss, answer, gap, expected, got):
    data = check_json(run, loss, answer, code=1)
    ce = data["counterexample"]
    w = ce["point"]["w"]
    assert gap[0] < w < gap[1]
    assert (ce["expected"], ce["got"]) == (expected, got)


# --- 3. round-off beside a kink never rejects a right answer --------------------------------

RIGHT_NEAR_KINKS = [
    ("abs(w+1)", "(w+1)/sqrt(w**2+2*w+1)"),
    ("abs(w-2)", "(w-2)/sqrt(w**2-4*w+4)"),
    ("abs(w+1)**3", "3*(w+1)**2*(w+1)/sqrt(w**2+2*w+1)"),
    ("sqrt(w**2+2*w+1)", "sign(w+1)"),
    ("abs(w**2-1)", "2*w*(w**2-1)/sqrt((w**2-1)**2)"),
    ("max(0, 3*w+2)", "3*(3*w+2 + abs(3*w+2))/(2*abs(3*w+2))"),
]


@pytest.mark.parametrize(("loss", "answer"), RIGHT_NEAR_KINKS)
def test_round_off_beside_a_kink_does_not_reject(run, loss, answer):
    data = check_json(run, loss, answer, code=0)
    assert data["equal"] is True and data["counterexample"] is None


def test_isolated_points_where_the_answer_is_undefined_are_not_counterexamples(run):
    """2*(w**2 - 1)/(w + 1) + 2 is 2*w except at w = -1, where it is 0/0."""
    check_json(run, "w**2", "2*(w**2 - 1)/(w + 1) + 2", code=0)


def test_an_answer_undefined_on_a_region_is_wrong(run):
    """2*w*sqrt(w)/sqrt(w) would be 2*w where it exists; sqrt(w)*sqrt(w)/w is undefined
    for w < 0... SymPy keeps log(w**2)/log(w) unevaluated: at w < 0 it is real but not 2."""
    data = check_json(run, "w**2", "2*w*sqrt(w**2)/w", code=1)  # 2*|w|: wrong for w < 0
    ce = data["counterexample"]
    assert ce["point"]["w"] < 0 and ce["got"] == pytest.approx(-ce["expected"])


def test_not_real_where_the_derivative_is_real_is_wrong(run):
    """log(w) - log(w**2)/2 is 0 for w > 0 and i*pi for w < 0 (SymPy leaves it so)."""
    data = check_json(run, "w**3/3", "w**2 + log(w) - log(w**2)/2", code=1)
    ce = data["counterexample"]
    assert ce["point"]["w"] < 0
    assert ce["got"] is None and ce["got_text"] == "undefined"
    assert "undefined there" in data["reason"]


# --- 4. numbers that look different ---------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "factor", "offset"),
    [
        ("2*w + 1e-12", 1, Fraction(1, 10**12)),
        ("2*w + 1e-25", 1, Fraction(1, 10**25)),
        ("2.0000000001*w", Fraction(20000000001, 2 * 10**10), 0),
        ("2*w*(1 + 1e-15)", 1 + Fraction(1, 10**15), 0),
    ],
)
def test_a_counterexample_never_shows_equal_numbers(run, answer, factor, offset):
    data = check_json(run, "w**2", answer, code=1)
    ce = data["counterexample"]
    w = exact_point(data)
    expected, got = 2 * w, 2 * w * factor + offset
    assert ce["expected_text"] != ce["got_text"]
    with mpmath.workdps(60):
        # each text is its number rounded to the digits it shows
        for text, exact in ((ce["expected_text"], expected), (ce["got_text"], got)):
            digits = len(text.lstrip("-").replace(".", "").split("e")[0].lstrip("0")) or 1
            shown = mpmath.mpf(text)
            value = mpmath.mpf(exact.numerator) / exact.denominator
            assert abs(shown - value) <= abs(value) * mpmath.mpf(10) ** (1 - digits) + mpmath.mpf(
                "1e-50"
            )
        assert mpmath.mpf(ce["difference_text"]) == pytest.approx(float(got - expected), rel=1e-3)
    assert f"difference {ce['difference_text']}" in data["reason"]


def test_short_values_stay_short(run):
    data = check_json(run, "w**2", "2*w + 1", code=1)
    ce = data["counterexample"]
    assert (ce["point"], ce["expected_text"], ce["got_text"], ce["difference_text"]) == (
        {"w": 1.0},
        "2",
        "3",
        "1",
    )
    assert data["reason"] == "at w = 1 dl/dw is 2, but the answer gives 3 (difference 1)"


# --- 5. tolerances --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "options", "code"),
    [
        ("2*w*(1 + 1e-7)", ["--rtol", "1e-6"], 0),
        ("2*w*(1 + 1e-5)", ["--rtol", "1e-6"], 1),
        ("2*w + 1e-10", ["--atol", "1e-9"], 0),
        ("2*w + 1e-8", ["--atol", "1e-9"], 1),
        ("2*w + 1e-6", ["--atol", "1e-6"], 0),  # exactly at the bound: within
        ("2*w + 1.000001e-6", ["--atol", "1e-6"], 1),
        ("2*w + 1e-10", [], 1),  # no tolerance: exact
    ],
)
def test_tolerances(run, answer, options, code):
    data = check_json(run, "w**2", answer, *options, code=code)
    if code:
        ce = data["counterexample"]
        w = exact_point(data)
        gap = Fraction(repr(ce["difference"]))
        atol = Fraction(options[1]) if options and options[0] == "--atol" else 0
        rtol = Fraction(options[1]) if options and options[0] == "--rtol" else 0
        assert abs(gap) > atol + rtol * abs(2 * w) * Fraction(999, 1000)


@pytest.mark.parametrize("option", ["--rtol", "--atol"])
@pytest.mark.parametrize("value", ["-1", "-1e-9", "nan", "inf"])
def test_a_bad_tolerance_is_exit_2_naming_the_option(run, option, value):
    r = run(["check", "w**2", "2*w", option, value])
    assert_clean_failure(r, 2, option)


# --- 6. a value at a point, and a value ------------------------------------------------------


@pytest.mark.parametrize(
    ("loss", "answer", "at", "code"),
    [
        ("w**3", "12", "2", 0),
        ("w**3", "3*w**2", "2", 0),
        ("w**3", "12.0001", "2", 1),
        ("(w*x - y)**2", "2*x*(w*x - y)", "w=1,x=2,y=3", 0),
        ("(w*x - y)**2", "-4", "w=1,x=2,y=3", 0),  # 2*2*(2 - 3)
        ("sin(w)", "0.5", "pi/3", 0),
        ("sin(w)", "0.5000001", "pi/3", 1),
    ],
)
def test_at_a_point(run, loss, answer, at, code):
    data = check_json(run, loss, answer, "--at", at, "--wrt", "w", code=code)
    assert data["method"] == "point"


def test_at_a_kink_there_is_no_derivative(run):
    assert_clean_failure(run(["check", "abs(w)", "0", "--at", "0"]), 3, "does not exist")


def test_at_a_point_every_name_needs_a_value(run):
    assert_clean_failure(run(["check", "(w*x - y)**2", "1", "--at", "w=1"]), 2, "x has no value")


@pytest.mark.parametrize(
    ("value", "answer", "options", "code"),
    [
        ("3/2 - 1/10*2*(3/2 - 2)", "1.6", [], 0),
        ("3/2 - 1/10*2*(3/2 - 2)", "8/5", [], 0),
        ("3/2 - 1/10*2*(3/2 - 2)", "1.61", [], 1),
        ("1/3", "0.3333", [], 1),
        ("1/3", "0.3333", ["--rtol", "1e-3"], 0),
        ("sqrt(2)", "1.4142135623730951", [], 1),  # the nearest float is not sqrt(2)
        ("sqrt(2)", "1.4142135623730951", ["--rtol", "1e-15"], 0),
    ],
)
def test_a_value(run, value, answer, options, code):
    data = check_json(run, value, answer, *options, code=code)
    assert data["method"] == "value" and data["variable"] is None


def test_a_value_answer_must_be_a_number(run):
    assert_clean_failure(run(["check", "1.6", "w"]), 2, "ANSWER")


def test_the_reason_of_a_wrong_value(run):
    data = check_json(run, "1/3", "0.3333", code=1)
    ce = data["counterexample"]
    assert (ce["expected_text"], ce["got_text"]) == ("0.333333", "0.3333")
    assert math.isclose(ce["difference"], 0.3333 - 1 / 3, rel_tol=1e-12)


@pytest.mark.parametrize(
    ("loss", "answer", "wrt"),
    [("relu(x)*y", "(x > 1e-7)*y", "x"), ("relu(x*y)", "y*(x*y > 1e-7)", "x")],
)
def test_a_kink_in_the_wrong_place_with_several_weights(run, loss, answer, wrt):
    """Breakpoints are looked for along each weight through a few points."""
    data = check_json(run, loss, answer, "--wrt", wrt, code=1)
    ce = data["counterexample"]
    x, y = ce["point"]["x"], ce["point"]["y"]
    assert 0 < x * y <= 1e-7 or 0 < x <= 1e-7
    assert (ce["expected"], ce["got"]) == (y, 0.0)


@pytest.mark.parametrize(
    ("loss", "answer", "options"),
    [
        ("sin(w)**2", "sin(2*w + 1e-12)", []),
        ("exp(w)", "exp(w + 1e-15)", []),
        ("w**2", "2*w*(1 + 1e-16)", []),
        ("tanh(w)", "1 - tanh(w)**2 + 1e-30*w", []),
        ("x**2*y", "2*x*y + 1e-20*y", ["--wrt", "x"]),
    ],
)
def test_offsets_inside_functions_and_with_several_weights(run, loss, answer, options):
    data = check_json(run, loss, answer, *options, code=1)
    assert data["counterexample"]["expected_text"] != data["counterexample"]["got_text"]


def test_beyond_the_float_range_the_answer_still_counts(run):
    """exp(801) overflows a float but is a number: an answer wrong only there is wrong."""
    data = check_json(run, "exp(w)", "exp(w)*(w < 800)", code=1)
    ce = data["counterexample"]
    assert ce["point"]["w"] > 800 and ce["got"] == 0.0
    assert ce["expected"] is None  # JSON has no number that large: its text has it
    with mpmath.workdps(30):
        shown, exact = (
            mpmath.mpf(ce["expected_text"]),
            mpmath.exp(mpmath.mpf(repr(ce["point"]["w"]))),
        )
        assert abs(shown - exact) <= mpmath.mpf("1e-5") * exact


def test_a_difference_hidden_behind_cancellation_is_found(run):
    """At w = 1001 the answer's sigmoid*(1 - sigmoid) cancels beyond 400 digits, but
    the answer is 1 + 1e-435 where the slope is 1e-435: wrong, exactly."""
    data = check_json(run, "sigmoid(w)", "sigmoid(w)*(1-sigmoid(w)) + (w > 1000)", code=1)
    ce = data["counterexample"]
    assert ce["point"]["w"] > 1000 and (ce["expected"], ce["got"]) == (0.0, 1.0)


def test_an_unsimplified_zero_derivative(run):
    """d/dw (sin(2w) - 2 sin(w) cos(w)) is 0 everywhere, written so that SymPy does not see it."""
    check_json(run, "sin(2*w) - 2*sin(w)*cos(w)", "0", code=0)
    check_json(run, "sin(2*w) - 2*sin(w)*cos(w)", "1e-60", code=1)
