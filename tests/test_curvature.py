"""Curvature for several weights: the Hessian's eigenvalues, and what the quadratic
model says of lr — checked against the runs themselves and a closed form."""

from __future__ import annotations

import math

import pytest
from helpers import json_output

LOSS = "(x - 1)**2 + 10*(y + 2)**2"  # Hessian diag(2, 20)


def stability(run, *options):
    data = json_output(run(["descend", LOSS, "--start", "x=0,y=0", *options, "-f", "json"]))
    return data["stability"]


def test_the_eigenvalues_and_the_bounds(run):
    info = stability(run, "--lr", "0.04", "--steps", "20")
    assert info["eigenvalues"] == [2.0, 20.0] and info["condition"] == 10.0
    assert info["lr_max"] == pytest.approx(0.1) and info["lr_best"] == pytest.approx(2 / 22)
    kappa = 10.0
    assert info["momentum_best"]["momentum"] == pytest.approx(
        ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2
    )
    assert info["momentum_best"]["lr"] == pytest.approx((2 / (math.sqrt(2) + math.sqrt(20))) ** 2)
    assert info["start"]["at"] == {"x": 0.0, "y": 0.0} and info["where"] == "end"


def test_lr_max_is_where_the_runs_stop_converging(run):
    """Below 2/λmax = 0.1 the y-direction shrinks by |1 - 20 lr| < 1 each step; above it,
    it grows by 1.1 per step at lr = 0.105 until the run diverges."""
    ok = run(["descend", LOSS, "--start", "x=0,y=0", "--lr", "0.0999", "--steps", "20000",
              "-f", "json"])  # fmt: skip
    bad = run(["descend", LOSS, "--start", "x=0,y=0", "--lr", "0.105", "--steps", "5000", "-q"])
    assert json_output(ok)["status"] == "converged" and bad.code == 3


def test_lr_best_converges_fastest(run):
    def steps(lr: float) -> int:
        data = json_output(run(["descend", LOSS, "--start", "x=0,y=0", "--lr", repr(lr),
                                "--steps", "5000", "--tol", "1e-10", "-f", "json"]))  # fmt: skip
        assert data["status"] == "converged"
        return data["final"]["step"]

    best = 2 / 22
    assert steps(best) < steps(0.8 * best) and steps(best) < steps(0.99 * 0.1)


def test_matrix_weights_by_differences(run):
    data = json_output(run(["descend", "sum((W @ x - y)**2)", "--set", "x=[1,2]", "--set",
                            "y=[3,4]", "--start", "W=0", "--shape", "W=2x2", "--lr", "0.01",
                            "-f", "json"]))  # fmt: skip
    # l = sum((W x - y)^2): Hessian 2 (x x^T) for each row of W: eigenvalues 0, 0, 10, 10
    assert data["stability"]["eigenvalues"] == [0.0, 0.0, 10.0, 10.0]
    assert data["stability"]["condition"] is None and data["stability"]["lr_max"] == 0.2


def test_compare_states_the_curvature_at_the_start(run):
    r = run(["compare", LOSS, "--start", "x=0,y=0", "--run", "sgd lr=0.05", "-f", "json"])
    assert json_output(r)["stability"]["eigenvalues"] == [2.0, 20.0]
