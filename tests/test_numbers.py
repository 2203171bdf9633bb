"""Numbers are right to the last digit shown, or not shown: checked against mpmath at
100 digits where floats cancel, overflow in an intermediate, or saturate."""

from __future__ import annotations

import mpmath
import pytest
from helpers import json_output

mpmath.mp.dps = 100


def derive(run, loss: str, at: str) -> dict:
    return json_output(run(["derive", loss, f"--at={at}", "-f", "json"]))


def exp1(w):
    return mpmath.exp(w)


CASES = [
    # (loss, point, its loss by mpmath, its slope by mpmath)
    ("(1+w)**(1/w)", "1e-8", lambda w: (1 + w) ** (1 / w),
     lambda w: mpmath.diff(lambda t: (1 + t) ** (1 / t), w)),
    ("(1+w)**(1/w)", "1e-7", lambda w: (1 + w) ** (1 / w),
     lambda w: mpmath.diff(lambda t: (1 + t) ** (1 / t), w)),
    ("(1+1/w)**w", "1e8", lambda w: (1 + 1 / w) ** w,
     lambda w: mpmath.diff(lambda t: (1 + 1 / t) ** t, w)),
    ("softplus(w)", "710", lambda w: mpmath.log(1 + exp1(w)), lambda w: 1 / (1 + exp1(-w))),
    ("sigmoid(w)", "-710", lambda w: 1 / (1 + exp1(-w)),
     lambda w: exp1(-w) / (1 + exp1(-w)) ** 2),
    ("-log(1 - sigmoid(w))", "37", lambda w: -mpmath.log(1 - 1 / (1 + exp1(-w))),
     lambda w: 1 / (1 + exp1(-w))),
    ("-log(1 - sigmoid(w))", "60", lambda w: -mpmath.log(1 - 1 / (1 + exp1(-w))),
     lambda w: 1 / (1 + exp1(-w))),
    ("tanh(w)", "200", mpmath.tanh, lambda w: 1 / mpmath.cosh(w) ** 2),  # 1 - tanh² cancels
    ("1/w", "1e300", lambda w: 1 / w, lambda w: -1 / w**2),
    ("exp(-w) * w", "700", lambda w: exp1(-w) * w, lambda w: exp1(-w) * (1 - w)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("loss", "at", "value", "slope"), CASES, ids=[f"{c[0]}@{c[1]}" for c in CASES]
)
def test_value_and_slope_are_correctly_rounded(run, loss, at, value, slope):
    data = derive(run, loss, at)
    w = mpmath.mpf(at)
    assert data["loss"] == float(value(w))  # the float nearest the true value
    assert data["slope"] == float(slope(w))


def test_a_value_that_cannot_be_computed_is_not_shown(run):
    r = run(["derive", "exp(exp(exp(exp(sin(w)+5))))", "-q"])
    assert r.code == 3 and r.out == ""  # beyond floats: never digits


@pytest.mark.parametrize(("loss", "at"), [("1/w", "1e300"), ("-1/w", "1e200"), ("1/w**2", "1e110")])
def test_a_slope_below_the_smallest_float_is_said(run, loss, at):
    """The float of the slope is 0, the slope is not: a note gives it (mpmath), and
    no note calls the loss a straight line."""
    data = derive(run, loss, at)
    assert data["slope"] == 0.0
    r = run(["derive", loss, "--at", at])
    w = mpmath.mpf(at)
    exact = {"1/w": -1 / w**2, "-1/w": 1 / w**2, "1/w**2": -2 / w**3}[loss]
    shown = mpmath.nstr(exact, 3, strip_zeros=True)
    mantissa, exponent = shown.split("e")
    assert f"the slope is {float(mantissa):g}e{int(exponent)}, smaller in size" in r.err
    assert "is a straight line" not in r.out + r.err


@pytest.mark.parametrize("at", ["1e300", "-2.5e40", "3e-40", "7e-300"])
def test_an_exact_point_is_written_short_and_reads_back_exactly(run, at):
    from fractions import Fraction

    from gdcli.parse.expression import parse_value

    data = derive(run, "3*w", at)
    text = data["at_exact"]
    assert len(text) <= len(at) + 2, text
    assert Fraction(str(parse_value(text))) == Fraction(at)
