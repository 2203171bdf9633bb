"""`gdcli descend` end to end, against independent references.

Every expected value comes from a closed form or a hand-written loop in this file, never
from an earlier gdcli run. The torch.optim comparisons live in test_descend_torch.py.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from typing import Any

import pytest
from helpers import assert_one_error, json_output, run_process, strict_json
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

JSON_KEYS = {"expression", "variables", "optimizer", "lr", "start", "status", "steps", "final"}
RECORD_KEYS = {"step", "params", "loss", "grad"}


# --- helpers -------------------------------------------------------------------------------------


def descend(run: Callable[..., Any], *args: str, **kwargs: Any) -> Any:
    return run(["descend", *args], **kwargs)


def descend_json(run: Callable[..., Any], *args: str, code: int = 0) -> dict[str, Any]:
    return json_output(descend(run, *args, "--format", "json"), code)


def close(a: float, b: float, rel: float = 1e-12, abs_: float = 0.0) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def sgd_loop(
    f: Callable[[float], float],
    df: Callable[[float], float],
    w: float,
    lr: float,
    steps: int,
    tol: float = 1e-8,
    start_loss: float | None = None,
) -> tuple[list[tuple[float, float, float]], str]:
    """A hand-written plain gradient descent with the design's stopping rules.
    Returns [(w, loss, grad)] per step (None for an undefined value) and the status."""
    limit = 1e12 * max(1.0, abs(f(w)))
    rows = [(w, f(w), df(w))]
    for _ in range(steps):
        g = rows[-1][2]
        if abs(g) <= tol:
            return rows, "converged"
        w = w - lr * g
        try:
            loss, grad = f(w), df(w)
        except (ValueError, ZeroDivisionError):
            rows.append((w, math.nan, math.nan))
            return rows, "diverged"
        except OverflowError:
            rows.append((w, math.inf, math.inf))
            return rows, "diverged"
        rows.append((w, loss, grad))
        if not all(map(math.isfinite, (w, loss, grad))) or abs(loss) > limit:
            return rows, "diverged"
    return rows, "converged" if abs(rows[-1][2]) <= tol else "max_steps"


def assert_json_number(got: float | None, expected: float) -> None:
    """A JSON number against a reference: close when finite, null when not (design.md)."""
    if math.isfinite(expected):
        assert got is not None and close(got, expected), (got, expected)
    else:
        assert got is None, (got, expected)


# --- the default run, piped and on a (fake) terminal ---------------------------------------------


def test_piped_plain_text(run):
    r = descend(run, "--lr", "0.1", "--steps", "50")
    assert r.code == 0, r.err
    assert "\x1b" not in r.out and "\x1b" not in r.err
    lines = r.out.splitlines()
    assert lines[0] == "step\tw\tloss\tgrad_w\tupdate_w\tdirection"
    rows = [line.split("\t") for line in lines[1:]]
    assert len(rows) == 51
    for k, row in enumerate(rows):
        assert len(row) == 6
        assert int(row[0]) == k
        # default loss (w - 3)**2 from the default start w = 1: w_k = 3 - 2 * 0.8**k
        assert close(float(row[1]), 3 - 2 * 0.8**k)
        assert close(float(row[2]), 4 * 0.64**k, rel=1e-9)
        assert close(float(row[3]), -4 * 0.8**k, rel=1e-9)
        if k < 50:  # the next update: w_{k+1} - w_k = 0.4 * 0.8**k, up the way the slope says
            assert close(float(row[4]), 0.4 * 0.8**k, rel=1e-9)
            assert row[5] == "slope < 0, so w increases"
    assert rows[-1][4:] == ["", ""]


def test_piped_process_plain_text():
    r = run_process(["descend", "--lr", "0.1", "--steps", "50"])
    assert r.code == 0, r.err
    assert "\x1b" not in r.out
    lines = r.out.splitlines()
    assert lines[0] == "step\tw\tloss\tgrad_w\tupdate_w\tdirection"
    assert len(lines) == 52


def test_tty_table_and_plot(run):
    r = descend(run, "--lr", "0.1", "--steps", "50", tty=True)
    assert r.code == 0, r.err
    assert "┏" in r.out and "│" in r.out  # a Rich table
    assert "step\tw" not in r.out  # not the plain text
    assert "loss against step" in r.out  # the loss curve
    assert "the path on l(w)" in r.out  # the path on the loss
    assert "└" in r.out and "┤" in r.out  # plot axes


def test_tty_no_color_still_table(run):
    r = descend(run, "--steps", "5", tty=True, env={"NO_COLOR": "1"})
    assert r.code == 0, r.err
    assert "┏" in r.out and "loss against step" in r.out
    assert "\x1b" not in r.out


def test_tty_no_plot(run):
    r = descend(run, "--steps", "5", "--no-plot", tty=True)
    assert r.code == 0, r.err
    assert "┏" in r.out
    assert "loss against step" not in r.out


def test_tty_dumb_terminal_no_escapes(run):
    r = descend(run, "--steps", "5", tty=True, env={"TERM": "dumb"})
    assert r.code == 0, r.err
    assert "┏" in r.out
    assert "\x1b" not in r.out


def test_table_format_in_a_pipe_has_no_escapes(run):
    r = descend(run, "--steps", "5", "--format", "table")
    assert r.code == 0, r.err
    assert "┏" in r.out
    assert "\x1b" not in r.out


def test_color_forces_escapes(run):
    r = descend(run, "--steps", "5", "--format", "table", "--color")
    assert r.code == 0, r.err
    assert "\x1b[" in r.out


def test_tty_two_variables(run):
    r = descend(run, "x**2 + y**2", "--start", "x=1,y=-2", "--steps", "5", tty=True)
    assert r.code == 0, r.err
    assert "┏" in r.out and "loss against step" in r.out
    assert "the path on the level lines of the loss, in the (x, y) plane" in r.out
    assert "level lines" in r.out and "S" in r.out  # the start marked


@pytest.mark.parametrize(
    "args",
    [
        ["log(w)", "--lr", "0.3"],  # nan mid-run
        ["w**2", "--lr", "1e308", "--start", "10"],  # a weight becomes inf
        ["(x-1)**2 + y**2", "--start", "x=0,y=0", "--lr", "1.5", "--logy"],
    ],
)
def test_tty_diverged_run_still_draws(run, args):
    r = descend(run, *args, tty=True)
    assert r.code == 3, r.err
    assert "┏" in r.out and "loss against step" in r.out
    assert_one_error(r.err, "diverged at step")


# --- closed form -------------------------------------------------------------------------------


def test_closed_form_json(run):
    d = descend_json(run, "(w-3)**2", "--start", "0", "--lr", "0.1", "--steps", "50")
    assert JSON_KEYS <= set(d)
    assert d["variables"] == ["w"]
    assert d["optimizer"] == "sgd"
    assert d["lr"] == 0.1
    assert d["start"] == {"w": 0.0}
    assert d["status"] == "max_steps"
    assert len(d["steps"]) == 51
    for k, rec in enumerate(d["steps"]):
        assert RECORD_KEYS <= set(rec)
        assert rec["step"] == k
        w = rec["params"]["w"]
        expected = 3 - 3 * 0.8**k
        assert close(w, expected, rel=1e-12)
        # loss and slope of the closed form; (w - 3) loses digits to cancellation near 3
        assert close(rec["loss"], 9 * 0.64**k, rel=1e-9)
        assert close(rec["grad"]["w"], -6 * 0.8**k, rel=1e-9)
        assert close(rec["loss"], (w - 3) ** 2, rel=1e-12)
        assert close(rec["grad"]["w"], 2 * (w - 3), rel=1e-12)
    assert d["final"]["step"] == 50
    assert close(d["final"]["params"]["w"], 3 - 3 * 0.8**50)
    assert close(d["final"]["loss"], 9 * 0.64**50, rel=1e-9)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    lr=st.floats(0.01, 0.9),
    w0=st.floats(-50, 50, allow_subnormal=False),
    steps=st.integers(1, 40),
)
def test_closed_form_property(run, lr, w0, steps):
    """(w - 3)**2 under plain descent: w_k - 3 = (w0 - 3) * (1 - 2 lr)**k, and the run
    converges at the first k where |l'(w_k)| = 2 |w0 - 3| |1 - 2 lr|**k <= 1e-8."""
    r = 1 - 2 * lr
    grads = [2 * abs(w0 - 3) * abs(r) ** k for k in range(steps + 1)]
    # a gradient within rounding of the tolerance could stop either way: not a case to judge
    assume(all(not math.isclose(g, 1e-8, rel_tol=1e-6) for g in grads))
    k_star = next((k for k, g in enumerate(grads) if g <= 1e-8), None)
    d = descend_json(
        run, "(w - 3)**2", "--start", repr(w0), "--lr", repr(lr), "--steps", str(steps)
    )
    assert d["start"]["w"] == w0
    for rec in d["steps"]:
        k = rec["step"]
        expected = 3 + (w0 - 3) * r**k
        assert close(rec["params"]["w"], expected, rel=1e-12, abs_=1e-12 * max(3, abs(w0)))
    expected_status = "max_steps" if k_star is None else "converged"
    assert d["status"] == expected_status
    assert d["final"]["step"] == d["steps"][-1]["step"] == (steps if k_star is None else k_star)


# --- stopping rules ------------------------------------------------------------------------------


@pytest.mark.parametrize("tol", [1e-8, 1e-4, 0.5])
def test_converged_step_count(run, tol):
    args = ["(w-3)**2", "--start", "0", "--lr", "0.1", "--steps", "500"]
    if tol != 1e-8:
        args += ["--tol", repr(tol)]
    d = descend_json(run, *args)
    # |grad_k| = 6 * 0.8**k: the first k where it is <= tol, independently
    k_star = 0
    while 6 * 0.8**k_star > tol:
        k_star += 1
    assert d["status"] == "converged"
    assert d["final"]["step"] == k_star
    assert len(d["steps"]) == k_star + 1
    assert [rec["step"] for rec in d["steps"]] == list(range(k_star + 1))
    assert abs(d["steps"][-1]["grad"]["w"]) <= tol < abs(d["steps"][-2]["grad"]["w"])


def test_converged_uses_the_euclidean_norm(run):
    """x**2 + y**2 from (1, 1): each slope is 2 * 0.8**k, the norm sqrt(2) times that, so a
    max-norm or per-coordinate rule would stop one step early."""
    tol = 1e-3
    d = descend_json(run, "x**2 + y**2", "--start", "x=1,y=1", "--tol", repr(tol), "--steps", "500")
    k_star = 0
    while math.hypot(2 * 0.8**k_star, 2 * 0.8**k_star) > tol:
        k_star += 1
    k_component = 0
    while 2 * 0.8**k_component > tol:
        k_component += 1
    assert k_component < k_star  # the case tells the two rules apart
    assert d["status"] == "converged"
    assert d["final"]["step"] == k_star
    assert close(d["final"]["params"]["x"], 0.8**k_star)


def test_every_larger_than_steps(run):
    r = descend(run, "--steps", "5", "--every", "10", "--format", "csv")
    assert r.code == 0, r.err
    steps = [int(row[0]) for row in csv.reader(io.StringIO(r.out.split("\n", 1)[1]))]
    assert steps == [0, 5]


def test_tol_zero_exact_zero_gradient(run):
    d = descend_json(run, "w**2", "--lr", "0.5", "--tol", "0", "--steps", "10")
    assert d["status"] == "converged"
    assert len(d["steps"]) == 2
    assert d["steps"][1]["params"]["w"] == 0.0
    assert d["steps"][1]["grad"]["w"] == 0.0
    assert d["final"] == {"step": 1, "params": {"w": 0.0}, "loss": 0.0}


def test_tol_zero_does_not_stop_on_a_small_gradient(run):
    d = descend_json(run, "(w-3)**2", "--lr", "0.1", "--tol", "0", "--steps", "120")
    assert d["status"] == "max_steps"
    assert len(d["steps"]) == 121
    assert 0 < abs(d["steps"][-1]["grad"]["w"]) < 1e-8


def test_max_steps_51_records(run):
    d = descend_json(run, "--steps", "50")
    assert d["status"] == "max_steps"
    assert [rec["step"] for rec in d["steps"]] == list(range(51))
    assert d["steps"][0]["params"] == {"w": 1.0} == d["start"]
    assert d["final"]["step"] == 50


def test_converged_at_the_start(run):
    d = descend_json(run, "w**2", "--start", "0")
    assert d["status"] == "converged"
    assert len(d["steps"]) == 1
    assert d["final"] == {"step": 0, "params": {"w": 0.0}, "loss": 0.0}


def test_hinge_stops_where_the_gradient_is_zero(run):
    d = descend_json(run, "max(0, 3*w+2)", "--start", "1", "--lr", "0.1")
    # hand loop: slope 3 while 3w + 2 > 0, then 0
    w, k = 1.0, 0
    while 3 * w + 2 > 0:
        w, k = w - 0.1 * 3, k + 1
    assert d["status"] == "converged"
    assert d["final"]["step"] == k == 6
    assert abs(d["final"]["params"]["w"] - (-0.8)) <= 1e-12
    assert d["steps"][-1]["grad"]["w"] == 0.0
    assert d["final"]["loss"] == 0.0
    for rec in d["steps"][:-1]:
        assert rec["grad"]["w"] == 3.0


def test_hinge_at_the_kink_uses_the_documented_subgradient(run):
    # d/dw max(0, 3w + 2) = 3 * Heaviside(3w + 2), Heaviside(0) = 1/2
    d = descend_json(run, "max(0, 3*w+2)", "--start=-2/3", "--steps", "3")
    assert d["start"]["w"] == -2 / 3
    assert d["steps"][0]["grad"]["w"] == 1.5
    assert close(d["steps"][1]["params"]["w"], -2 / 3 - 0.15)
    assert d["status"] == "converged"


# --- divergence ------------------------------------------------------------------------------------


def _diverge_reference() -> tuple[int, list[tuple[float, float, float]]]:
    """(w-3)**2 from 1 with lr 1.5: w_k - 3 = -2 * (-2)**k (exact in floats); diverged at the
    first k whose loss exceeds 1e12 * max(1, loss at the start)."""
    rows = []
    k = 0
    while True:
        w = 3 - 2 * (-2) ** k
        rows.append((float(w), float((w - 3) ** 2), float(2 * (w - 3))))
        if (w - 3) ** 2 > 1e12 * 4:
            return k, rows
        k += 1


def test_diverged_json(run):
    k, rows = _diverge_reference()
    r = descend(run, "(w-3)**2", "--lr", "1.5", "--steps", "50", "--format", "json")
    assert r.code == 3
    assert_one_error(r.err, f"step {k}")
    d = strict_json(r.out)
    assert d["status"] == "diverged"
    assert len(d["steps"]) == k + 1
    for rec, (w, loss, grad) in zip(d["steps"], rows, strict=True):
        assert (rec["params"]["w"], rec["loss"], rec["grad"]["w"]) == (w, loss, grad)
    assert d["final"]["step"] == k


def test_diverged_csv(run):
    k, rows = _diverge_reference()
    r = descend(run, "(w-3)**2", "--lr", "1.5", "--steps", "50", "--format", "csv")
    assert r.code == 3
    assert_one_error(r.err, f"step {k}")
    table = list(csv.reader(io.StringIO(r.out)))
    assert table[0] == ["step", "w", "loss", "grad_w", "update_w", "direction"]
    assert len(table) == k + 2
    for i, (row, ref) in enumerate(zip(table[1:], rows, strict=True)):
        assert int(row[0]) == i
        assert tuple(float(v) for v in row[1:4]) == ref


def test_diverged_plain(run):
    k, rows = _diverge_reference()
    r = descend(run, "(w-3)**2", "--lr", "1.5", "--steps", "50")
    assert r.code == 3
    assert_one_error(r.err, f"step {k}")
    lines = r.out.splitlines()
    assert lines[0] == "step\tw\tloss\tgrad_w\tupdate_w\tdirection"
    assert len(lines) == k + 2
    assert tuple(float(v) for v in lines[-1].split("\t")[1:4]) == rows[-1]
    assert "\x1b" not in r.out


def test_diverged_quiet(run):
    k, rows = _diverge_reference()
    r = descend(run, "(w-3)**2", "--lr", "1.5", "--quiet")
    assert r.code == 3
    assert_one_error(r.err, f"step {k}")
    assert [float(v) for v in r.out.split()] == [rows[-1][0], rows[-1][1]]


@pytest.mark.slow
def test_diverged_process_no_warnings():
    r = run_process(["descend", "(w-3)**2", "--lr", "1.5", "--format", "json"])
    assert r.code == 3
    assert_one_error(r.err, "step 20")
    assert strict_json(r.out)["status"] == "diverged"


UNDEFINED = [
    # text, f, f', start, lr: the loss leaves its domain after a few good steps
    ("w**0.5", math.sqrt, lambda w: 0.5 / math.sqrt(w), 1.0, 0.5),  # complex: diverged
    ("log(w)", math.log, lambda w: 1 / w, 1.0, 0.3),
    ("sqrt(w)", math.sqrt, lambda w: 0.5 / math.sqrt(w), 1.0, 0.5),
    ("log(w)", math.log, lambda w: 1 / w, 1.0, 2.0),
]


@pytest.mark.parametrize(("text", "f", "df", "w0", "lr"), UNDEFINED)
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_loss_becomes_undefined(run, text, f, df, w0, lr, fmt):
    rows, status = sgd_loop(f, df, w0, lr, 50)
    assert status == "diverged" and math.isnan(rows[-1][1])
    k = len(rows) - 1
    r = descend(run, text, "--start", repr(w0), "--lr", repr(lr), "--format", fmt)
    assert r.code == 3
    assert_one_error(r.err, f"step {k}")
    if fmt == "json":
        d = strict_json(r.out)
        assert d["status"] == "diverged"
        assert len(d["steps"]) == k + 1
        for rec, (w, loss, grad) in zip(d["steps"][:-1], rows[:-1], strict=True):
            assert close(rec["params"]["w"], w) and close(rec["loss"], loss)
            assert close(rec["grad"]["w"], grad)
        assert close(d["steps"][-1]["params"]["w"], rows[-1][0])
        assert d["steps"][-1]["loss"] is None
        assert d["final"]["loss"] is None
    else:
        table = list(csv.reader(io.StringIO(r.out)))
        assert len(table) == k + 2
        assert len({len(row) for row in table}) == 1
        assert math.isnan(float(table[-1][2]))


OVERFLOW = [
    # text, start, lr, f, f'
    ("w**4", 1.0, 1e300, lambda w: w**4, lambda w: 4 * w**3),
    ("w**4", 2.0, 1.0, lambda w: w**4, lambda w: 4 * w**3),  # |loss| beyond 1e12 x start
    ("-exp(w)", 5.0, 1e3, lambda w: -math.exp(w), lambda w: -math.exp(w)),
    ("-exp(w)", 1.0, 1.0, lambda w: -math.exp(w), lambda w: -math.exp(w)),
    ("w**2", 10.0, 1e308, lambda w: w**2, lambda w: 2 * w),  # the weight itself -> -inf
    ("w**2", 0.5, 1.5, lambda w: w**2, lambda w: 2 * w),  # start loss < 1: limit 1e12
]


@pytest.mark.parametrize(("text", "w0", "lr", "f", "df"), OVERFLOW)
def test_overflow_diverges(run, text, w0, lr, f, df):
    rows, status = sgd_loop(f, df, w0, lr, 50)
    assert status == "diverged"
    k = len(rows) - 1
    r = descend(run, text, "--start", repr(w0), "--lr", repr(lr), "--format", "json")
    assert r.code == 3
    assert_one_error(r.err, f"step {k}")
    d = strict_json(r.out)
    assert d["status"] == "diverged"
    assert len(d["steps"]) == k + 1
    for rec, (w, loss, grad) in zip(d["steps"], rows, strict=True):
        assert_json_number(rec["params"]["w"], w)
        assert_json_number(rec["loss"], loss)
        assert_json_number(rec["grad"]["w"], grad)


def test_overflow_keeps_the_sign(run):
    # -exp(w) from 5 with lr 1e3: w_1 = 5 + 1e3 * exp(5) ~ 148418, loss = -exp(w_1) -> -inf
    r = descend(run, "-exp(w)", "--start", "5", "--lr", "1e3", "--format", "csv")
    assert r.code == 3
    last = list(csv.reader(io.StringIO(r.out)))[-1]
    assert float(last[2]) == -math.inf
    assert float(last[3]) == -math.inf


def test_undefined_start_json_is_absent(run):
    """No step could be computed, so there is no document to write: stdout stays empty."""
    r = descend(run, "log(w)", "--start=-1", "--format", "json")
    assert r.code == 3
    assert_one_error(r.err, "at the start")
    assert r.out == ""


@pytest.mark.parametrize("fmt", ["csv", "plain"])
def test_undefined_start_is_exit_3(run, fmt):
    r = descend(run, "log(w)", "--start=-1", "--format", fmt)
    assert r.code == 3
    assert_one_error(r.err)


# --- formats -------------------------------------------------------------------------------------


def test_csv_one_variable(run):
    r = descend(run, "(w-3)**2", "--steps", "10", "--format", "csv")
    assert r.code == 0, r.err
    table = list(csv.reader(io.StringIO(r.out)))
    assert table[0] == ["step", "w", "loss", "grad_w", "update_w", "direction"]
    assert len(table) == 12
    for k, row in enumerate(table[1:]):
        assert int(row[0]) == k
        assert close(float(row[1]), 3 - 2 * 0.8**k)


def _quadratic_2d_loop(x: float, y: float, lr: float, steps: int) -> list[tuple[float, ...]]:
    """x**2 + 3*y**2 + x*y by hand: (x, y, loss, gx, gy) per step."""
    out = []
    for _ in range(steps + 1):
        gx, gy = 2 * x + y, 6 * y + x
        out.append((x, y, x**2 + 3 * y**2 + x * y, gx, gy))
        x, y = x - lr * gx, y - lr * gy
    return out


def test_csv_two_variables_rectangular(run):
    r = descend(
        run, "x**2 + 3*y**2 + x*y", "--start", "x=1,y=-2", "--steps", "20", "--format", "csv"
    )
    assert r.code == 0, r.err
    table = list(csv.reader(io.StringIO(r.out)))
    assert table[0] == ["step", "x", "y", "loss", "grad_x", "grad_y", "update_x", "update_y"]
    assert len({len(row) for row in table}) == 1
    ref = _quadratic_2d_loop(1.0, -2.0, 0.1, 20)
    assert len(table) == len(ref) + 1
    for k, (row, expected) in enumerate(zip(table[1:], ref, strict=True)):
        for value, e in zip(row[1:6], expected, strict=True):
            assert close(float(value), e, rel=1e-12, abs_=1e-14)
        if k < 20:  # the next update of each weight: -lr * its partial
            assert close(float(row[6]), -0.1 * expected[3], rel=1e-9, abs_=1e-15)
            assert close(float(row[7]), -0.1 * expected[4], rel=1e-9, abs_=1e-15)


def test_plain_two_variables(run):
    r = descend(run, "x**2 + 3*y**2 + x*y", "--start", "x=1,y=-2", "--steps", "5")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0] == "step\tx\ty\tloss\tgrad_x\tgrad_y\tupdate_x\tupdate_y"
    assert len(lines) == 7
    assert all(len(line.split("\t")) == 8 for line in lines)


def test_json_two_variables(run):
    d = descend_json(run, "x**2 + 3*y**2 + x*y", "--start", "x=1,y=-2", "--steps", "20")
    assert d["variables"] == ["x", "y"]
    assert d["start"] == {"x": 1.0, "y": -2.0}
    ref = _quadratic_2d_loop(1.0, -2.0, 0.1, 20)
    for rec, (x, y, loss, gx, gy) in zip(d["steps"], ref, strict=True):
        assert close(rec["params"]["x"], x, abs_=1e-14)
        assert close(rec["params"]["y"], y, abs_=1e-14)
        assert close(rec["loss"], loss, abs_=1e-14)
        assert close(rec["grad"]["x"], gx, abs_=1e-14)
        assert close(rec["grad"]["y"], gy, abs_=1e-14)


def test_quiet_one_variable(run):
    r = descend(run, "--steps", "50", "--quiet")
    assert r.code == 0, r.err
    assert r.out.count("\n") == 1
    w, loss = (float(v) for v in r.out.split())
    assert close(w, 3 - 2 * 0.8**50)
    assert close(loss, 4 * 0.64**50, rel=1e-9)


def test_quiet_two_variables(run):
    r = descend(run, "x**2 + 3*y**2 + x*y", "--start", "x=1,y=-2", "--steps", "20", "-q")
    assert r.code == 0, r.err
    assert r.out.count("\n") == 1
    values = [float(v) for v in r.out.split()]
    x, y, loss, _, _ = _quadratic_2d_loop(1.0, -2.0, 0.1, 20)[-1]
    assert len(values) == 3
    assert close(values[0], x, abs_=1e-14) and close(values[1], y, abs_=1e-14)
    assert close(values[2], loss, abs_=1e-14)


@pytest.mark.parametrize("fmt", ["json", "csv", "plain"])
def test_every_samples_and_keeps_the_last(run, fmt):
    r = descend(run, "--steps", "55", "--every", "10", "--format", fmt)
    assert r.code == 0, r.err
    if fmt == "json":
        steps = [rec["step"] for rec in strict_json(r.out)["steps"]]
        ws = [rec["params"]["w"] for rec in strict_json(r.out)["steps"]]
    else:
        sep = "," if fmt == "csv" else "\t"
        rows = [line.split(sep) for line in r.out.splitlines()[1:]]
        steps = [int(row[0]) for row in rows]
        ws = [float(row[1]) for row in rows]
    assert steps == [0, 10, 20, 30, 40, 50, 55]
    for k, w in zip(steps, ws, strict=True):
        assert close(w, 3 - 2 * 0.8**k)


def test_every_on_a_diverged_run_keeps_the_last(run):
    k, rows = _diverge_reference()
    r = descend(run, "--lr", "1.5", "--every", "7", "--format", "json")
    assert r.code == 3
    d = strict_json(r.out)
    assert [rec["step"] for rec in d["steps"]] == [*range(0, k + 1, 7), k]
    assert d["steps"][-1]["params"]["w"] == rows[-1][0]
    assert d["final"]["step"] == k


def test_every_on_a_converged_run_keeps_the_last(run):
    d = descend_json(run, "max(0, 3*w+2)", "--start", "1", "--every", "4")
    assert [rec["step"] for rec in d["steps"]] == [0, 4, 6]
    assert d["status"] == "converged"


def test_show_state_momentum_buffer(run):
    d = descend_json(run, "--momentum", "0.9", "--show-state", "--steps", "10")
    # hand-written heavy ball on (w-3)**2 from 1: b_1 = g_0, b_k = 0.9 b_{k-1} + g_{k-1}
    w, buf = 1.0, None
    assert d["steps"][0]["state"] == {}  # no buffer before the first update
    for rec in d["steps"][1:]:
        g = 2 * (w - 3)
        buf = g if buf is None else 0.9 * buf + g
        w = w - 0.1 * buf
        assert close(rec["params"]["w"], w)
        assert close(rec["state"]["momentum_buffer"]["w"], buf)


def test_no_state_without_show_state(run):
    d = descend_json(run, "--momentum", "0.9", "--steps", "3")
    assert all("state" not in rec for rec in d["steps"])


# --- invalid input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--nesterov"],  # nesterov without momentum
        ["--nesterov", "--momentum", "0.9", "--dampening", "0.5"],
        ["--lr", "-0.1"],
        ["--lr=-0.1"],
        ["--lr", "nan"],
        ["--lr", "inf"],
        ["--steps", "0"],
        ["--steps", "-5"],
        ["--every", "0"],
        ["--tol", "-1"],
        ["--tol", "nan"],
        ["--optimizer", "sgdd"],
        ["--momentum", "0.9", "--optimizer", "adam"],
        ["--centered"],  # sgd takes no centered
        ["--amsgrad", "--optimizer", "rmsprop"],
        ["--beta1", "1", "--optimizer", "adam"],
        ["--lr-decay", "0.1", "--optimizer", "adamw"],
        ["--momentum", "-0.5"],
        ["--start", "x=1"],  # not a variable of the loss
        ["--format", "xml"],
        ["--lr", "abc"],
        ["w**"],  # unparsable
    ],
)
def test_invalid_input_exit_2(run, args):
    r = descend(run, *args)
    assert r.code == 2, (r.code, r.err)
    assert r.out == ""
    assert_one_error(r.err)
    other = [line for line in r.err.splitlines() if not line.startswith("gdcli: error:")]
    assert all(line.startswith("hint:") for line in other), r.err


# --- starts and expressions ----------------------------------------------------------------------


def test_start_named_values(run):
    d = descend_json(run, "(x-1)**2 + (y+2)**2", "--start", "x=3,y=-5", "--steps", "3")
    assert d["start"] == {"x": 3.0, "y": -5.0}
    # each coordinate: e_k = e_0 * 0.8**k
    for rec in d["steps"]:
        k = rec["step"]
        assert close(rec["params"]["x"], 1 + 2 * 0.8**k)
        assert close(rec["params"]["y"], -2 - 3 * 0.8**k)


def test_a_weight_without_a_value_is_named(run):
    """A name with no value is neither a weight nor an input: say how to give it one."""
    r = descend(run, "(x-1)**2 + (y+2)**2", "--start", "x=3", "--steps", "1")
    assert r.code == 2 and r.out == ""
    assert r.err.splitlines() == [
        "gdcli: error: y has no value: give it with --set y=… (an input) or --start y=… (a weight)"
    ]


def test_a_bare_start_belongs_to_one_weight_only(run):
    r = descend(run, "x**2 + 3*y**2 + x*y", "--start", "0.5", "--steps", "1")
    assert r.code == 2 and "x has no value" in r.err
    d = descend_json(run, "x**2 + 3*y**2 + x*y", "--start", "x=0.5,y=0.5", "--steps", "1")
    assert d["start"] == {"x": 0.5, "y": 0.5}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("pi/4", math.pi / 4),
        ("-1", -1.0),
        ("-2/3", -2 / 3),
        ("-pi/4", -math.pi / 4),
        ("1/3", 1 / 3),
        ("sqrt(2)", math.sqrt(2)),
    ],
)
def test_start_exact_values(run, text, value):
    d = descend_json(run, "(w-3)**2", "--start", text, "--steps", "2")
    assert d["start"]["w"] == value
    assert d["steps"][0]["params"]["w"] == value
    for rec in d["steps"]:
        assert close(rec["params"]["w"], 3 + (value - 3) * 0.8 ** rec["step"])


def test_start_equals_form_with_leading_minus(run):
    d = descend_json(run, "(w-3)**2", "--start=-1", "--steps", "2")
    assert d["start"] == {"w": -1.0}


def test_start_leading_minus_for_two_variables(run):
    d = descend_json(run, "x**2 + y**2", "--start", "x=-1,y=-1", "--steps", "1")
    assert d["start"] == {"x": -1.0, "y": -1.0}
    assert d["steps"][1]["params"] == {"x": -0.8, "y": -0.8}


def test_expression_with_leading_minus(run):
    d = descend_json(run, "-cos(w)", "--steps", "30")
    rows, status = sgd_loop(lambda w: -math.cos(w), math.sin, 1.0, 0.1, 30)
    assert d["status"] == status
    for rec, (w, loss, grad) in zip(d["steps"], rows, strict=True):
        assert close(rec["params"]["w"], w) and close(rec["loss"], loss)
        assert close(rec["grad"]["w"], grad)


def test_expression_from_stdin(run):
    r = descend(run, "-", "--steps", "5", "--format", "json", stdin="(w - 3)**2\n")
    assert r.code == 0, r.err
    d = strict_json(r.out)
    assert close(d["final"]["params"]["w"], 3 - 2 * 0.8**5)


def test_default_loss_from_environment(run):
    r = descend(run, "--steps", "3", "--format", "json", env={"GDCLI_LOSS": "w**2"})
    assert r.code == 0, r.err
    d = strict_json(r.out)
    assert close(d["final"]["params"]["w"], 0.8**3)


def test_hat_is_power(run):
    d = descend_json(run, "(w-3)^2", "--steps", "3")
    assert close(d["final"]["params"]["w"], 3 - 2 * 0.8**3)


def test_short_optimizer_option(run):
    r = descend(run, "-o", "adam", "--steps", "3", "--format", "json")
    assert r.code == 0, r.err
    assert strict_json(r.out)["optimizer"] == "adam"
