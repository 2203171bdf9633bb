"""`gdcli sweep`: many learning rates (and starts) at once.

References: a hand-written gradient descent loop with the design's stopping rules, closed
forms for the grid of learning rates, and (the issue's own acceptance) `gdcli descend` with
the same settings, run by run.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import error_lines, hand_descent, json_output, run_cli, strict_json

SWEEP_KEYS = {"expression", "optimizer", "steps", "runs"}
RUN_KEYS = {"lr", "start", "status", "final_loss", "params"}


def sweep_json(run: Callable[..., Any], *args: str) -> dict[str, Any]:
    data = json_output(run(["sweep", *args, "--format", "json"]))
    assert SWEEP_KEYS <= set(data)
    for record in data["runs"]:
        assert RUN_KEYS <= set(record), record.keys()
    return data


def descend_json(run: Callable[..., Any], *args: str) -> dict[str, Any]:
    """`gdcli descend` with the same settings; its exit code follows its status (3 when it
    diverged, else 0: design.md's exit codes)."""
    r = run(["descend", *args, "--format", "json"])
    data = strict_json(r.out)
    assert r.code == (3 if data["status"] == "diverged" else 0), (r.code, data["status"], r.err)
    return data


def quad(w: float) -> float:
    return (w - 3) ** 2


def dquad(w: float) -> float:
    return 2 * (w - 3)


# --- the stability edge of (w - 3)**2 at lr = 1 --------------------------------------------------

EDGE = ["(w-3)**2", "--lr", "0.05:1.95:39", "--start", "0", "--steps", "3000"]


@pytest.fixture(scope="module")
def edge_runs() -> list[dict[str, Any]]:
    r = run_cli(["sweep", *EDGE, "--format", "json"])
    assert r.code == 0, r.err
    data = strict_json(r.out)
    assert data["steps"] == 3000
    return data["runs"]


def test_edge_grid_is_exact(edge_runs):
    lrs = [r["lr"] for r in edge_runs]
    assert len(lrs) == 39
    assert lrs[0] == 0.05 and lrs[-1] == 1.95
    assert 1.0 in lrs and 0.3 in lrs and 0.5 in lrs
    assert lrs == pytest.approx([0.05 * (k + 1) for k in range(39)], rel=1e-15, abs=1e-15)


def test_stability_edge_at_lr_1(edge_runs):
    for r in edge_runs:
        if r["lr"] < 1:
            assert r["status"] == "converged", r
        elif r["lr"] == 1:
            # w jumps between 0 and 6 for ever: loss stays 9, the run uses every step
            assert (r["status"], r["steps_used"], r["oscillating"]) == ("max_steps", 3000, True)
            assert r["final_loss"] == 9.0
            assert r["params"] == {"w": 0.0}  # an even number of jumps from 0
        else:
            assert r["status"] == "diverged", r


def test_edge_runs_match_hand_loop(edge_runs):
    for r in edge_runs:
        status, used, w, loss = hand_descent(quad, dquad, 0.0, r["lr"], 3000)
        assert r["status"] == status, r
        assert r["steps_used"] == used, r
        assert r["start"] == {"w": 0.0}  # a point, as descend's `start`
        assert math.isclose(r["params"]["w"], w, rel_tol=1e-12, abs_tol=1e-300), r
        if status != "diverged":
            assert math.isclose(r["final_loss"], loss, rel_tol=1e-9, abs_tol=1e-20), r


def test_run_at_lr_0_3_equals_descend(run, edge_runs):
    (swept,) = [r for r in edge_runs if r["lr"] == 0.3]
    d = descend_json(run, "(w-3)**2", "--lr", "0.3", "--start", "0", "--steps", "3000")
    assert swept["status"] == d["status"] == "converged"
    assert swept["params"] == d["final"]["params"]
    assert swept["final_loss"] == d["final"]["loss"]
    assert swept["steps_used"] == d["final"]["step"]
    assert len(d["steps"]) == d["final"]["step"] + 1


def test_quiet_prints_best_lr(run):
    """lr = 0.5 lands on w = 3 in one step (the gradient is then exactly 0): the fewest steps."""
    r = run(["sweep", *EDGE, "--quiet"])
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert len(lines) == 1
    assert float(lines[0]) == 0.5


# --- every run equals descend with the same settings ---------------------------------------------

SAME = [
    ("quartic", "w**4 - 3*w**2 + w", "0.001,0.01,0.05,0.2", "-2", "300", []),
    (
        "quartic-momentum",
        "w**4 - 3*w**2 + w",
        "0.001,0.01,0.05",
        "1.5",
        "300",
        ["--momentum", "0.9"],
    ),
    (
        "quartic-nesterov",
        "w**4 - 3*w**2 + w",
        "0.005,0.02",
        "0.5",
        "200",
        ["--momentum", "0.8", "--nesterov"],
    ),
    ("quartic-adam", "w**4 - 3*w**2 + w", "0.01,0.1,0.5", "-2", "300", ["--optimizer", "adam"]),
    ("quad-adam", "(w-3)**2", "0.01,0.3,1", "0", "200", ["--optimizer", "adam", "--beta1", "0.8"]),
    ("quad-momentum-diverges", "(w-3)**2", "0.1,0.5,1.2", "0", "200", ["--momentum", "0.9"]),
    (
        "softplus-rmsprop",
        "softplus(w) + 0.1*w**2",
        "0.01,0.1",
        "2",
        "100",
        ["--optimizer", "rmsprop"],
    ),
    ("cosh-adagrad", "cosh(w - 1)", "0.1,1", "-1", "100", ["--optimizer", "adagrad"]),
    ("kink", "max(0, 3*w+2) + 0.5*w**2", "0.1,0.4", "1", "200", []),
    ("log-diverges", "log(w) - w", "0.5,3", "2", "50", []),
    ("two-weights", "(x-1)**2 + 10*(y+2)**2", "0.01,0.04,0.1", "x=0,y=0", "300", []),
    (
        "two-weights-adam",
        "(x-1)**2 + 10*(y+2)**2",
        "0.05,0.3",
        "x=0.5,y=-1",
        "200",
        ["--optimizer", "adam"],
    ),
]


@pytest.mark.parametrize(
    ("expr", "lrs", "start", "steps", "flags"), [c[1:] for c in SAME], ids=[c[0] for c in SAME]
)
def test_each_run_equals_descend(run, expr, lrs, start, steps, flags):
    data = sweep_json(run, expr, "--lr", lrs, "--start", start, "--steps", steps, *flags)
    lr_values = [float(v) for v in lrs.split(",")]
    assert [r["lr"] for r in data["runs"]] == lr_values
    for record, lr in zip(data["runs"], lr_values, strict=True):
        d = descend_json(run, expr, "--lr", repr(lr), "--start", start, "--steps", steps, *flags)
        assert record["status"] == d["status"], (lr, record, d["final"])
        assert record["steps_used"] == d["final"]["step"], lr
        assert record["params"].keys() == d["final"]["params"].keys()
        for name, value in d["final"]["params"].items():
            assert math.isclose(record["params"][name], value, rel_tol=1e-12, abs_tol=1e-300), (
                lr,
                name,
            )
        if d["final"]["loss"] is None:
            assert record["final_loss"] is None
        else:
            assert math.isclose(
                record["final_loss"], d["final"]["loss"], rel_tol=1e-12, abs_tol=1e-300
            )


def test_list_of_starts(run):
    data = sweep_json(run, "(w-3)**2", "--lr", "0.1,0.6", "--start", "-2:2:5", "--steps", "400")
    runs = data["runs"]
    assert len(runs) == 10
    pairs = {(_start(r), r["lr"]) for r in runs}
    assert pairs == {(s, lr) for s in (-2.0, -1.0, 0.0, 1.0, 2.0) for lr in (0.1, 0.6)}
    for r in runs:
        status, used, w, _ = hand_descent(quad, dquad, _start(r), r["lr"], 400)
        assert r["status"] == status
        assert r["steps_used"] == used
        assert math.isclose(r["params"]["w"], w, rel_tol=1e-12)


@pytest.mark.parametrize("start", ["-1.5", "0.25", "2"])
def test_list_of_starts_equals_descend(run, start):
    data = sweep_json(
        run, "w**4 - 3*w**2 + w", "--lr", "0.02", "--start", "-1.5,0.25,2", "--steps", "200"
    )
    (record,) = [r for r in data["runs"] if _start(r) == float(start)]
    d = descend_json(run, "w**4 - 3*w**2 + w", "--lr", "0.02", "--start", start, "--steps", "200")
    assert record["status"] == d["status"]
    assert record["steps_used"] == d["final"]["step"]
    assert math.isclose(record["params"]["w"], d["final"]["params"]["w"], rel_tol=1e-12)


def _start(record: dict[str, Any]) -> float:
    """A run's start: a point {name: value}, as descend's `start`."""
    (value,) = record["start"].values()
    return float(value)


# --- the grid: A:B:N, --log, lists -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("0.1:0.5:5", [0.1, 0.2, 0.3, 0.4, 0.5]),
        ("0.05:1.95:39", [round(0.05 * (k + 1), 2) for k in range(39)]),
        ("1:2:3", [1.0, 1.5, 2.0]),
        ("0.7:0.7:1", [0.7]),
        ("0.01,0.1,1", [0.01, 0.1, 1.0]),
        ("1e-3,2/5", [0.001, 0.4]),
    ],
)
def test_grid_values_exact(run, spec, expected):
    data = sweep_json(run, "(w-3)**2", "--lr", spec, "--start", "0", "--steps", "2")
    assert [r["lr"] for r in data["runs"]] == expected


@pytest.mark.parametrize(("a", "b", "n"), [(1e-3, 1.0, 20), (1e-4, 0.5, 7), (0.01, 10.0, 4)])
def test_log_grid(run, a, b, n):
    data = sweep_json(
        run, "(w-3)**2", "--lr", f"{a}:{b}:{n}", "--log", "--start", "0", "--steps", "2"
    )
    lrs = [r["lr"] for r in data["runs"]]
    assert lrs[0] == a and lrs[-1] == b
    assert lrs == pytest.approx(list(np.geomspace(a, b, n)), rel=1e-12)


def test_csv_is_rectangular_and_matches_json_runs(run):
    r = run(
        [
            "sweep",
            "w**4 - 3*w**2 + w",
            "--lr",
            "1e-3:1:6",
            "--log",
            "--start",
            "-2:2:3",
            "--steps",
            "60",
            "--format",
            "csv",
        ]
    )
    assert r.code == 0, r.err
    rows = list(csv.reader(io.StringIO(r.out)))
    header = rows[0]
    assert {"lr", "start", "status", "final_loss"} <= set(header)
    assert all(len(row) == len(header) for row in rows)
    assert len(rows) == 1 + 18
    col = {name: header.index(name) for name in header}
    f = lambda w: w**4 - 3 * w**2 + w  # noqa: E731
    df = lambda w: 4 * w**3 - 6 * w + 1  # noqa: E731
    for row in rows[1:]:
        lr, start = float(row[col["lr"]]), float(row[col["start"]])
        status, *_ = hand_descent(f, df, start, lr, 60)
        assert row[col["status"]] == status, row


def test_diverged_nan_loss_is_null_in_json(run):
    """log(w) from 1 with lr 3 jumps to w = -2 where the loss is undefined: null, not NaN."""
    data = sweep_json(run, "log(w)", "--lr", "3,0.1", "--start", "1", "--steps", "5")
    bad = data["runs"][0]
    assert bad["status"] == "diverged"
    assert bad["final_loss"] is None
    assert bad["params"]["w"] == -2.0


def test_plain_and_table_no_escapes_in_pipe(run):
    for fmt in ("plain", "table", "auto"):
        r = run(
            [
                "sweep",
                "(w-3)**2",
                "--lr",
                "0.1,1.5",
                "--start",
                "0",
                "--steps",
                "50",
                "--format",
                fmt,
            ]
        )
        assert r.code == 0, r.err
        assert "\x1b" not in r.out + r.err


# --- matrix weights ------------------------------------------------------------------------------


def test_matrix_weight_csv_equals_descend(run):
    args = [
        "sum((W @ x - y)**2)",
        "--set",
        "x=[1,2]",
        "--set",
        "y=[1,-1]",
        "--start",
        "W=0",
        "--shape",
        "W=2x2",
        "--steps",
        "100",
    ]
    r = run(["sweep", *args, "--lr", "0.05,0.1", "--format", "csv"])
    assert r.code == 0, r.err
    rows = list(csv.reader(io.StringIO(r.out)))
    header = rows[0]
    assert all(len(row) == len(header) for row in rows)
    entries = [f"W[{i},{j}]" for i in (1, 2) for j in (1, 2)]
    # design.md: matrix entries flattened and named in the header
    assert header[-4:] == entries
    assert len(rows) == 3
    for row in rows[1:]:
        record = dict(zip(header, row, strict=True))
        d = descend_json(run, *args, "--lr", record["lr"])
        assert record["status"] == d["status"]
        W = np.array(d["final"]["params"]["W"])
        assert np.allclose([float(record[e]) for e in entries], W.ravel(), rtol=1e-12)


def test_matrix_weight_json(run):
    r = run(["sweep", "sum((W @ x - y)**2)", "--set", "x=[1,2,3]", "--set", "y=[1,0]",
             "--start", "W=0", "--shape", "W=2x3", "--lr", "0.02", "--steps", "100",
             "--format", "json"])  # fmt: skip
    assert r.code == 0, r.err
    data = strict_json(r.out)
    (record,) = data["runs"]
    assert np.asarray(record["params"]["W"]).shape == (2, 3)
    W = np.zeros((2, 3))
    x, y = np.array([1.0, 2, 3]), np.array([1.0, 0])
    for _ in range(record["steps_used"]):
        W = W - 0.02 * 2 * np.outer(W @ x - y, x)
    assert np.allclose(record["params"]["W"], W, rtol=1e-12, atol=1e-15)


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--lr", "1:2"],
        ["--lr", "0.1:1:0"],
        ["--lr", "0.1:1:x"],
        ["--lr", "-1:1:3", "--log"],
        ["--lr", "abc"],
        ["--lr", "0.1", "--steps", "0"],
        ["--lr", "0.1", "--optimizer", "nope"],
        ["--lr", "0.1", "--format", "xml"],
    ],
)
def test_bad_input_is_exit_2(run, args):
    r = run(["sweep", "(w-3)**2", "--start", "0", *args])
    assert r.code == 2, (r.code, r.out, r.err)
    assert len(error_lines(r.err)) == 1
    assert "Traceback" not in r.err


def test_list_of_starts_needs_one_weight(run):
    r = run(["sweep", "(x-1)**2 + y**2", "--lr", "0.1", "--start", "-1,1"])
    assert r.code == 2, (r.code, r.err)
    assert len(error_lines(r.err)) == 1
