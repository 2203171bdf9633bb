"""Words for runs that cannot start or end without a value (issue 13: every sentence
true): the reason named, the runs named."""

from __future__ import annotations

import math
import sys


def test_a_start_beyond_a_floats_range_is_said_so(run):
    """exp(720) = 4.9e312 exists; it is beyond a float, not 'not a real number'."""
    assert 720 > math.log(sys.float_info.max)  # e^720 = 4.9e312, beyond the largest float
    r = run(["descend", "exp(w)", "--at", "720", "--steps", "3"])
    assert r.code == 3
    assert "beyond a float's range" in r.err and "not a real number" not in r.err
    r = run(["descend", "log(w)", "--at", "-1", "--steps", "3"])
    assert r.code == 3
    assert "not a real number" in r.err


def test_compare_quiet_names_the_runs_without_a_final_loss(run):
    """log(w) from 1: lr 10 jumps to w = -9 at once (log undefined), lr 0.1 walks
    into w <= 0 within a few steps; lr 0.01 stays positive for 50 steps."""
    w = 1.0
    for _ in range(50):
        w -= 0.01 / w
    assert w > 0
    r = run(["compare", "log(w)", "--start", "1", "--run", "sgd lr=10", "--run", "sgd lr=0.1",
             "--run", "sgd lr=0.01", "-q"])  # fmt: skip
    assert r.code == 3
    assert r.out.split() == [repr(math.log(w))] or abs(float(r.out) - math.log(w)) < 1e-9
    assert "2 of the 3 runs end without a real final loss" in r.err
    assert "sgd lr=10 (diverged)" in r.err and "sgd lr=0.1 (diverged)" in r.err
    assert "lr=0.01" not in r.err


def test_an_exercise_key_says_how_it_is_graded(run):
    r = run(["exercise", "step", "--seed", "7", "--key", "-f", "plain"])
    assert r.code == 0
    answer = [line.split("\t")[1] for line in r.out.splitlines() if line.startswith("answer\t")][0]
    assert f"gdcli check {answer} ANSWER asks whether ANSWER equals that value" in r.err
    checked = run(["check", answer, answer, "-q"])
    assert (checked.code, checked.out) == (0, "correct\n")


def test_a_curvature_below_the_smallest_float_is_not_called_zero(run):
    """softplus'' = sigmoid(w) (1 - sigmoid(w)), about e^-800 = 3.6e-348 at 800: more
    than 0, less than a float holds."""
    import mpmath

    exact = mpmath.exp(-800) / (1 + mpmath.exp(-800)) ** 2
    assert 0 < exact < mpmath.mpf("4.9e-324")
    r = run(["descend", "softplus(w)", "--at", "800", "--steps", "2"])
    assert r.code == 0
    line = next(x for x in r.err.splitlines() if x.startswith("stability:"))
    assert "l''(w) = 0" not in line
    assert "0 in floating point" in line and "smallest float" in line


def test_a_long_matrix_run_in_a_table_keeps_memory_flat(run):
    """The pictures keep at most two entries per kept step: 600 steps of a 30x30 W
    take about the memory of 50 (keeping every entry would add some 12 MB)."""
    import tracemalloc

    def peak(steps: int) -> int:
        tracemalloc.start()
        r = run(["descend", "sum(W**2)/900", "--shape", "W=30x30", "--start", "W=1",
                 "--steps", str(steps), "--tol", "0", "--format", "table"])  # fmt: skip
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert r.code == 0, r.err
        return top

    peak(50)  # imports and caches first
    assert peak(600) - peak(50) < 4_000_000
