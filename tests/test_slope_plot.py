"""`gdcli slope` (the two-point secant) and `gdcli plot` (the loss, the point, the tangent).

Secant slopes are compared with closed forms and with mpmath at 50 digits.
"""

from __future__ import annotations

import math

import mpmath
import pytest
import sympy
from helpers import assert_clean_failure, json_output, run_process, strict_json


def slope_json(run, *args: str) -> dict:
    return json_output(run(["slope", *args, "-f", "json"]))


SLOPE_KEYS = {
    "expression",
    "variable",
    "w1",
    "w2",
    "h",
    "loss1",
    "loss2",
    "slope",
    "derivative",
    "abs_error",
}


def test_user_line_default_loss(run):
    """`gdcli slope --h 1e-3` on (w - 3)^2 at w = 1: every field from the closed form."""
    data = slope_json(run, "--h", "1e-3")
    assert SLOPE_KEYS <= set(data)
    assert data["expression"] == "(w - 3)**2" and data["variable"] == "w"
    assert data["w1"] == 1.0
    assert data["w2"] == pytest.approx(1.001, rel=1e-15)
    assert data["h"] == 1e-3
    assert data["loss1"] == 4.0
    assert data["loss2"] == pytest.approx(1.999**2, rel=1e-15)
    # ((w + h - 3)^2 - (w - 3)^2) / h = 2 (w - 3) + h = -3.999
    assert data["slope"] == pytest.approx(-3.999, rel=1e-15)
    assert data["derivative"] == -4.0
    assert data["abs_error"] == pytest.approx(1e-3, rel=1e-9)


def test_user_line_plain_output(run):
    r = run(["slope", "--h", "1e-3"])
    assert r.code == 0
    assert "\x1b" not in r.out + r.err
    header, row = r.out.splitlines()[:2]
    assert header.split("\t")[:2] == ["w1", "w2"]
    values = dict(zip(header.split("\t"), row.split("\t"), strict=True))
    assert float(values["slope"]) == pytest.approx(-3.999, rel=1e-15)


def mp_secant(f, w1: str, h: str) -> float:
    with mpmath.workdps(50):
        x = mpmath.mpf(sympy.N(sympy.sympify(w1), 60))
        step = mpmath.mpf(sympy.N(sympy.sympify(h), 60))
        return float((f(x + step) - f(x)) / step)


SECANTS = [
    ("w**3", "2", "-0.5", lambda x: x**3),
    ("w**3", "2", "0.5", lambda x: x**3),
    ("sin(w)", "1", "1e-3", mpmath.sin),
    ("sin(w)", "1", "-1e-6", mpmath.sin),
    ("exp(w)", "-1", "1/3", mpmath.exp),
    ("log(w)", "2", "-1.5", mpmath.log),
    ("abs(w)", "0", "-0.1", abs),
    ("max(0, 3*w+2)", "-2/3", "0.25", lambda x: max(mpmath.mpf(0), 3 * x + 2)),
    ("sigmoid(w)", "pi/4", "0.01", lambda x: 1 / (1 + mpmath.exp(-x))),
    ("1 - tanh(w)^2", "0.5", "2", lambda x: 1 - mpmath.tanh(x) ** 2),
]


@pytest.mark.parametrize(
    ("expr", "at", "h", "f"), SECANTS, ids=[f"{s[0]}@{s[1]}+{s[2]}" for s in SECANTS]
)
def test_secant_matches_mpmath(run, expr, at, h, f):
    data = slope_json(run, expr, "--at", at, "--h", h)
    assert data["slope"] == pytest.approx(mp_secant(f, at, h), rel=1e-9, abs=1e-12)
    hv = float(sympy.sympify(h))
    assert data["h"] == pytest.approx(hv, rel=1e-15)
    assert data["w2"] == pytest.approx(data["w1"] + hv, rel=1e-12, abs=1e-15)
    with mpmath.workdps(30):
        x1 = mpmath.mpf(sympy.N(sympy.sympify(at), 40))
        assert data["loss1"] == pytest.approx(float(f(x1)), rel=1e-12, abs=1e-15)
        x2 = x1 + mpmath.mpf(sympy.N(sympy.sympify(h), 40))
        assert data["loss2"] == pytest.approx(float(f(x2)), rel=1e-12, abs=1e-15)


def test_negative_h_closed_form(run):
    """w^3 at 2 with h = -0.5: (1.5^3 - 8) / -0.5 = 9.25; the derivative is 12."""
    data = slope_json(run, "w**3", "--at", "2", "--h", "-0.5")
    assert data["w2"] == 1.5
    assert data["loss2"] == 3.375
    assert data["slope"] == 9.25
    assert data["derivative"] == 12.0
    assert data["abs_error"] == pytest.approx(2.75, rel=1e-12)


def test_leading_minus_everywhere(run):
    # l(w) = 1 - w^2: l(-1) = 0, l(-0.5) = 0.75, secant 1.5
    r = run(["slope", "-w**2 + 1", "--at", "-1", "--h", "0.5", "-q"])
    assert (r.code, r.out) == (0, "1.5\n")
    r = run(["slope", "-w**2 + 1", "--at=-1", "--h=-0.5", "-q"])
    assert (r.code, r.out) == (0, "2.5\n")  # l(-1.5) = -1.25: (-1.25 - 0) / -0.5
    r = run(["plot", "-w**2 + 1", "--at", "-1", "-f", "json"])
    assert r.code == 0 and strict_json(r.out)["slope"] == 2.0


def test_secant_at_kink_has_no_derivative(run):
    data = slope_json(run, "abs(w)", "--at", "0", "--h", "-0.1")
    assert data["slope"] == -1.0
    assert data["derivative"] is None
    assert data["abs_error"] is None


@pytest.mark.parametrize("h", ["0", "0.0", "-0", "0*5", "1 - 1"])
def test_zero_h_is_bad_input(run, h):
    r = run(["slope", "--h", h])
    assert r.code == 2
    assert r.out == ""
    assert r.err.startswith("gdcli: error:")
    assert "Traceback" not in r.err


@pytest.mark.parametrize(
    ("expr", "at", "h"),
    [("log(w)", "-1", "0.1"), ("log(w)", "1", "-2"), ("sqrt(w)", "-1", "1e-3"), ("1/w", "-1", "1")],
)
def test_undefined_point_is_numerical_error(run, expr, at, h):
    r = run(["slope", expr, "--at", at, "--h", h])
    assert_clean_failure(r, 3)


@pytest.mark.parametrize("h", ["abc", "1e", "w", "1/0", "sqrt(-1)", "[1, 2]", "[[1]]"])
def test_bad_h_is_bad_input(run, h):
    r = run(["slope", "--h", h])
    assert r.code == 2 and r.out == ""
    assert r.err.startswith("gdcli: error:")


def test_slope_quiet_is_the_secant(run):
    r = run(["slope", "w**2", "--at", "1", "--h", "0.5", "--quiet"])
    assert r.code == 0
    assert r.out == "2.5\n"  # ((1.5)^2 - 1) / 0.5
    r = run(["slope", "--h", "1e-3", "-q"])
    assert r.out.count("\n") == 1
    assert float(r.out) == pytest.approx(-3.999, rel=1e-15)


def test_slope_env_default_loss_and_stdin(run):
    r = run(["slope", "--h", "1", "-q"], env={"GDCLI_LOSS": "w**2"})
    assert (r.code, r.out) == (0, "3.0\n")  # (4 - 1) / 1
    r = run(["slope", "-", "--h", "1", "-q"], stdin="-w**2\n")
    assert (r.code, r.out) == (0, "-3.0\n")


def test_slope_csv_is_rectangular(run):
    r = run(["slope", "w**2", "--h", "0.5", "-f", "csv"])
    assert r.code == 0
    lines = r.out.splitlines()
    assert len(lines) == 2
    assert len(lines[0].split(",")) == len(lines[1].split(","))
    values = dict(zip(lines[0].split(","), lines[1].split(","), strict=True))
    assert float(values["slope"]) == 2.5


def test_slope_table_colour(run):
    r = run(["slope", "--h", "1e-3", "-f", "table"])
    assert r.code == 0 and "\x1b" not in r.out
    r = run(["slope", "--h", "1e-3", "-f", "table", "--color"])
    assert r.code == 0 and "\x1b[" in r.out


# ---------------------------------------------------------------------------
# plot


def test_user_line_plot_piped(run):
    r = run(["plot"])
    assert r.code == 0
    assert "\x1b" not in r.out and "\x1b" not in r.err
    assert len(r.out.splitlines()) >= 10  # a picture, not a table of numbers
    assert "(w - 3)**2" in r.out
    assert "\t" not in r.out


def test_plot_json_points_follow_the_loss(run):
    r = run(["plot", "-f", "json"])
    assert r.code == 0
    data = strict_json(r.out)
    assert data["at"] == 1.0 and data["loss"] == 4.0 and data["slope"] == -4.0
    assert data["differentiable"] is True
    lo, hi = data["range"]
    assert lo < 1.0 < hi
    points = data["points"]
    assert len(points) >= 20
    for p in points:
        assert p["loss"] == pytest.approx((p["w"] - 3) ** 2, rel=1e-12, abs=1e-12)
    assert points[0]["w"] == pytest.approx(lo) and points[-1]["w"] == pytest.approx(hi)


def test_plot_range_option(run):
    r = run(["plot", "--range", "-2:5", "-f", "json"])
    assert r.code == 0
    assert strict_json(r.out)["range"] == [-2.0, 5.0]
    for bad in ["5:-2", "1", "a:b", "1:1"]:
        r = run(["plot", "--range", bad])
        assert r.code == 2 and r.out == "", bad
        assert r.err.startswith("gdcli: error:")


def test_plot_vector_range_is_bad_input(run):
    r = run(["plot", "--range", "[1,2]:3"])
    assert r.code == 2 and r.out == ""


def test_plot_undefined_part_is_null_and_draws(run):
    r = run(["plot", "log(w)", "--range", "-1:3", "-f", "json"])
    assert r.code == 0
    data = strict_json(r.out)
    for p in data["points"]:
        if p["w"] <= 0:
            assert p["loss"] is None
        else:
            assert p["loss"] == pytest.approx(math.log(p["w"]), rel=1e-12, abs=1e-15)
    r = run(["plot", "log(w)", "--range", "0:4"])
    assert r.code == 0 and "\x1b" not in r.out
    assert len(r.out.splitlines()) >= 10


def test_plot_at_kink_and_colour(run):
    r = run(["plot", "max(0, 3*w+2)", "--at=-2/3", "-f", "json"])
    assert r.code == 0
    data = strict_json(r.out)
    assert data["slope"] is None and data["differentiable"] is False
    r = run(["plot", "max(0, 3*w+2)", "--at=-2/3", "-f", "table", "--color"])
    assert r.code == 0 and "\x1b[" in r.out
    r = run(["plot", "max(0, 3*w+2)", "--at", "pi/4"])
    assert r.code == 0 and "\x1b" not in r.out


def test_plot_env_and_stdin(run):
    r = run(["plot", "-f", "json"], env={"GDCLI_LOSS": "w**4"})
    assert r.code == 0
    data = strict_json(r.out)
    assert data["expression"] == "w**4" and data["slope"] == 4.0
    r = run(["plot", "-", "-f", "json", "--at", "2"], stdin="-w**2 + 1")
    assert r.code == 0
    assert strict_json(r.out)["slope"] == -4.0


def test_plot_undefined_point_is_numerical_error(run):
    r = run(["plot", "log(w)", "--at", "-1"])
    assert r.code == 3 and r.out == ""
    assert r.err.startswith("gdcli: error:")


@pytest.mark.slow
def test_user_lines_end_to_end():
    """The three user lines in a real process, with stdout a pipe."""
    r = run_process(["derive", "max(0, 3*w+2)", "--at=-2/3", "-f", "json"])
    assert r.code == 0
    data = strict_json(r.out)
    assert data["differentiable"] is False
    assert (data["left_slope"], data["right_slope"]) == (0.0, 3.0)
    r = run_process(["slope", "--h", "1e-3", "-q"])
    assert (r.code, r.out) == (0, "-3.999\n")
    r = run_process(["plot"])
    assert r.code == 0 and "\x1b" not in r.out and len(r.out.splitlines()) >= 10
